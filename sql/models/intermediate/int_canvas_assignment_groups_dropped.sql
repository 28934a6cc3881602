-- Each assignment group's kept score and points possible per student and score variant, after the
-- group's drop rules (docs/grade-calculation.md A.4).
--
-- Canvas keeps the subset with the best overall ratio (Kane & Kane), not the lowest percentages.
-- The subsets are enumerated: the drop sets of size L (drop_lowest) by a recursive CTE, the one
-- leaving the highest ratio wins; then the drop sets of size H (drop_highest) among the rest, the
-- one leaving the lowest ratio wins. Ratios are compared exactly (cross-multiplied decimals). Ties
-- keep the lexicographically first kept subset by assignment id (the JS rule), i.e. the drop set
-- with the smallest mask when the lowest id carries the highest bit. n per group is small in
-- practice; the enumeration is C(n, L) + C(n - L, H) subsets per student, group and variant.
with recursive counted as (
    select * from {{ ref('int_canvas_grade_rows_counted') }}
),

partitioned as (
    select
        counted.*,
        enrollment_key || '|' || score_variant || '|' || cast(group_id as text) as partition_key,
        (drop_lowest > 0 or drop_highest > 0) as has_drop_rules
    from counted
),

-- groups without drop rules keep every row
undropped_groups as (
    select
        enrollment_key,
        course_id,
        student_id,
        score_variant,
        group_id,
        max(group_weight) as group_weight,
        sum(counted_score) as group_score,
        sum(points_possible) as group_possible,
        count(*) as kept_item_count,
        0 as dropped_item_count
    from partitioned
    where not has_drop_rules
    group by enrollment_key, course_id, student_id, score_variant, group_id
),

ruled as (
    select * from partitioned
    where has_drop_rules
),

-- D: the droppable rows ranked by assignment id; bit = 2^(n - rank) so lower ids weigh more
droppable as (
    select
        partition_key,
        item_id,
        counted_score,
        points_possible,
        row_number() over (partition by partition_key order by item_id) as item_rank,
        count(*) over (partition by partition_key) as droppable_count
    from ruled
    where not is_never_drop
),

droppable_bits as (
    select
        droppable.*,
        {{ power_of_two('droppable_count - item_rank') }} as item_bit
    from droppable
),

plans as (
    select
        partition_key,
        max(enrollment_key) as enrollment_key,
        max(course_id) as course_id,
        max(student_id) as student_id,
        max(score_variant) as score_variant,
        max(group_id) as group_id,
        max(group_weight) as group_weight,
        max(drop_lowest) as drop_lowest,
        max(drop_highest) as drop_highest,
        sum(case when not is_never_drop then 1 else 0 end) as droppable_count,
        cast(sum(case when is_never_drop then counted_score else 0 end) as decimal(38, 8)) as fixed_score,
        cast(sum(case when is_never_drop then points_possible else 0 end) as decimal(38, 8)) as fixed_possible,
        cast(sum(case when not is_never_drop then counted_score else 0 end) as decimal(38, 8)) as droppable_score,
        cast(sum(case when not is_never_drop then points_possible else 0 end) as decimal(38, 8)) as droppable_possible,
        max(case when points_possible > 0 then 1 else 0 end) = 1 as has_points
    from ruled
    group by partition_key
),

-- L = min(drop_lowest, n - 1): at least one droppable row survives; H only if rows remain
plan_sizes as (
    select
        plans.*,
        case
            when droppable_count = 0 then 0
            else least(drop_lowest, droppable_count - 1)
        end as lowest_to_drop
    from plans
),

drop_plans as (
    select
        plan_sizes.*,
        case
            when droppable_count = 0 then 0
            when lowest_to_drop + drop_highest >= droppable_count then 0
            else drop_highest
        end as highest_to_drop
    from plan_sizes
),

