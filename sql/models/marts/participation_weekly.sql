-- One row per student x course x week (Monday) in either LMS with any participation: days active in
-- the course, work submitted, discussion posts, and class attendance. Canvas feeds submissions (the
-- gradebook's submitted_at) and attendance (Roll Call); it reports no per-student daily activity over
-- REST, so its active days are NULL. Brightspace feeds course access days, assignment submissions and
-- completed quiz attempts, discussion posts (all Brightspace Data Sets) and attendance marks.
--
-- Page views and participations are Canvas's, from Canvas Data 2 web_logs (int_canvas_web_logs_weekly)
-- when the dbt var canvas_channel is 'cd2'; REST analytics has no per-student week and Brightspace no
-- page views, so they are NULL there. Under cd2 a Canvas student's week also counts active days (UTC
-- days with any request in the course, where Brightspace counts days in Course Access). web_logs
-- counts every logged request as a page view and a request Canvas flags `participated` as a
-- participation; only requests of users with a student enrollment in the course count. CD2 keeps 30
-- days of logs: weeks before the first logged week read NULL, later weeks without a request 0.
{% set cd2 = var('canvas_channel', 'rest') == 'cd2' %}
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

{% if cd2 -%}
web_log_weeks as (
    select
        'canvas' as lms,
        web_logs_weekly.course_id,
        web_logs_weekly.student_id,
        web_logs_weekly.week_start as week_start_date,
        web_logs_weekly.page_views,
        web_logs_weekly.participations,
        web_logs_weekly.active_day_count
    from {{ ref('int_canvas_web_logs_weekly') }} as web_logs_weekly
    inner join enrollments
        on enrollments.lms = 'canvas'
        and web_logs_weekly.course_id = enrollments.course_id
        and web_logs_weekly.student_id = enrollments.person_id
),

-- the first week the logs cover (NULL when none are loaded)
web_log_coverage as (
    select min(week_start) as first_week_start_date
    from {{ ref('int_canvas_web_logs_weekly') }}
),
{%- else -%}
web_log_weeks as (
    select
        cast(null as text) as lms,
        cast(null as bigint) as course_id,
        cast(null as bigint) as student_id,
        cast(null as date) as week_start_date,
        cast(null as bigint) as page_views,
        cast(null as bigint) as participations,
        cast(null as bigint) as active_day_count
    where 1 = 0
),

web_log_coverage as (
    select cast(null as date) as first_week_start_date
),
{%- endif %}

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
    union
    select lms, course_id, student_id, week_start_date from web_log_weeks
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
        case
            when weeks.lms = 'brightspace' then coalesce(access_weeks.active_day_count, 0)
            when weeks.week_start_date >= web_log_coverage.first_week_start_date
                then coalesce(web_log_weeks.active_day_count, 0)
        end as active_day_count,
        case when weeks.lms = 'canvas' and weeks.week_start_date >= web_log_coverage.first_week_start_date
            then coalesce(web_log_weeks.page_views, 0) end as page_views,
        case when weeks.lms = 'canvas' and weeks.week_start_date >= web_log_coverage.first_week_start_date
            then coalesce(web_log_weeks.participations, 0) end as participations,
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
    left join web_log_weeks
        on weeks.lms = web_log_weeks.lms
        and weeks.course_id = web_log_weeks.course_id
        and weeks.student_id = web_log_weeks.student_id
        and weeks.week_start_date = web_log_weeks.week_start_date
    cross join web_log_coverage
    left join attendance_weeks
        on weeks.lms = attendance_weeks.lms
        and weeks.course_id = attendance_weeks.course_id
        and weeks.student_id = attendance_weeks.student_id
        and weeks.week_start_date = attendance_weeks.week_start_date
)

select * from joined
