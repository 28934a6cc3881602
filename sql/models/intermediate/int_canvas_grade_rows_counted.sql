-- What Canvas's grade calculator counts of each gradebook row, in each of the four stored scores
-- (docs/grade-calculation.md A.1-A.3): posted or unposted, current (ungraded left out) or final
-- (ungraded as 0). Rows the calculator leaves out are not emitted.
-- Each row counts in the course score (score_variant 'current', ...) and, when its submission
-- belongs to a grading period, also in that period's score ('current@<grading_period_id>'): a
-- period's score uses only its own assignments (A.2 6, A.7). The '@' suffix keeps the period a
-- separate partition through the drop rules without another key column.
with gradebook as (
    select * from {{ ref('int_gradebook_unioned') }}
    where lms = 'canvas'
),

submission_periods as (
    select course_id, assignment_id, student_id, grading_period_id
    from {{ canvas_staging('submissions') }}
    where grading_period_id is not null
),

enrollments as (
    select * from {{ ref('int_enrollments_unioned') }}
    where lms = 'canvas' and role = 'student'
),

variants as (
    select 'current' as score_variant, true as is_posted_only, false as includes_ungraded
    union all
    select 'final' as score_variant, true as is_posted_only, true as includes_ungraded
    union all
    select 'unposted_current' as score_variant, false as is_posted_only, false as includes_ungraded
    union all
    select 'unposted_final' as score_variant, false as is_posted_only, true as includes_ungraded
),

-- A.2: published, gradeable assignments of an active group, not omitted from the final grade
countable as (
    select
        gradebook.*,
        coalesce(enrollments.is_concluded, false) as is_concluded,
        submission_periods.grading_period_id
    from gradebook
    left join enrollments
        on gradebook.enrollment_key = enrollments.enrollment_key
    left join submission_periods
        on gradebook.course_id = submission_periods.course_id
        and gradebook.item_id = submission_periods.assignment_id
        and gradebook.student_id = submission_periods.student_id
    where gradebook.is_item_published
      and gradebook.is_gradeable
      and gradebook.is_in_active_group
      and not gradebook.is_omitted_from_final_grade
),

classified as (
    select
        countable.enrollment_key,
        countable.course_id,
        countable.student_id,
        countable.group_id,
        countable.item_id,
        countable.is_never_drop,
        countable.drop_lowest,
        countable.drop_highest,
        countable.group_weight,
        countable.points_possible,
        countable.score,
        countable.is_excused,
        countable.is_concluded,
        countable.grading_period_id,
        variants.score_variant,
        variants.includes_ungraded,
        -- A.3 a: hidden grades are absent in the posted scores; b: so is work pending review in current
        (
            (variants.is_posted_only and countable.posted_at is null)
            or (not variants.includes_ungraded and countable.is_pending_review)
        ) as is_absent
    from countable
    cross join variants
),

counted as (
    select
        enrollment_key,
        course_id,
        student_id,
        group_id,
        item_id,
        is_never_drop,
        drop_lowest,
        drop_highest,
        group_weight,
        points_possible,
        grading_period_id,
        score_variant,
        case
            when is_absent then cast(0 as decimal(28, 8))          -- A.3 g
            when score is null then cast(0 as decimal(28, 8))      -- A.3 g
            else score
        end as counted_score
    from classified
    where not (is_absent and (is_concluded or not includes_ungraded))   -- A.3 c, d
      and not (not is_absent and is_excused)                             -- A.3 e
      and not (not is_absent and score is null and not includes_ungraded) -- A.3 d
),

scoped as (
    select
        enrollment_key, course_id, student_id, group_id, item_id, is_never_drop, drop_lowest,
        drop_highest, group_weight, points_possible, score_variant, counted_score
    from counted
    union all
    select
        enrollment_key, course_id, student_id, group_id, item_id, is_never_drop, drop_lowest,
        drop_highest, group_weight, points_possible,
        score_variant || '@' || cast(grading_period_id as text) as score_variant,
        counted_score
    from counted
    where grading_period_id is not null
)

select * from scoped
