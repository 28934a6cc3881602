-- One row per person x course x role in either LMS (a Canvas user in two sections is one row).
with canvas_enrollments as (
    select * from {{ canvas_staging('enrollments') }}
),

canvas_users as (
    select * from {{ canvas_staging('users') }}
),

canvas_courses as (
    select * from {{ canvas_staging('courses') }}
),

brightspace_enrollments as (
    select * from {{ ref('stg_brightspace__enrollments') }}
),

brightspace_users as (
    select * from {{ ref('stg_brightspace__users') }}
),

brightspace_courses as (
    select * from {{ ref('stg_brightspace__courses') }}
),

canvas_ranked as (
    select
        canvas_enrollments.*,
        -- the state that describes the person best when they hold several enrollments
        case enrollment_state
            when 'active' then 1
            when 'invited' then 2
            when 'creation_pending' then 3
            when 'inactive' then 4
            when 'completed' then 5
            when 'rejected' then 6
            when 'deleted' then 7
            else 8
        end as state_rank
    from canvas_enrollments
),

canvas_best_state as (
    select
        course_id,
        user_id,
        role,
        enrollment_state,
        row_number() over (
            partition by course_id, user_id, role
            order by state_rank, enrollment_id
        ) as state_order
    from canvas_ranked
),

canvas_grouped as (
    select
        course_id,
        user_id,
        role,
        count(*) as enrollment_count,
        min(section_id) as section_id,
        min(sis_section_id) as sis_section_id,
        max(sis_user_id) as sis_user_id,
        max(sis_course_id) as sis_course_id,
        -- Canvas's concluded rule: every enrollment of the student in the course is completed
        bool_and(enrollment_state = 'completed') as is_concluded,
        min(enrolled_at) as enrolled_at,
        max(last_activity_at) as last_activity_at,
        max(total_activity_seconds) as total_activity_seconds,
        max(reported_current_score) as reported_current_score,
        max(reported_final_score) as reported_final_score,
        max(reported_unposted_current_score) as reported_unposted_current_score,
        max(reported_unposted_final_score) as reported_unposted_final_score
    from canvas_ranked
    group by course_id, user_id, role
),

canvas as (
    select
        'canvas' as lms,
        canvas_grouped.course_id,
        coalesce(canvas_grouped.sis_course_id, canvas_courses.sis_course_id) as sis_course_id,
        canvas_grouped.user_id as person_id,
        coalesce(canvas_grouped.sis_user_id, canvas_users.sis_user_id) as sis_user_id,
        canvas_users.user_name,
        canvas_grouped.role,
        canvas_best_state.enrollment_state,
        canvas_best_state.enrollment_state = 'active' as is_active,
        canvas_grouped.is_concluded,
        canvas_grouped.enrollment_count,
        canvas_grouped.section_id,
        canvas_grouped.sis_section_id,
        canvas_grouped.enrolled_at,
        canvas_grouped.last_activity_at,
        canvas_grouped.total_activity_seconds,
        canvas_grouped.reported_current_score,
        canvas_grouped.reported_final_score,
        canvas_grouped.reported_unposted_current_score,
        canvas_grouped.reported_unposted_final_score
    from canvas_grouped
    inner join canvas_best_state
        on canvas_grouped.course_id = canvas_best_state.course_id
        and canvas_grouped.user_id = canvas_best_state.user_id
        and canvas_grouped.role = canvas_best_state.role
        and canvas_best_state.state_order = 1
    left join canvas_users
        on canvas_grouped.user_id = canvas_users.user_id
    left join canvas_courses
        on canvas_grouped.course_id = canvas_courses.course_id
),

brightspace_grouped as (
    select
        course_id,
        user_id,
        role,
        count(*) as enrollment_count,
        max(org_defined_id) as org_defined_id
    from brightspace_enrollments
    group by course_id, user_id, role
),

brightspace as (
    select
        'brightspace' as lms,
        brightspace_grouped.course_id,
        brightspace_courses.course_code as sis_course_id,
        brightspace_grouped.user_id as person_id,
        coalesce(brightspace_grouped.org_defined_id, brightspace_users.org_defined_id) as sis_user_id,
        brightspace_users.user_name,
        brightspace_grouped.role,
        -- Brightspace lists current enrollments only
        'active' as enrollment_state,
        true as is_active,
        false as is_concluded,
        brightspace_grouped.enrollment_count,
        cast(null as bigint) as section_id,
        cast(null as text) as sis_section_id,
        cast(null as timestamptz) as enrolled_at,
        cast(null as timestamptz) as last_activity_at,
        cast(null as float8) as total_activity_seconds,
        cast(null as float8) as reported_current_score,
        cast(null as float8) as reported_final_score,
        cast(null as float8) as reported_unposted_current_score,
        cast(null as float8) as reported_unposted_final_score
    from brightspace_grouped
    left join brightspace_users
        on brightspace_grouped.user_id = brightspace_users.user_id
    left join brightspace_courses
        on brightspace_grouped.course_id = brightspace_courses.course_id
),

unioned as (
    select * from canvas
    union all
    select * from brightspace
),

keyed as (
    select
        {{ text_key('lms', 'course_id', 'person_id', 'role') }} as enrollment_role_key,
        {{ text_key('lms', 'course_id', 'person_id') }} as enrollment_key,
        {{ text_key('lms', 'course_id') }} as course_key,
        *
    from unioned
)

select * from keyed
