-- One row per assignment a group's rules never drop (`rules.never_drop`, a JSON array of ids).
with assignment_groups as (
    select * from {{ ref('stg_canvas__assignment_groups') }}
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
