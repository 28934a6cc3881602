-- One row per student x gradable item x course, both LMSs: the item, its group and weight, the
-- score and its state flags, UTC times, SIS keys.
with gradebook as (
    select * from {{ ref('int_gradebook_unioned') }}
),

final as (
    select
        gradebook_key,
        enrollment_key,
        course_key,
        lms,
        course_id,
        sis_course_id,
        student_id,
        sis_student_id,
        item_id,
        item_name,
        item_type,
        group_id,
        group_name,
        group_weight,
        item_weight,
        weight_distribution,
        drop_lowest,
        drop_highest,
        is_never_drop,
        points_possible,
        score,
        score_percent,
        entered_score,
        points_deducted,
        grade,
        submission_state,
        is_graded,
        is_late,
        is_missing,
        is_excused,
        is_unsubmitted,
        is_pending_review,
        is_exemption_known,
        is_posted,
        is_bonus,
        is_item_published,
        is_gradeable,
        is_omitted_from_final_grade,
        is_in_active_group,
        can_exceed_points,
        can_exceed_group_max,
        due_at,
        submitted_at,
        graded_at,
        posted_at
    from gradebook
)

select * from final