-- step 1 (drop_lowest): every drop set of size L
lowest_drop_sets (partition_key, last_rank, set_size, drop_mask, drop_ranks, drop_score, drop_possible) as (
    select
        partition_key,
        cast(0 as bigint),
        cast(0 as bigint),
        cast(0 as decimal(38, 0)),
        cast(',' as text),
        cast(0 as decimal(38, 8)),
        cast(0 as decimal(38, 8))
    from drop_plans
    where has_points
    union all
    select
        lowest_drop_sets.partition_key,
        cast(droppable_bits.item_rank as bigint),
        cast(lowest_drop_sets.set_size + 1 as bigint),
        cast(lowest_drop_sets.drop_mask + droppable_bits.item_bit as decimal(38, 0)),
        cast(lowest_drop_sets.drop_ranks || cast(droppable_bits.item_rank as text) || ',' as text),
        cast(lowest_drop_sets.drop_score + droppable_bits.counted_score as decimal(38, 8)),
        cast(lowest_drop_sets.drop_possible + droppable_bits.points_possible as decimal(38, 8))
    from lowest_drop_sets
    inner join drop_plans
        on lowest_drop_sets.partition_key = drop_plans.partition_key
    inner join droppable_bits
        on lowest_drop_sets.partition_key = droppable_bits.partition_key
        and droppable_bits.item_rank > lowest_drop_sets.last_rank
    where lowest_drop_sets.set_size < drop_plans.lowest_to_drop
),

lowest_candidates as (
    select
        lowest_drop_sets.partition_key,
        lowest_drop_sets.drop_mask,
        lowest_drop_sets.drop_ranks,
        drop_plans.fixed_score + drop_plans.droppable_score - lowest_drop_sets.drop_score as kept_score,
        drop_plans.fixed_possible + drop_plans.droppable_possible - lowest_drop_sets.drop_possible as kept_possible
    from lowest_drop_sets
    inner join drop_plans
        on lowest_drop_sets.partition_key = drop_plans.partition_key
    where lowest_drop_sets.set_size = drop_plans.lowest_to_drop
),

lowest_ranked as (
    select
        lowest_candidates.*,
        {{ ratio_sort_key('kept_score', 'kept_possible') }} as ratio_key
    from lowest_candidates
),

-- the drop set leaving the best ratio; ties: the smallest mask (first kept subset by id)
lowest_best as (
    select candidate.*
    from lowest_ranked as candidate
    where not exists (
        select 1
        from lowest_ranked as rival
        where rival.partition_key = candidate.partition_key
          and (
            {{ ratio_compare('rival', 'candidate', '>') }}
            or ({{ ratio_compare('rival', 'candidate', '=') }} and rival.drop_mask < candidate.drop_mask)
          )
    )
),

-- step 2 (drop_highest): every drop set of size H among the rows step 1 kept
highest_drop_sets (partition_key, last_rank, set_size, drop_mask, drop_ranks, drop_score, drop_possible) as (
    select
        lowest_best.partition_key,
        cast(0 as bigint),
        cast(0 as bigint),
        cast(lowest_best.drop_mask as decimal(38, 0)),
        cast(lowest_best.drop_ranks as text),
        cast(0 as decimal(38, 8)),
        cast(0 as decimal(38, 8))
    from lowest_best
    union all
    select
        highest_drop_sets.partition_key,
        cast(droppable_bits.item_rank as bigint),
        cast(highest_drop_sets.set_size + 1 as bigint),
        cast(highest_drop_sets.drop_mask + droppable_bits.item_bit as decimal(38, 0)),
        cast(highest_drop_sets.drop_ranks || cast(droppable_bits.item_rank as text) || ',' as text),
        cast(highest_drop_sets.drop_score + droppable_bits.counted_score as decimal(38, 8)),
        cast(highest_drop_sets.drop_possible + droppable_bits.points_possible as decimal(38, 8))
    from highest_drop_sets
    inner join drop_plans
        on highest_drop_sets.partition_key = drop_plans.partition_key
    inner join droppable_bits
        on highest_drop_sets.partition_key = droppable_bits.partition_key
        and droppable_bits.item_rank > highest_drop_sets.last_rank
    where highest_drop_sets.set_size < drop_plans.highest_to_drop
      and highest_drop_sets.drop_ranks not like ('%,' || cast(droppable_bits.item_rank as text) || ',%')
),

