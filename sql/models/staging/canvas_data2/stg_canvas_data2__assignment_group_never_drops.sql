-- One row per assignment a Canvas Data 2 group's rules never drop (as stg_canvas__assignment_group_never_drops).
with assignment_groups as (
    select * from {{ ref('stg_canvas_data2__assignment_groups') }}
),

unnested as (
    select
        assignment_group_id,
        course_id,
        {{ json_bigint_array_elements('never_drop_json') }} as assignment_id
    from assignment_groups
    where never_drop_json is not null
      and never_drop_json not in ('', '[]', 'null')
),

deduplicated as (
    select distinct
        assignment_group_id,
        course_id,
        assignment_id
    from unnested
)

select * from deduplicated
