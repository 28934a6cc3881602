-- One row per grading period, with its set's `weighted` flag and weight (Grading Periods API).
with periods as (
    select * from {{ lms_source('canvas', 'grading_periods', {
        'id': 'bigint',
        'grading_period_set_id': 'bigint',
        'title': 'text',
        'weight': 'decimal(28, 8)',
        'start_date': 'timestamptz',
        'end_date': 'timestamptz',
        'close_date': 'timestamptz',
        'is_closed': 'boolean',
    }) }} as grading_periods
),

sets as (
    select * from {{ lms_source('canvas', 'grading_period_sets', {
        'id': 'bigint',
        'title': 'text',
        'weighted': 'boolean',
    }) }} as grading_period_sets
),

renamed as (
    select
        periods.id as grading_period_id,
        periods.grading_period_set_id,
        periods.title as grading_period_title,
        sets.title as grading_period_set_title,
        coalesce(sets.weighted, false) as is_weighted_set,
        periods.weight as grading_period_weight,
        periods.start_date as period_start_at,
        periods.end_date as period_end_at,
        periods.close_date as period_close_at,
        coalesce(periods.is_closed, false) as is_closed
    from periods
    left join sets
        on periods.grading_period_set_id = sets.id
)

select * from renamed