highest_candidates as (
    select
        highest_drop_sets.partition_key,
        highest_drop_sets.drop_mask,
        highest_drop_sets.drop_ranks,
        lowest_best.kept_score - highest_drop_sets.drop_score as kept_score,
        lowest_best.kept_possible - highest_drop_sets.drop_possible as kept_possible
    from highest_drop_sets
    inner join drop_plans
        on highest_drop_sets.partition_key = drop_plans.partition_key
    inner join lowest_best
        on highest_drop_sets.partition_key = lowest_best.partition_key
    where highest_drop_sets.set_size = drop_plans.highest_to_drop
),

highest_ranked as (
    select
        highest_candidates.*,
        {{ ratio_sort_key('kept_score', 'kept_possible') }} as ratio_key
    from highest_candidates
),

-- the drop set leaving the worst ratio; ties: the smallest mask again
highest_best as (
    select candidate.*
    from highest_ranked as candidate
    where not exists (
        select 1
        from highest_ranked as rival
        where rival.partition_key = candidate.partition_key
          and (
            {{ ratio_compare('rival', 'candidate', '<') }}
            or ({{ ratio_compare('rival', 'candidate', '=') }} and rival.drop_mask < candidate.drop_mask)
          )
    )
),

-- every row worth 0 points: sort by score (then id), drop the L lowest, then the H highest left
zero_point_order as (
    select
        droppable_bits.partition_key,
        droppable_bits.item_rank,
        row_number() over (
            partition by droppable_bits.partition_key
            order by droppable_bits.counted_score, droppable_bits.item_rank
        ) as score_order
    from droppable_bits
    inner join drop_plans
        on droppable_bits.partition_key = drop_plans.partition_key
    where not drop_plans.has_points
),

zero_point_drops as (
    select
        zero_point_order.partition_key,
        ',' || string_agg(cast(zero_point_order.item_rank as text), ',') || ',' as drop_ranks
    from zero_point_order
    inner join drop_plans
        on zero_point_order.partition_key = drop_plans.partition_key
    where zero_point_order.score_order <= drop_plans.lowest_to_drop
       or zero_point_order.score_order > drop_plans.droppable_count - drop_plans.highest_to_drop
    group by zero_point_order.partition_key
),

drop_sets as (
    select partition_key, drop_ranks from highest_best
    union all
    select partition_key, drop_ranks from zero_point_drops
),

ruled_ranked as (
    select
        ruled.*,
        droppable_bits.item_rank
    from ruled
    left join droppable_bits
        on ruled.partition_key = droppable_bits.partition_key
        and ruled.item_id = droppable_bits.item_id
),

ruled_kept as (
    select
        ruled_ranked.*,
        (
            ruled_ranked.item_rank is not null
            and coalesce(drop_sets.drop_ranks, ',') like ('%,' || cast(ruled_ranked.item_rank as text) || ',%')
        ) as is_dropped
    from ruled_ranked
    left join drop_sets
        on ruled_ranked.partition_key = drop_sets.partition_key
),

dropped_groups as (
    select
        enrollment_key,
        course_id,
        student_id,
        score_variant,
        group_id,
        max(group_weight) as group_weight,
        sum(case when not is_dropped then counted_score else 0 end) as group_score,
        sum(case when not is_dropped then points_possible else 0 end) as group_possible,
        sum(case when not is_dropped then 1 else 0 end) as kept_item_count,
        sum(case when is_dropped then 1 else 0 end) as dropped_item_count
    from ruled_kept
    group by enrollment_key, course_id, student_id, score_variant, group_id
),

unioned as (
    select * from undropped_groups
    union all
    select * from dropped_groups
)

select * from unioned
