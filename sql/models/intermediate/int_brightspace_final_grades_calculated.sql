-- Brightspace's Final Calculated Grade per student, computed from the gradebook for Points and
-- Weighted books (docs/grade-calculation.md Part B; the choices where Part B is UNCONFIRMED follow
-- sandbox/brightspace/grades.py). Two variants: "current" drops ungraded items, "final" treats
-- them as 0; the course's IsNullGradeZero says which one Brightspace shows.
with gradebook as (
    select * from {{ ref('int_gradebook_unioned') }}
    where lms = 'brightspace'
),

courses as (
    select * from {{ ref('int_courses_unioned') }}
    where lms = 'brightspace'
),

variants as (
    select 'current' as score_variant, false as includes_ungraded
    union all
    select 'final' as score_variant, true as includes_ungraded
),

-- B.2: computable items that count, exempt ones removed before anything else
countable as (
    select gradebook.*
    from gradebook
    where is_gradeable
      and is_in_active_group
      and not is_omitted_from_final_grade
      and not is_excused
),

counted as (
    select
        countable.enrollment_key,
        countable.course_id,
        countable.student_id,
        countable.group_id,
        countable.item_id,
        countable.is_bonus,
        countable.item_weight,
        countable.group_weight,
        countable.drop_lowest,
        countable.drop_highest,
        countable.can_exceed_group_max,
        countable.points_possible,
        variants.score_variant,
        -- above MaxPoints is capped unless the item may exceed it
        case
            when countable.score is null then cast(0 as decimal(28, 8))
            when not countable.can_exceed_points and countable.score > countable.points_possible
                then countable.points_possible
            else countable.score
        end as counted_points
    from countable
    cross join variants
    -- ungraded: left out, or 0 under "treat as 0" (an ungraded bonus item adds nothing either way)
    where countable.score is not null
       or (variants.includes_ungraded and not countable.is_bonus)
),

with_percent as (
    select
        counted.*,
        case when points_possible > 0 then counted_points / points_possible end as item_ratio
    from counted
),

-- B.3 drops: the N lowest percentages of a category's non-bonus items, then the M highest left
lowest_ordered as (
    select
        with_percent.*,
        case
            when group_id is not null and not is_bonus and drop_lowest > 0 then
                row_number() over (
                    partition by enrollment_key, score_variant, group_id, is_bonus
                    order by item_ratio, item_id
                )
        end as lowest_order
    from with_percent
),

after_lowest as (
    select
        lowest_ordered.*,
        coalesce(lowest_order <= drop_lowest, false) as is_dropped_lowest
    from lowest_ordered
),

highest_ordered as (
    select
        after_lowest.*,
        case
            when group_id is not null and not is_bonus and drop_highest > 0 and not is_dropped_lowest then
                row_number() over (
                    partition by enrollment_key, score_variant, group_id, is_bonus, is_dropped_lowest
                    order by item_ratio desc, item_id
                )
        end as highest_order
    from after_lowest
),

kept as (
    select
        highest_ordered.*,
        is_dropped_lowest or coalesce(highest_order <= drop_highest, false) as is_dropped
    from highest_ordered
),

-- per category (or per uncategorized item): what it earns and what it is out of
categories as (
    select
        enrollment_key,
        course_id,
        student_id,
        score_variant,
        group_id,
        max(group_weight) as group_weight,
        max(case when can_exceed_group_max then 1 else 0 end) = 1 as can_exceed_group_max,
        -- Points
        sum(case when not is_bonus and not is_dropped then counted_points else 0 end) as regular_points,
        sum(case when not is_bonus and not is_dropped then points_possible else 0 end) as regular_possible,
        sum(case when is_bonus then counted_points else 0 end) as bonus_points,
        sum(case when not is_bonus and not is_dropped then 1 else 0 end) as regular_count,
        -- Weighted: items weighted inside the category (bonus in the numerator only)
        sum(case when not is_dropped then item_weight * item_ratio else 0 end) as weighted_ratio_sum,
        sum(case when not is_bonus and not is_dropped then item_weight else 0 end) as inner_weight_sum,
        sum(case when is_dropped then 1 else 0 end) as dropped_count
    from kept
    where group_id is not null
    group by enrollment_key, course_id, student_id, score_variant, group_id
),

