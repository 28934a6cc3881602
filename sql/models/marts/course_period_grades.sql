-- One row per Canvas student enrollment x grading period of its course: the period's four scores
-- computed from the gradebook (only the period's assignments) beside the ones Canvas reports
-- (REST: enrollments?grading_period_id=; Canvas Data 2: the period's scores rows), with the
-- period's weight and whether its set is weighted.
with enrollments as (
    select * from {{ ref('int_enrollments_unioned') }}
    where lms = 'canvas' and role = 'student'
),

courses as (
    select * from {{ canvas_staging('courses') }}
),

set_terms as (
    select * from {{ canvas_staging('grading_period_terms') }}
),

periods as (
    select * from {{ canvas_staging('grading_periods') }}
),

calculated as (
    select * from {{ ref('int_canvas_period_scores_calculated') }}
),

reported as (
    select
        {{ text_key("'canvas'", 'course_id', 'student_id') }} as enrollment_key,
        grading_period_id,
        max(reported_current_score) as lms_current_score,
        max(reported_final_score) as lms_final_score,
        max(reported_unposted_current_score) as lms_unposted_current_score,
        max(reported_unposted_final_score) as lms_unposted_final_score,
        count(*) as reported_row_count
    from {{ canvas_staging('enrollment_period_grades') }}
    group by course_id, student_id, grading_period_id
),

pivoted as (
    select
        enrollment_key,
        grading_period_id,
        max(case when score_variant = 'current' then score end) as current_score,
        max(case when score_variant = 'final' then score end) as final_score,
        max(case when score_variant = 'unposted_current' then score end) as unposted_current_score,
        max(case when score_variant = 'unposted_final' then score end) as unposted_final_score
    from calculated
    group by enrollment_key, grading_period_id
),

course_periods as (
    select
        enrollments.enrollment_key,
        enrollments.course_key,
        enrollments.course_id,
        enrollments.person_id as student_id,
        enrollments.sis_user_id as sis_student_id,
        periods.grading_period_id,
        periods.grading_period_title,
        periods.grading_period_weight,
        periods.is_weighted_set,
        periods.period_start_at,
        periods.period_end_at
    from enrollments
    inner join courses
        on enrollments.course_id = courses.course_id
    inner join set_terms
        on courses.term_id = set_terms.term_id
    inner join periods
        on set_terms.grading_period_set_id = periods.grading_period_set_id
),

joined as (
    select
        course_periods.enrollment_key || '-' || cast(course_periods.grading_period_id as text)
            as enrollment_period_key,
        course_periods.*,
        pivoted.current_score,
        pivoted.final_score,
        pivoted.unposted_current_score,
        pivoted.unposted_final_score,
        reported.lms_current_score,
        reported.lms_final_score,
        reported.lms_unposted_current_score,
        reported.lms_unposted_final_score,
        reported.enrollment_key is not null as has_lms_score
    from course_periods
    left join pivoted
        on course_periods.enrollment_key = pivoted.enrollment_key
        and course_periods.grading_period_id = pivoted.grading_period_id
    left join reported
        on course_periods.enrollment_key = reported.enrollment_key
        and course_periods.grading_period_id = reported.grading_period_id
)

select * from joined
