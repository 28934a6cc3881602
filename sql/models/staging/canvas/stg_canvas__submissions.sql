with source as (
    select * from {{ lms_source('canvas', 'submissions', {
        'course_id': 'bigint',
        'assignment_id': 'bigint',
        'user_id': 'bigint',
        'id': 'bigint',
        'attempt': 'bigint',
        'grade': 'text',
        'score': 'decimal(28, 8)',
        'entered_score': 'decimal(28, 8)',
        'points_deducted': 'decimal(28, 8)',
        'workflow_state': 'text',
        'late_policy_status': 'text',
        'late': 'boolean',
        'missing': 'boolean',
        'excused': 'boolean',
        'seconds_late': 'bigint',
        'submitted_at': 'timestamptz',
        'graded_at': 'timestamptz',
        'posted_at': 'timestamptz',
        'cached_due_date': 'timestamptz',
        'grading_period_id': 'bigint',
        'custom_grade_status_id': 'bigint',
        'deleted_in_lms': 'boolean',
    }) }} as submissions
),

renamed as (
    select
        course_id,
        assignment_id,
        user_id as student_id,
        id as submission_id,
        attempt,
        grade,
        score,
        entered_score,
        points_deducted,
        workflow_state as submission_state,
        late_policy_status,
        coalesce(late, false) as is_late,
        coalesce(missing, false) as is_missing,
        coalesce(excused, false) as is_excused,
        workflow_state = 'unsubmitted' as is_unsubmitted,
        workflow_state = 'pending_review' as is_pending_review,
        seconds_late,
        submitted_at,
        graded_at,
        posted_at,
        cached_due_date as due_at,
        grading_period_id,
        custom_grade_status_id
    from source
    -- dlt deletes rows flagged this way; the filter keeps a stray marker out
    where not coalesce(deleted_in_lms, false)
)

select * from renamed
