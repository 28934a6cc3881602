-- The SIS roster rows of both LMS datasets, one per SIS course x SIS user (the audit's key):
-- where the roster lists a pair twice, the row that is not deleted wins.
with canvas as (
    select * from {{ ref('stg_canvas__sis_roster') }}
),

brightspace as (
    select * from {{ ref('stg_brightspace__sis_roster') }}
),

unioned as (
    select * from canvas
    union all
    select * from brightspace
),

ranked as (
    select
        unioned.*,
        row_number() over (
            partition by lms, sis_course_id, sis_user_id
            order by
                case roster_status when 'active' then 1 when 'completed' then 2 when 'inactive' then 3 else 4 end,
                source_file,
                source_line
        ) as roster_order,
        count(*) over (partition by lms, sis_course_id, sis_user_id) as roster_row_count
    from unioned
    where sis_course_id is not null
      and sis_user_id is not null
),

deduplicated as (
    select
        lms,
        sis_course_id,
        sis_user_id,
        roster_role,
        sis_section_id,
        roster_status,
        roster_row_count,
        source_file,
        source_line
    from ranked
    where roster_order = 1
)

select * from deduplicated
