-- One row per course section x week (Monday): the cohort's attendance counts and rates that week,
-- and cohort metrics: how the students' own rates spread, and how many are chronically absent
-- to date (attendance rate to date below var('chronic_absence_rate'), 90 % by default).
with records as (
    select * from {{ ref('int_attendance_records_unioned') }}
),

students as (
    select * from {{ ref('attendance_student_weekly') }}
),

weekly as (
    select
        lms,
        course_key,
        course_section_key,
        course_id,
        max(sis_course_id) as sis_course_id,
        section_id,
        max(sis_section_id) as sis_section_id,
        week_start_date,
        count(distinct class_date) as class_day_count,
        {{ attendance_counts() }}
    from records
    group by lms, course_key, course_section_key, course_id, section_id, week_start_date
),

cohort as (
    select
        course_section_key,
        week_start_date,
        count(*) as student_count,
        avg(attendance_rate) as mean_student_attendance_rate,
        sum(case when absent_count > 0 then 1 else 0 end) as students_with_absence_count,
        sum(case when attendance_rate = 1 then 1 else 0 end) as students_fully_present_count,
        sum(
            case when attendance_rate_to_date < {{ var('chronic_absence_rate', 0.9) }} then 1 else 0 end
        ) as chronically_absent_count
    from students
    group by course_section_key, week_start_date
),

joined as (
    select
        {{ text_key('weekly.course_section_key', 'weekly.week_start_date') }} as attendance_weekly_key,
        weekly.*,
        {{ attendance_rates('weekly') }},
        cohort.student_count,
        cohort.mean_student_attendance_rate,
        cohort.students_with_absence_count,
        cohort.students_fully_present_count,
        cohort.chronically_absent_count
    from weekly
    left join cohort
        on weekly.course_section_key = cohort.course_section_key
        and weekly.week_start_date = cohort.week_start_date
)

select * from joined
