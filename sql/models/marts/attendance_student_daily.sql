-- One row per student x course section x class date: the student's attendance that day.
with records as (
    select * from {{ ref('int_attendance_records_unioned') }}
),

daily as (
    select
        lms,
        course_key,
        course_section_key,
        enrollment_key,
        course_id,
        max(sis_course_id) as sis_course_id,
        section_id,
        max(sis_section_id) as sis_section_id,
        student_id,
        max(sis_student_id) as sis_student_id,
        class_date,
        week_start_date,
        {{ attendance_counts() }},
        max(marked_at) as last_marked_at
    from records
    group by lms, course_key, course_section_key, enrollment_key, course_id, section_id, student_id,
        class_date, week_start_date
),

rated as (
    select
        {{ text_key('course_section_key', 'student_id', 'class_date') }} as attendance_student_daily_key,
        daily.*,
        {{ attendance_rates() }}
    from daily
)

select * from rated
