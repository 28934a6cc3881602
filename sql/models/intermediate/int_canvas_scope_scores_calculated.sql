-- Canvas's four scores per student enrollment and scope (the course, or one grading period as
-- 'current@<grading_period_id>'), computed from the gradebook (docs/grade-calculation.md A.5-A.6):
-- weighted by group (re-normalised upward only, groups with no points possible ignored) or by
-- points; rounded half up to 2 decimals once, at the end. int_canvas_course_scores_calculated and
-- int_canvas_period_scores_calculated split the scopes.
with groups as (
    select * from {{ ref('int_canvas_assignment_groups_dropped') }}
),

courses as (
    select * from {{ canvas_staging('courses') }}
),

course_sums as (
    select
        groups.enrollment_key,
        groups.course_id,
        groups.student_id,
        groups.score_variant,
        max(case when courses.is_weighted_by_group then 1 else 0 end) = 1 as is_weighted,
        -- weighted: only groups with points possible count, at their unrounded ratio
        sum(case when groups.group_possible > 0 then groups.group_score / groups.group_possible * groups.group_weight end)
            as weighted_sum,
        sum(case when groups.group_possible > 0 then groups.group_weight end) as weight_sum,
        -- points: every group's points, zero-point (extra credit) groups included
        sum(groups.group_score) as score_sum,
        sum(groups.group_possible) as possible_sum,
        sum(groups.kept_item_count) as counted_item_count,
        sum(groups.dropped_item_count) as dropped_item_count
    from groups
    inner join courses
        on groups.course_id = courses.course_id
    group by groups.enrollment_key, groups.course_id, groups.student_id, groups.score_variant
),

scored as (
    select
        enrollment_key,
        course_id,
        student_id,
        score_variant,
        counted_item_count,
        dropped_item_count,
        score_sum as points_earned,
        possible_sum as points_possible,
        case
            when is_weighted then
                case
                    when coalesce(weight_sum, 0) = 0 then null
                    when weight_sum < 100 then weighted_sum * 100 / weight_sum
                    else weighted_sum
                end
            when possible_sum > 0 then score_sum * 100 / possible_sum
        end as unrounded_score
    from course_sums
),

rounded as (
    select
        scored.*,
        {{ round_half_up('unrounded_score', 2) }} as score
    from scored
),

split as (
    select
        rounded.*,
        split_part(score_variant, '@', 1) as base_variant,
        cast(nullif(split_part(score_variant, '@', 2), '') as bigint) as grading_period_id
    from rounded
)

select * from split
