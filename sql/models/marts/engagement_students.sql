-- One row per student enrollment: page views and participations to date, last activity and time
-- spent, and the dated work the gradebook holds. Canvas: course analytics (student summaries) and
-- the enrollment's last_activity_at / total_activity_time. Brightspace: content topic progress
-- (visits count as page views, time spent as activity time), the classlist's last access, and the
-- Brightspace Data Sets Course Access (days in the course), Quiz Attempts and Discussion Posts.
--
-- With the dbt var canvas_channel = 'cd2', Canvas page views and participations are the totals of
-- Canvas Data 2 web_logs (int_canvas_web_logs_weekly; CD2 has no course analytics), and
-- page_views_measure reads 'canvas_web_logs': every logged request counts as a page view, a request
-- Canvas flags `participated` as a participation, over the logs loaded (CD2 keeps 30 days; analytics
-- totals cover the term). Every student enrollment gets a row (analytics lists active and completed
-- ones), 0 without a request once any log is loaded; the course maxima are over those rows; the
-- levels and the work_* breakdown (analytics only) are NULL. Last activity and activity time are the
-- enrollment's in both channels.
{% set cd2 = var('canvas_channel', 'rest') == 'cd2' %}
with enrollments as (
    select * from {{ ref('int_enrollments_unioned') }}
    where role = 'student'
),
{% if cd2 %}
web_log_totals as (
    select
        course_id,
        student_id,
        sum(page_views) as page_views,
        sum(participations) as participations
    from {{ ref('int_canvas_web_logs_weekly') }}
    group by course_id, student_id
),

-- shaped as stg_canvas__student_summaries
summaries as (
    select
        enrollments.course_id,
        enrollments.person_id as student_id,
        coalesce(web_log_totals.page_views, 0) as page_views,
        max(coalesce(web_log_totals.page_views, 0)) over (partition by enrollments.course_id)
            as course_max_page_views,
        coalesce(web_log_totals.participations, 0) as participations,
        max(coalesce(web_log_totals.participations, 0)) over (partition by enrollments.course_id)
            as course_max_participations,
        cast(null as bigint) as page_views_level,
        cast(null as bigint) as participations_level,
        cast(null as bigint) as work_on_time_count,
        cast(null as bigint) as work_late_count,
        cast(null as bigint) as work_missing_count,
        cast(null as bigint) as work_floating_count
    from enrollments
    left join web_log_totals
        on enrollments.course_id = web_log_totals.course_id
        and enrollments.person_id = web_log_totals.student_id
    where enrollments.lms = 'canvas'
        and exists (select 1 from {{ ref('int_canvas_web_logs_weekly') }})
),
{%- else %}
summaries as (
    select * from {{ ref('stg_canvas__student_summaries') }}
),
{%- endif %}

classlists as (
    select * from {{ ref('stg_brightspace__classlists') }}
),

content_progress as (
    select * from {{ ref('stg_brightspace__content_user_progress') }}
),

gradebook as (
    select * from {{ ref('int_gradebook_unioned') }}
),

course_access as (
    select
        course_id,
        user_id,
        count(*) as access_day_count,
        max(accessed_date) as last_accessed_date
    from {{ ref('stg_brightspace__course_access') }}
    group by course_id, user_id
),

quiz_attempts as (
    select course_id, user_id, count(*) as attempt_count
    from {{ ref('stg_brightspace__quiz_attempts') }}
    group by course_id, user_id
),

discussion_posts as (
    select course_id, user_id, count(*) as post_count
    from {{ ref('stg_brightspace__discussion_posts') }}
    group by course_id, user_id
),

content as (
    select
        course_id,
        user_id,
        sum(visit_count) as visit_count,
        sum(seconds_spent) as seconds_spent,
        sum(case when is_completed then 1 else 0 end) as topics_completed_count,
        count(*) as topics_with_progress_count,
        max(last_visited_at) as last_visited_at
    from content_progress
    group by course_id, user_id
),

work as (
    select
        enrollment_key,
        count(submitted_at) as submitted_count,
        sum(case when is_late then 1 else 0 end) as late_count,
        sum(case when is_missing then 1 else 0 end) as missing_count,
        max(submitted_at) as last_submitted_at,
        count(distinct {{ week_start(utc_date('submitted_at')) }}) as weeks_with_submissions_count
    from gradebook
    group by enrollment_key
),

joined as (
    select
        enrollments.enrollment_key,
        enrollments.course_key,
        enrollments.lms,
        enrollments.course_id,
        enrollments.sis_course_id,
        enrollments.person_id as student_id,
        enrollments.sis_user_id as sis_student_id,
        enrollments.enrollment_state,
        coalesce(summaries.page_views, content.visit_count) as page_views,
        case
            when summaries.student_id is not null then {{ "'canvas_web_logs'" if cd2 else "'canvas_page_views'" }}
            when content.user_id is not null then 'brightspace_content_visits'
        end as page_views_measure,
        summaries.participations,
        summaries.course_max_page_views,
        summaries.course_max_participations,
        summaries.page_views_level,
        summaries.participations_level,
        summaries.work_on_time_count,
        summaries.work_late_count,
        summaries.work_missing_count,
        summaries.work_floating_count,
        content.topics_completed_count,
        content.topics_with_progress_count,
        content.last_visited_at as last_content_visit_at,
        (summaries.student_id is not null or content.user_id is not null) as has_engagement_data,
        coalesce(enrollments.last_activity_at, classlists.last_accessed_at) as last_activity_at,
        {{ utc_date('coalesce(enrollments.last_activity_at, classlists.last_accessed_at)') }} as last_activity_date,
        coalesce(enrollments.total_activity_seconds, content.seconds_spent) as total_activity_seconds,
        coalesce(work.submitted_count, 0) as submitted_count,
        coalesce(work.late_count, 0) as late_submission_count,
        coalesce(work.missing_count, 0) as missing_submission_count,
        work.last_submitted_at,
        coalesce(work.weeks_with_submissions_count, 0) as weeks_with_submissions_count,
        course_access.access_day_count as course_access_day_count,
        course_access.last_accessed_date as last_course_access_date,
        quiz_attempts.attempt_count as quiz_attempt_count,
        discussion_posts.post_count as discussion_post_count
    from enrollments
    left join summaries
        on enrollments.lms = 'canvas'
        and enrollments.course_id = summaries.course_id
        and enrollments.person_id = summaries.student_id
    left join classlists
        on enrollments.lms = 'brightspace'
        and enrollments.course_id = classlists.course_id
        and enrollments.person_id = classlists.user_id
    left join content
        on enrollments.lms = 'brightspace'
        and enrollments.course_id = content.course_id
        and enrollments.person_id = content.user_id
    left join work
        on enrollments.enrollment_key = work.enrollment_key
    left join course_access
        on enrollments.lms = 'brightspace'
        and enrollments.course_id = course_access.course_id
        and enrollments.person_id = course_access.user_id
    left join quiz_attempts
        on enrollments.lms = 'brightspace'
        and enrollments.course_id = quiz_attempts.course_id
        and enrollments.person_id = quiz_attempts.user_id
    left join discussion_posts
        on enrollments.lms = 'brightspace'
        and enrollments.course_id = discussion_posts.course_id
        and enrollments.person_id = discussion_posts.user_id
)

select * from joined
