-- One row per student x course section x week (Monday): the student's attendance that week and
-- to date.
with records as (
    select * from {{ ref('int_attendance_records_unioned') }}
),

weekly as (
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
        week_start_date,
        count(distinct class_date) as class_day_count,
        {{ attendance_counts() }}
    from records
    group by lms, course_key, course_section_key, enrollment_key, course_id, section_id, student_id,
        week_start_date
),

to_date as (
    select
        weekly.*,
        sum(present_count) over student_to_date as present_to_date,
        sum(late_count) over student_to_date as late_to_date,
        sum(absent_count) over student_to_date as absent_to_date
    from weekly
    window student_to_date as (
        partition by course_section_key, student_id
        order by week_start_date
        rows between unbounded preceding and current row
    )
),

rated as (
    select
        {{ text_key('course_section_key', 'student_id', 'week_start_date') }} as attendance_student_weekly_key,
        to_date.*,
        {{ attendance_rates() }},
        cast(present_to_date + late_to_date as float8)
            / nullif(present_to_date + late_to_date + absent_to_date, 0) as attendance_rate_to_date
    from to_date
)

select * from rated
