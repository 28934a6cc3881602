-- One row per person x course x role in either LMS, with SIS keys and activity.
with enrollments as (
    select * from {{ ref('int_enrollments_unioned') }}
),

final as (
    select
        enrollment_role_key,
        enrollment_key,
        course_key,
        lms,
        course_id,
        sis_course_id,
        person_id,
        sis_user_id,
        user_name,
        role,
        enrollment_state,
        is_active,
        is_concluded,
        enrollment_count,
        section_id,
        sis_section_id,
        enrolled_at,
        last_activity_at,
        total_activity_seconds
    from enrollments
)

select * from final
