-- Canvas Data 2 grading_periods with their group (grading_period_groups), shaped as
-- stg_canvas__grading_periods. CD2 stores no is_closed: a period is closed once its close date passed.
with periods as (
    select * from {{ lms_source('canvas_data2', 'grading_periods', {
        'id': 'bigint',
        'grading_period_group_id': 'bigint',
        'title': 'text',
        'weight': 'decimal(28, 8)',
        'start_date': 'timestamptz',
        'end_date': 'timestamptz',
        'close_date': 'timestamptz',
        'workflow_state': 'text',
    }) }} as grading_periods
    where coalesce(workflow_state, 'active') <> 'deleted'
),

groups as (
    select * from {{ lms_source('canvas_data2', 'grading_period_groups', {
        'id': 'bigint',
        'title': 'text',
        'weighted': 'boolean',
    }) }} as grading_period_groups
),

renamed as (
    select
        periods.id as grading_period_id,
        periods.grading_period_group_id as grading_period_set_id,
        periods.title as grading_period_title,
        groups.title as grading_period_set_title,
        coalesce(groups.weighted, false) as is_weighted_set,
        periods.weight as grading_period_weight,
        periods.start_date as period_start_at,
        periods.end_date as period_end_at,
        periods.close_date as period_close_at,
        coalesce(periods.close_date < current_timestamp, false) as is_closed
    from periods
    left join groups
        on periods.grading_period_group_id = groups.id
)

select * from renamed
