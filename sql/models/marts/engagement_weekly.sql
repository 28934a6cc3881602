-- One row per course x week (Monday) with any recorded activity: page views and participations
-- (Canvas course analytics, by day), work submitted (the gradebook), and how many students
-- submitted, or were last seen, that week, and from the Brightspace Data Sets the students who opened
-- the course (Course Access), quiz attempts completed and discussion posts written. Per-student
-- totals are in engagement_students: Canvas reports page views per student only as totals to date.
--
-- Canvas page views, participations and active days depend on the dbt var canvas_channel:
-- - rest: course analytics by day (stg_canvas__course_activity): views and participations of the
--   course's active or completed students, and active days = days analytics lists with any activity.
-- - cd2: Canvas Data 2 web_logs (int_canvas_web_logs_weekly; CD2 has no course analytics), the
--   requests of users with a student enrollment in the course (any state). Every logged request is
--   a page view (requests analytics would not count, such as API calls, count too), participations
--   are the requests Canvas flags `participated`, and active days = UTC days with any such request.
--   CD2 keeps 30 days of logs, so weeks before the first load's window have none (page views NULL).
{% set cd2 = var('canvas_channel', 'rest') == 'cd2' %}
with
{%- if cd2 %}
canvas_students as (
    select course_id, person_id as student_id
    from {{ ref('int_enrollments_unioned') }}
    where lms = 'canvas' and role = 'student'
),

web_log_weeks as (
    select web_logs_weekly.*
    from {{ ref('int_canvas_web_logs_weekly') }} as web_logs_weekly
    inner join canvas_students
        on web_logs_weekly.course_id = canvas_students.course_id
        and web_logs_weekly.student_id = canvas_students.student_id
),

web_log_day_weeks as (
    select
        web_logs.course_id,
        web_logs.week_start,
        count(distinct web_logs.requested_date) as active_day_count
    from {{ ref('stg_canvas_data2__web_logs') }} as web_logs
    inner join canvas_students
        on web_logs.course_id = canvas_students.course_id
        and web_logs.user_id = canvas_students.student_id
    group by web_logs.course_id, web_logs.week_start
),
{%- else %}
activity as (
    select * from {{ ref('stg_canvas__course_activity') }}
),
{%- endif %}

gradebook as (
    select * from {{ ref('int_gradebook_unioned') }}
),

students as (
    select * from {{ ref('engagement_students') }}
),

courses as (
    select * from {{ ref('int_courses_unioned') }}
),

access_weeks as (
    select
        {{ text_key("'brightspace'", 'course_id') }} as course_key,
        {{ week_start('accessed_date') }} as week_start_date,
        count(*) as course_access_count,
        count(distinct user_id) as students_accessing_count
    from {{ ref('stg_brightspace__course_access') }}
    group by 1, 2
),

quiz_weeks as (
    select
        {{ text_key("'brightspace'", 'course_id') }} as course_key,
        {{ week_start(utc_date('completed_at')) }} as week_start_date,
        count(*) as quiz_attempt_count
    from {{ ref('stg_brightspace__quiz_attempts') }}
    where completed_at is not null
    group by 1, 2
),

post_weeks as (
    select
        {{ text_key("'brightspace'", 'course_id') }} as course_key,
        {{ week_start(utc_date('posted_at')) }} as week_start_date,
        count(*) as discussion_post_count
    from {{ ref('stg_brightspace__discussion_posts') }}
    group by 1, 2
),

{% if cd2 -%}
activity_weeks as (
    select
        {{ text_key("'canvas'", 'web_log_weeks.course_id') }} as course_key,
        web_log_weeks.week_start as week_start_date,
        sum(web_log_weeks.page_views) as page_views,
        sum(web_log_weeks.participations) as participations,
        max(web_log_day_weeks.active_day_count) as active_day_count
    from web_log_weeks
    inner join web_log_day_weeks
        on web_log_weeks.course_id = web_log_day_weeks.course_id
        and web_log_weeks.week_start = web_log_day_weeks.week_start
    group by 1, 2
),
{%- else -%}
activity_weeks as (
    select
        {{ text_key("'canvas'", 'course_id') }} as course_key,
        {{ week_start('activity_date') }} as week_start_date,
        sum(page_views) as page_views,
        sum(participations) as participations,
        count(*) as active_day_count
    from activity
    group by 1, 2
),
{%- endif %}

submission_weeks as (
    select
        course_key,
        {{ week_start(utc_date('submitted_at')) }} as week_start_date,
        count(*) as submitted_count,
        sum(case when is_late then 1 else 0 end) as late_submission_count,
        count(distinct student_id) as students_submitting_count
    from gradebook
    where submitted_at is not null
    group by 1, 2
),

last_seen_weeks as (
    select
        course_key,
        {{ week_start('last_activity_date') }} as week_start_date,
        count(*) as students_last_active_count
    from students
    where last_activity_date is not null
    group by 1, 2
),

weeks as (
    select course_key, week_start_date from activity_weeks
    union
    select course_key, week_start_date from submission_weeks
    union
    select course_key, week_start_date from last_seen_weeks
    union
    select course_key, week_start_date from access_weeks
    union
    select course_key, week_start_date from quiz_weeks
    union
    select course_key, week_start_date from post_weeks
),

joined as (
    select
        {{ text_key('weeks.course_key', 'weeks.week_start_date') }} as engagement_weekly_key,
        weeks.course_key,
        courses.lms,
        courses.course_id,
        courses.sis_course_id,
        weeks.week_start_date,
        activity_weeks.page_views,
        activity_weeks.participations,
        coalesce(activity_weeks.active_day_count, 0) as active_day_count,
        coalesce(submission_weeks.submitted_count, 0) as submitted_count,
        coalesce(submission_weeks.late_submission_count, 0) as late_submission_count,
        coalesce(submission_weeks.students_submitting_count, 0) as students_submitting_count,
        coalesce(last_seen_weeks.students_last_active_count, 0) as students_last_active_count,
        coalesce(access_weeks.course_access_count, 0) as course_access_count,
        coalesce(access_weeks.students_accessing_count, 0) as students_accessing_count,
        coalesce(quiz_weeks.quiz_attempt_count, 0) as quiz_attempt_count,
        coalesce(post_weeks.discussion_post_count, 0) as discussion_post_count
    from weeks
    inner join courses
        on weeks.course_key = courses.course_key
    left join activity_weeks
        on weeks.course_key = activity_weeks.course_key
        and weeks.week_start_date = activity_weeks.week_start_date
    left join submission_weeks
        on weeks.course_key = submission_weeks.course_key
        and weeks.week_start_date = submission_weeks.week_start_date
    left join last_seen_weeks
        on weeks.course_key = last_seen_weeks.course_key
        and weeks.week_start_date = last_seen_weeks.week_start_date
    left join access_weeks
        on weeks.course_key = access_weeks.course_key
        and weeks.week_start_date = access_weeks.week_start_date
    left join quiz_weeks
        on weeks.course_key = quiz_weeks.course_key
        and weeks.week_start_date = quiz_weeks.week_start_date
    left join post_weeks
        on weeks.course_key = post_weeks.course_key
        and weeks.week_start_date = post_weeks.week_start_date
)

select * from joined
