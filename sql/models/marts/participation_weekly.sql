-- One row per student x course x week (Monday) in either LMS with any participation: days active in
-- the course, work submitted, discussion posts, and class attendance. Canvas feeds submissions (the
-- gradebook's submitted_at) and attendance (Roll Call); it reports no per-student daily activity over
-- REST, so its active days are NULL. Brightspace feeds course access days, assignment submissions and
-- completed quiz attempts, discussion posts (all Brightspace Data Sets) and attendance marks.
with enrollments as (
    select * from {{ ref('int_enrollments_unioned') }}
    where role = 'student'
),

courses as (
    select * from {{ ref('int_courses_unioned') }}
),

attendance as (
    select * from {{ ref('int_attendance_records_unioned') }}
),

gradebook as (
    select * from {{ ref('int_gradebook_unioned') }}
),

access_weeks as (
    select
        'brightspace' as lms,
        course_id,
        user_id as student_id,
        {{ week_start('accessed_date') }} as week_start_date,
        count(*) as active_day_count
    from {{ ref('stg_brightspace__course_access') }}
    group by 1, 2, 3, 4
),

-- work handed in: Canvas submissions, Brightspace assignment submissions and completed quiz attempts
submitted as (
    select lms, course_id, student_id, {{ utc_date('submitted_at') }} as submitted_date
    from gradebook
    where lms = 'canvas' and submitted_at is not null
    union all
    select 'brightspace' as lms, course_id, user_id as student_id, {{ utc_date('submitted_at') }}
    from {{ ref('stg_brightspace__assignment_submissions') }}
    where submitted_at is not null
    union all
    select 'brightspace' as lms, course_id, user_id as student_id, {{ utc_date('completed_at') }}
    from {{ ref('stg_brightspace__quiz_attempts') }}
    where completed_at is not null
),

submission_weeks as (
    select
        lms,
        course_id,
        student_id,
        {{ week_start('submitted_date') }} as week_start_date,
        count(*) as submitted_count
    from submitted
    group by 1, 2, 3, 4
),

post_weeks as (
    select
        'brightspace' as lms,
        course_id,
        user_id as student_id,
        {{ week_start(utc_date('posted_at')) }} as week_start_date,
        count(*) as discussion_post_count
    from {{ ref('stg_brightspace__discussion_posts') }}
    group by 1, 2, 3, 4
),

attendance_weeks as (
    select
        lms,
        course_id,
        student_id,
        week_start_date,
        count(*) as recorded_count,
        sum(present_count) as present_count,
        sum(late_count) as late_count,
        sum(absent_count) as absent_count,
        sum(excused_count) as excused_count
    from attendance
    where class_date is not null
    group by 1, 2, 3, 4
),

weeks as (
    select lms, course_id, student_id, week_start_date from access_weeks
    union
    select lms, course_id, student_id, week_start_date from submission_weeks
    union
    select lms, course_id, student_id, week_start_date from post_weeks
    union
    select lms, course_id, student_id, week_start_date from attendance_weeks
),

joined as (
    select
        {{ text_key('weeks.lms', 'weeks.course_id', 'weeks.student_id', 'weeks.week_start_date') }}
            as participation_key,
        {{ text_key('weeks.lms', 'weeks.course_id', 'weeks.student_id') }} as enrollment_key,
        {{ text_key('weeks.lms', 'weeks.course_id') }} as course_key,
        weeks.lms,
        weeks.course_id,
        courses.sis_course_id,
        weeks.student_id,
        enrollments.sis_user_id as sis_student_id,
        (enrollments.person_id is not null) as is_enrolled,
        weeks.week_start_date,
        case when weeks.lms = 'brightspace' then coalesce(access_weeks.active_day_count, 0) end
            as active_day_count,
        coalesce(submission_weeks.submitted_count, 0) as submitted_count,
        case when weeks.lms = 'brightspace' then coalesce(post_weeks.discussion_post_count, 0) end
            as discussion_post_count,
        coalesce(attendance_weeks.recorded_count, 0) as attendance_recorded_count,
        coalesce(attendance_weeks.present_count, 0) as present_count,
        coalesce(attendance_weeks.late_count, 0) as late_count,
        coalesce(attendance_weeks.absent_count, 0) as absent_count,
        coalesce(attendance_weeks.excused_count, 0) as excused_count,
        case
            when attendance_weeks.present_count + attendance_weeks.late_count + attendance_weeks.absent_count > 0
                then 1.0 * (attendance_weeks.present_count + attendance_weeks.late_count)
                / (attendance_weeks.present_count + attendance_weeks.late_count + attendance_weeks.absent_count)
        end as attendance_rate
    from weeks
    left join courses
        on weeks.lms = courses.lms
        and weeks.course_id = courses.course_id
    left join enrollments
        on weeks.lms = enrollments.lms
        and weeks.course_id = enrollments.course_id
        and weeks.student_id = enrollments.person_id
    left join access_weeks
        on weeks.lms = access_weeks.lms
        and weeks.course_id = access_weeks.course_id
        and weeks.student_id = access_weeks.student_id
        and weeks.week_start_date = access_weeks.week_start_date
    left join submission_weeks
        on weeks.lms = submission_weeks.lms
        and weeks.course_id = submission_weeks.course_id
        and weeks.student_id = submission_weeks.student_id
        and weeks.week_start_date = submission_weeks.week_start_date
    left join post_weeks
        on weeks.lms = post_weeks.lms
        and weeks.course_id = post_weeks.course_id
        and weeks.student_id = post_weeks.student_id
        and weeks.week_start_date = post_weeks.week_start_date
    left join attendance_weeks
        on weeks.lms = attendance_weeks.lms
        and weeks.course_id = attendance_weeks.course_id
        and weeks.student_id = attendance_weeks.student_id
        and weeks.week_start_date = attendance_weeks.week_start_date
)

select * from joined
