-- One row per student x gradable item x course, both LMSs: the item, its group and weight, the
-- score and its state flags, UTC times, SIS keys. Canvas rows also carry the late policy's
-- status, seconds late and points deducted, the custom grade status and the grading period.
with gradebook as (
    select * from {{ ref('int_gradebook_unioned') }}
),

canvas_submissions as (
    select * from {{ canvas_staging('submissions') }}
),

canvas_periods as (
    select * from {{ canvas_staging('grading_periods') }}
),

canvas_statuses as (
    select * from {{ canvas_staging('custom_grade_statuses') }}
),

final as (
    select
        gradebook.gradebook_key,
        gradebook.enrollment_key,
        gradebook.course_key,
        gradebook.lms,
        gradebook.course_id,
        gradebook.sis_course_id,
        gradebook.student_id,
        gradebook.sis_student_id,
        gradebook.item_id,
        gradebook.item_name,
        gradebook.item_type,
        gradebook.group_id,
        gradebook.group_name,
        gradebook.group_weight,
        gradebook.item_weight,
        gradebook.weight_distribution,
        gradebook.drop_lowest,
        gradebook.drop_highest,
        gradebook.is_never_drop,
        gradebook.points_possible,
        gradebook.score,
        gradebook.score_percent,
        gradebook.entered_score,
        gradebook.points_deducted,
        gradebook.grade,
        gradebook.submission_state,
        gradebook.is_graded,
        gradebook.is_late,
        gradebook.is_missing,
        gradebook.is_excused,
        gradebook.is_unsubmitted,
        gradebook.is_pending_review,
        gradebook.is_exemption_known,
        gradebook.is_posted,
        gradebook.is_bonus,
        gradebook.is_item_published,
        gradebook.is_gradeable,
        gradebook.is_omitted_from_final_grade,
        gradebook.is_in_active_group,
        gradebook.can_exceed_points,
        gradebook.can_exceed_group_max,
        gradebook.due_at,
        gradebook.submitted_at,
        gradebook.graded_at,
        gradebook.posted_at,
        canvas_submissions.late_policy_status,
        canvas_submissions.seconds_late,
        canvas_submissions.custom_grade_status_id,
        canvas_statuses.custom_grade_status_name,
        canvas_submissions.grading_period_id,
        canvas_periods.grading_period_title
    from gradebook
    left join canvas_submissions
        on gradebook.lms = 'canvas'
        and gradebook.course_id = canvas_submissions.course_id
        and gradebook.item_id = canvas_submissions.assignment_id
        and gradebook.student_id = canvas_submissions.student_id
    left join canvas_periods
        on canvas_submissions.grading_period_id = canvas_periods.grading_period_id
    left join canvas_statuses
        on canvas_submissions.custom_grade_status_id = canvas_statuses.custom_grade_status_id
)

select * from final