points_entries as (
    -- uncategorized items count as they are
    select
        enrollment_key,
        course_id,
        student_id,
        score_variant,
        counted_points as earned,
        case when is_bonus then 0 else points_possible end as possible
    from kept
    where group_id is null
    union all
    -- a category counts when it has a regular item; capped at its points unless it may exceed
    select
        enrollment_key,
        course_id,
        student_id,
        score_variant,
        case
            when can_exceed_group_max then regular_points + bonus_points
            else least(regular_points + bonus_points, regular_possible)
        end as earned,
        regular_possible as possible
    from categories
    where regular_count > 0
),

points_totals as (
    select
        enrollment_key,
        course_id,
        student_id,
        score_variant,
        sum(earned) as points_earned,
        sum(possible) as points_possible
    from points_entries
    group by enrollment_key, course_id, student_id, score_variant
),

weighted_entries as (
    -- uncategorized items: their own weight; a bonus item adds to the numerator only
    select
        enrollment_key,
        course_id,
        student_id,
        score_variant,
        case when is_bonus then 0 else item_weight * item_ratio end as numerator,
        case when is_bonus then 0 else item_weight end as denominator,
        case when is_bonus then item_weight * item_ratio else 0 end as bonus_numerator
    from kept
    where group_id is null
      and (is_bonus or item_weight > 0)
    union all
    -- categories with weight and something counted; capped at 100 % unless they may exceed
    select
        enrollment_key,
        course_id,
        student_id,
        score_variant,
        group_weight * (
            case
                when can_exceed_group_max then weighted_ratio_sum / inner_weight_sum
                else least(weighted_ratio_sum / inner_weight_sum, 1)
            end
        ) as numerator,
        group_weight as denominator,
        0 as bonus_numerator
    from categories
    where group_weight > 0
      and inner_weight_sum > 0
),

weighted_totals as (
    select
        enrollment_key,
        course_id,
        student_id,
        score_variant,
        sum(numerator) as numerator,
        sum(denominator) as denominator,
        sum(bonus_numerator) as bonus_numerator
    from weighted_entries
    group by enrollment_key, course_id, student_id, score_variant
),

dropped_counts as (
    select
        enrollment_key,
        score_variant,
        count(*) as counted_item_count,
        sum(case when is_dropped then 1 else 0 end) as dropped_item_count
    from kept
    group by enrollment_key, score_variant
),

enrollment_variants as (
    select distinct
        gradebook.enrollment_key,
        gradebook.course_id,
        gradebook.student_id,
        variants.score_variant
    from gradebook
    cross join variants
),

scored as (
    select
        enrollment_variants.enrollment_key,
        enrollment_variants.course_id,
        enrollment_variants.student_id,
        enrollment_variants.score_variant,
        coalesce(dropped_counts.counted_item_count, 0) as counted_item_count,
        coalesce(dropped_counts.dropped_item_count, 0) as dropped_item_count,
        points_totals.points_earned,
        points_totals.points_possible,
        case
            when courses.grading_system = 'points' then
                case
                    when points_totals.points_possible > 0 then
                        least(points_totals.points_earned, points_totals.points_possible)
                        * 100 / points_totals.points_possible
                end
            when courses.grading_system = 'weighted' then
                case
                    when weighted_totals.denominator > 0 then
                        least(
                            (weighted_totals.numerator + weighted_totals.bonus_numerator) / weighted_totals.denominator,
                            1
                        ) * 100
                end
        end as unrounded_score
    from enrollment_variants
    inner join courses
        on enrollment_variants.course_id = courses.course_id
    left join dropped_counts
        on enrollment_variants.enrollment_key = dropped_counts.enrollment_key
        and enrollment_variants.score_variant = dropped_counts.score_variant
    left join points_totals
        on enrollment_variants.enrollment_key = points_totals.enrollment_key
        and enrollment_variants.score_variant = points_totals.score_variant
    left join weighted_totals
        on enrollment_variants.enrollment_key = weighted_totals.enrollment_key
        and enrollment_variants.score_variant = weighted_totals.score_variant
),

rounded as (
    select
        scored.*,
        -- Brightspace displays grades rounded half to even (B.6)
        {{ round_half_even('unrounded_score', 2) }} as score
    from scored
)

select * from rounded
