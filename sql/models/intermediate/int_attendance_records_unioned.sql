-- One row per student x class meeting in either LMS: Canvas Roll Call statuses (one per student,
-- section and class date) and Brightspace attendance marks (one per student and session).
with rollcall as (
    select * from {{ ref('stg_canvas__rollcall_attendance') }}
),

canvas_sections as (
    select * from {{ canvas_staging('sections') }}
),

canvas_courses as (
    select * from {{ canvas_staging('courses') }}
),

canvas_users as (
    select * from {{ canvas_staging('users') }}
),

user_sessions as (
    select * from {{ ref('stg_brightspace__attendance_user_sessions') }}
),

sessions as (
    select * from {{ ref('stg_brightspace__attendance_sessions') }}
),

registers as (
    select * from {{ ref('stg_brightspace__attendance_registers') }}
),

schemes as (
    select * from {{ ref('stg_brightspace__attendance_schemes') }}
),

brightspace_courses as (
    select * from {{ ref('stg_brightspace__courses') }}
),

brightspace_users as (
    select * from {{ ref('stg_brightspace__users') }}
),

canvas as (
    select
        'canvas' as lms,
        rollcall.course_id,
        coalesce(rollcall.sis_course_id, canvas_courses.sis_course_id) as sis_course_id,
        rollcall.section_id,
        coalesce(rollcall.sis_section_id, canvas_sections.sis_section_id) as sis_section_id,
        rollcall.student_id,
        coalesce(rollcall.sis_student_id, canvas_users.sis_user_id) as sis_student_id,
        cast(null as bigint) as register_id,
        cast(null as bigint) as session_id,
        rollcall.class_date,
        rollcall.attendance_status,
        rollcall.attendance_code,
        -- Roll Call's grade credits a late arrival with its default tardy weight, 0.8
        case rollcall.attendance_status
            when 'present' then 100.0
            when 'late' then 80.0
            when 'absent' then 0.0
        end as credit_percent,
        rollcall.marked_at
    from rollcall
    left join canvas_sections
        on rollcall.section_id = canvas_sections.section_id
    left join canvas_courses
        on rollcall.course_id = canvas_courses.course_id
    left join canvas_users
        on rollcall.student_id = canvas_users.user_id
),

-- a session without a date in its name is dated by the first mark taken for it
session_marks as (
    select
        session_id,
        min({{ utc_date('marked_at') }}) as first_marked_date
    from user_sessions
    group by session_id
),

brightspace as (
    select
        'brightspace' as lms,
        registers.course_id,
        brightspace_courses.course_code as sis_course_id,
        cast(null as bigint) as section_id,
        cast(null as text) as sis_section_id,
        user_sessions.student_id,
        brightspace_users.org_defined_id as sis_student_id,
        sessions.register_id,
        user_sessions.session_id,
        coalesce(sessions.named_session_date, session_marks.first_marked_date) as class_date,
        coalesce(schemes.attendance_status, 'other') as attendance_status,
        schemes.symbol_code as attendance_code,
        schemes.credit_percent,
        user_sessions.marked_at
    from user_sessions
    inner join sessions
        on user_sessions.session_id = sessions.session_id
    inner join registers
        on sessions.register_id = registers.register_id
    left join schemes
        on registers.scheme_id = schemes.scheme_id
        and user_sessions.symbol_id = schemes.symbol_id
    left join session_marks
        on user_sessions.session_id = session_marks.session_id
    left join brightspace_courses
        on registers.course_id = brightspace_courses.course_id
    left join brightspace_users
        on user_sessions.student_id = brightspace_users.user_id
),

unioned as (
    select * from canvas
    union all
    select * from brightspace
),

keyed as (
    select
        {{ text_key('lms', 'course_id', 'section_id', 'student_id', 'session_id', 'class_date') }}
            as attendance_record_key,
        {{ text_key('lms', 'course_id', 'student_id') }} as enrollment_key,
        {{ text_key('lms', 'course_id') }} as course_key,
        {{ text_key('lms', 'course_id', 'section_id') }} as course_section_key,
        unioned.*,
        {{ week_start('class_date') }} as week_start_date,
        case when attendance_status = 'present' then 1 else 0 end as present_count,
        case when attendance_status = 'late' then 1 else 0 end as late_count,
        case when attendance_status = 'absent' then 1 else 0 end as absent_count,
        case when attendance_status = 'excused' then 1 else 0 end as excused_count,
        case when attendance_status = 'other' then 1 else 0 end as other_count
    from unioned
)

select * from keyed
