-- One row per course x week (Monday) with any recorded activity: page views and participations
-- (Canvas course analytics, by day), work submitted (the gradebook), and how many students
-- submitted, or were last seen, that week, and from the Brightspace Data Sets the students who opened
-- the course (Course Access), quiz attempts completed and discussion posts written. Per-student
-- totals are in engagement_students: Canvas reports page views per student only as totals to date.
with activity as (
    select * from {{ ref('stg_canvas__course_activity') }}
),

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
