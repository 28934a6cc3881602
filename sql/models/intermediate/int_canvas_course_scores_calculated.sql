-- Canvas's four course scores per student enrollment (docs/grade-calculation.md A.5-A.7).
-- Without grading periods, or with a set that is not weighted, the course score uses every
-- assignment. With a weighted set it is built from the stored, already rounded period scores
-- (Canvas `calculate_total_from_weighted_grading_periods`, A.7):
--   current = sum over periods with a score of score x weight/100, over the weight of those periods
--   final   = sum over all periods of (score or 0) x weight/100, over the weight of all periods
--   (scaled up to 100 only when the weights add up to less; null current when no period has one).
with scopes as (
    select * from {{ ref('int_canvas_scope_scores_calculated') }}
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

weighted_periods as (
    select
        courses.course_id,
        periods.grading_period_id,
        coalesce(periods.grading_period_weight, 0) as grading_period_weight
    from courses
    inner join set_terms
        on courses.term_id = set_terms.term_id
    inner join periods
        on set_terms.grading_period_set_id = periods.grading_period_set_id
    where periods.is_weighted_set
),

weighted_courses as (
    select distinct course_id from weighted_periods
),

course_rows as (
    select * from scopes
    where grading_period_id is null
),

period_rows as (
    select * from scopes
    where grading_period_id is not null
),

-- every period of the set for every enrollment and variant the course scope has
combined as (
    select
        course_rows.enrollment_key,
        course_rows.course_id,
        course_rows.student_id,
        course_rows.score_variant,
        course_rows.counted_item_count,
        course_rows.dropped_item_count,
        sum(
            case when period_rows.score is not null
                then period_rows.score * weighted_periods.grading_period_weight / 100 end
        ) as current_sum,
        sum(
            case when period_rows.score is not null then weighted_periods.grading_period_weight end
        ) as current_weight,
        sum(coalesce(period_rows.score, 0) * weighted_periods.grading_period_weight / 100) as final_sum,
        sum(weighted_periods.grading_period_weight) as final_weight
    from course_rows
    inner join weighted_periods
        on course_rows.course_id = weighted_periods.course_id
    left join period_rows
        on course_rows.enrollment_key = period_rows.enrollment_key
        and course_rows.score_variant = period_rows.base_variant
        and weighted_periods.grading_period_id = period_rows.grading_period_id
    group by
        course_rows.enrollment_key, course_rows.course_id, course_rows.student_id,
        course_rows.score_variant, course_rows.counted_item_count, course_rows.dropped_item_count
),

from_periods as (
    select
        enrollment_key,
        course_id,
        student_id,
        score_variant,
        counted_item_count,
        dropped_item_count,
        cast(null as decimal(28, 8)) as points_earned,
        cast(null as decimal(28, 8)) as points_possible,
        case
            when score_variant in ('current', 'unposted_current') then
                case
                    when current_weight is null then null
                    when current_weight < 100 then current_sum * 100 / current_weight
                    else current_sum
                end
            else
                case
                    when coalesce(final_weight, 0) = 0 then 0
                    when final_weight < 100 then final_sum * 100 / final_weight
                    else final_sum
                end
        end as unrounded_score
    from combined
),

unioned as (
    select
        enrollment_key, course_id, student_id, score_variant, counted_item_count, dropped_item_count,
        points_earned, points_possible, unrounded_score, score
    from course_rows
    where course_id not in (select course_id from weighted_courses)
    union all
    select
        enrollment_key, course_id, student_id, score_variant, counted_item_count, dropped_item_count,
        points_earned, points_possible, unrounded_score,
        {{ round_half_up('unrounded_score', 2) }} as score
    from from_periods
)

select * from unioned
