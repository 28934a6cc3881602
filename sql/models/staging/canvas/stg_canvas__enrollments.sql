with source as (
    select * from {{ lms_source('canvas', 'enrollments', {
        'id': 'bigint',
        'course_id': 'bigint',
        'user_id': 'bigint',
        'course_section_id': 'bigint',
        'type': 'text',
        'role': 'text',
        'enrollment_state': 'text',
        'sis_user_id': 'text',
        'sis_course_id': 'text',
        'sis_section_id': 'text',
        'grades__current_score': 'float8',
        'grades__final_score': 'float8',
        'grades__unposted_current_score': 'float8',
        'grades__unposted_final_score': 'float8',
        'grades__current_points': 'float8',
        'grades__unposted_current_points': 'float8',
        'grades__override_score': 'float8',
        'grades__override_grade': 'text',
        'grades__html_url': 'text',
        'last_activity_at': 'timestamptz',
        'last_attended_at': 'timestamptz',
        'total_activity_time': 'float8',
        'created_at': 'timestamptz',
        'updated_at': 'timestamptz',
    }) }} as enrollments
),

renamed as (
    select
        id as enrollment_id,
        course_id,
        user_id,
        course_section_id as section_id,
        type as enrollment_type,
        role as role_name,
        case type
            when 'StudentEnrollment' then 'student'
            when 'TeacherEnrollment' then 'teacher'
            when 'TaEnrollment' then 'ta'
            when 'DesignerEnrollment' then 'designer'
            when 'ObserverEnrollment' then 'observer'
            else 'other'
        end as role,
        enrollment_state,
        sis_user_id,
        sis_course_id,
        sis_section_id,
        grades__current_score as reported_current_score,
        grades__final_score as reported_final_score,
        grades__unposted_current_score as reported_unposted_current_score,
        grades__unposted_final_score as reported_unposted_final_score,
        grades__current_points as reported_current_points,
        grades__unposted_current_points as reported_unposted_current_points,
        -- Final Grade Override: the grade a registrar posts where an instructor set one
        grades__override_score as override_score,
        grades__override_grade as override_grade,
        grades__html_url as grades_url,
        last_activity_at,
        last_attended_at,
        total_activity_time as total_activity_seconds,
        created_at as enrolled_at,
        updated_at
    from source
)

select * from renamed
