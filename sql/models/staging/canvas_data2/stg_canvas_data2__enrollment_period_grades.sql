-- Canvas Data 2 grading-period scores, shaped as stg_canvas__enrollment_period_grades. A period's
-- score is a scores row with grading_period_id set (Canvas then stores course_score false: Score
-- sets course_score only when neither a grading period nor an assignment group is set). The score
-- of a deleted enrollment is soft-deleted with it: its row stays without scores, as REST lists the
-- deleted enrollment with empty grades.
with scores as (
    select * from {{ lms_source('canvas_data2', 'scores', {
        'enrollment_id': 'bigint',
        'grading_period_id': 'bigint',
        'assignment_group_id': 'bigint',
        'workflow_state': 'text',
        'current_score': 'float8',
        'final_score': 'float8',
        'unposted_current_score': 'float8',
        'unposted_final_score': 'float8',
    }) }} as scores
    where grading_period_id is not null and assignment_group_id is null
),

enrollments as (
    select * from {{ lms_source('canvas_data2', 'enrollments', {
        'id': 'bigint',
        'course_id': 'bigint',
        'user_id': 'bigint',
    }) }} as enrollments
),

live as (
    select
        scores.*,
        coalesce(scores.workflow_state, 'active') <> 'deleted' as is_live
    from scores
)

select
    live.enrollment_id,
    live.grading_period_id,
    enrollments.course_id,
    enrollments.user_id as student_id,
    case when live.is_live then live.current_score end as reported_current_score,
    case when live.is_live then live.final_score end as reported_final_score,
    case when live.is_live then live.unposted_current_score end as reported_unposted_current_score,
    case when live.is_live then live.unposted_final_score end as reported_unposted_final_score
from live
inner join enrollments
    on live.enrollment_id = enrollments.id
