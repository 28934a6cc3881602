-- Canvas Data 2 custom grade statuses (as stg_canvas__custom_grade_statuses).
with source as (
    select * from {{ lms_source('canvas_data2', 'custom_grade_statuses', {
        'id': 'bigint',
        'name': 'text',
        'color': 'text',
        'workflow_state': 'text',
    }) }} as custom_grade_statuses
)

select
    id as custom_grade_status_id,
    name as custom_grade_status_name,
    color as custom_grade_status_color
from source
where coalesce(workflow_state, 'active') <> 'deleted'
