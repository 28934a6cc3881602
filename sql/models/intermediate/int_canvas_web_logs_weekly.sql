-- Canvas Data 2 engagement per student, course and ISO week from web_logs: page views (every
-- request), participations (requests Canvas counts as participating) and active days (UTC days with
-- any request). Every user who made a request, whatever their role; the marts keep the students'.
-- Empty unless CD2 loaded.
with web_logs as (
    select * from {{ ref('stg_canvas_data2__web_logs') }}
),

weekly as (
    select
        'canvas' as lms,
        course_id,
        user_id as student_id,
        week_start,
        count(*) as page_views,
        sum(case when is_participation then 1 else 0 end) as participations,
        count(distinct requested_date) as active_day_count,
        max(requested_at) as last_request_at
    from web_logs
    group by course_id, user_id, week_start
)

select * from weekly
