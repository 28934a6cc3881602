-- Canvas's four scores per student enrollment and grading period, computed from the gradebook
-- with only the period's assignments (docs/grade-calculation.md A.7: "each period's score is computed
-- as above, using only that period's assignments").
with scopes as (
    select * from {{ ref('int_canvas_scope_scores_calculated') }}
)

select
    enrollment_key,
    course_id,
    student_id,
    grading_period_id,
    base_variant as score_variant,
    counted_item_count,
    dropped_item_count,
    points_earned,
    points_possible,
    unrounded_score,
    score
from scopes
where grading_period_id is not null
