-- One row per course section x class date: the cohort's attendance that day.
with records as (
    select * from {{ ref('int_attendance_records_unioned') }}
),

daily as (
    select
        lms,
        course_key,
        course_section_key,
        course_id,
        max(sis_course_id) as sis_course_id,
        section_id,
        max(sis_section_id) as sis_section_id,
        class_date,
        week_start_date,
        count(distinct student_id) as student_count,
        {{ attendance_counts() }}
    from records
    group by lms, course_key, course_section_key, course_id, section_id, class_date, week_start_date
),

rated as (
    select
        {{ text_key('course_section_key', 'class_date') }} as attendance_daily_key,
        daily.*,
        {{ attendance_rates() }}
    from daily
)

select * from rated
