-- Each student enrollment's scores in each grading period, as Canvas reports them
-- (enrollments?grading_period_id=).
with source as (
    select * from {{ lms_source('canvas', 'enrollment_period_grades', {
        'enrollment_id': 'bigint',
        'grading_period_id': 'bigint',
        'course_id': 'bigint',
        'user_id': 'bigint',
        'current_score': 'float8',
        'final_score': 'float8',
        'unposted_current_score': 'float8',
        'unposted_final_score': 'float8',
    }) }} as enrollment_period_grades
)

select
    enrollment_id,
    grading_period_id,
    course_id,
    user_id as student_id,
    current_score as reported_current_score,
    final_score as reported_final_score,
    unposted_current_score as reported_unposted_current_score,
    unposted_final_score as reported_unposted_final_score
from source
