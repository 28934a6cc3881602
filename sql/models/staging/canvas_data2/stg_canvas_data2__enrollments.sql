-- Canvas Data 2 enrollments with the course score (scores table) and SIS ids, shaped as
-- stg_canvas__enrollments. A deleted enrollment stays (workflow_state 'deleted'), as REST lists it.
with source as (
    select * from {{ lms_source('canvas_data2', 'enrollments', {
        'id': 'bigint',
        'course_id': 'bigint',
        'user_id': 'bigint',
        'course_section_id': 'bigint',
        'type': 'text',
        'workflow_state': 'text',
        'last_activity_at': 'timestamptz',
        'last_attended_at': 'timestamptz',
        'total_activity_time': 'float8',
        'created_at': 'timestamptz',
        'updated_at': 'timestamptz',
    }) }} as enrollments
),

scores as (
    select * from {{ lms_source('canvas_data2', 'scores', {
        'enrollment_id': 'bigint',
        'course_score': 'boolean',
        'grading_period_id': 'bigint',
        'workflow_state': 'text',
        'current_score': 'float8',
        'final_score': 'float8',
        'unposted_current_score': 'float8',
        'unposted_final_score': 'float8',
        'current_points': 'float8',
        'unposted_current_points': 'float8',
        'override_score': 'float8',
    }) }} as scores
    -- the course score (not a group's or a grading period's) of a live enrollment
    where course_score and grading_period_id is null and coalesce(workflow_state, 'active') <> 'deleted'
),

logins as (
    select * from {{ ref('stg_canvas_data2__logins') }}
),

courses as (
    select * from {{ ref('stg_canvas_data2__courses') }}
),

sections as (
    select * from {{ ref('stg_canvas_data2__sections') }}
),

renamed as (
    select
        source.id as enrollment_id,
        source.course_id,
        source.user_id,
        source.course_section_id as section_id,
        source.type as enrollment_type,
        source.type as role_name,
        case source.type
            when 'StudentEnrollment' then 'student'
            when 'TeacherEnrollment' then 'teacher'
            when 'TaEnrollment' then 'ta'
            when 'DesignerEnrollment' then 'designer'
            when 'ObserverEnrollment' then 'observer'
            else 'other'
        end as role,
        source.workflow_state as enrollment_state,
        logins.sis_user_id,
        courses.sis_course_id,
        sections.sis_section_id,
        scores.current_score as reported_current_score,
        scores.final_score as reported_final_score,
        scores.unposted_current_score as reported_unposted_current_score,
        scores.unposted_final_score as reported_unposted_final_score,
        scores.current_points as reported_current_points,
        scores.unposted_current_points as reported_unposted_current_points,
        -- Final Grade Override: CD2 keeps the score; the grade is the grading scheme's (none here)
        scores.override_score,
        cast(null as text) as override_grade,
        cast(null as text) as grades_url,
        source.last_activity_at,
        source.last_attended_at,
        source.total_activity_time as total_activity_seconds,
        source.created_at as enrolled_at,
        source.updated_at
    from source
    left join scores on scores.enrollment_id = source.id
    left join logins on logins.user_id = source.user_id
    left join courses on courses.course_id = source.course_id
    left join sections on sections.section_id = source.course_section_id
)

select * from renamed
