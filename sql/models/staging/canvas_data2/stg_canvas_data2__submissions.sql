-- Canvas Data 2 submissions, shaped as stg_canvas__submissions. REST's derived fields come from
-- the stored ones: late and missing from cached_tardiness (Canvas's cached flag) and
-- late_policy_status, seconds_late from the submission and due times (or the override), the
-- entered score from the score and the late deduction. dlt has already applied DAP's deletes.
with source as (
    select * from {{ lms_source('canvas_data2', 'submissions', {
        'id': 'bigint',
        'course_id': 'bigint',
        'assignment_id': 'bigint',
        'user_id': 'bigint',
        'attempt': 'bigint',
        'grade': 'text',
        'score': 'decimal(28, 8)',
        'points_deducted': 'decimal(28, 8)',
        'workflow_state': 'text',
        'late_policy_status': 'text',
        'cached_tardiness': 'text',
        'excused': 'boolean',
        'seconds_late_override': 'bigint',
        'submitted_at': 'timestamptz',
        'graded_at': 'timestamptz',
        'posted_at': 'timestamptz',
        'cached_due_date': 'timestamptz',
        'grading_period_id': 'bigint',
        'custom_grade_status_id': 'bigint',
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
        case
            when coalesce(points_deducted, 0) <> 0 then round(score + points_deducted, 2)
            else score
        end as entered_score,
        points_deducted,
        workflow_state as submission_state,
        late_policy_status,
        coalesce(cached_tardiness = 'late' or late_policy_status = 'late', false) as is_late,
        coalesce(cached_tardiness = 'missing', false) as is_missing,
        coalesce(excused, false) as is_excused,
        workflow_state = 'unsubmitted' as is_unsubmitted,
        workflow_state = 'pending_review' as is_pending_review,
        coalesce(
            seconds_late_override,
            case
                when submitted_at > cached_due_date then {{ seconds_between('cached_due_date', 'submitted_at') }}
                else 0
            end
        ) as seconds_late,
        submitted_at,
        graded_at,
        posted_at,
        cached_due_date as due_at,
        grading_period_id,
        custom_grade_status_id
    from source
    where coalesce(workflow_state, '') <> 'deleted'
)

select * from renamed
