-- The root account's custom grade statuses (labels on submissions).
with source as (
    select * from {{ lms_source('canvas', 'custom_grade_statuses', {
        'id': 'bigint',
        'name': 'text',
        'color': 'text',
    }) }} as custom_grade_statuses
)

select
    id as custom_grade_status_id,
    name as custom_grade_status_name,
    color as custom_grade_status_color
from source
