-- One row per enrollment x course score the LMS reports: our calculation beside the LMS's value.
-- Canvas scores are compared as stored (rounded to 2 dp); Brightspace's at the precision it
-- reports (PointsNumerator / PointsDenominator, unrounded). Enrollments without an LMS value
-- are left out (they stay in course_grades). A Brightspace "treat as 0" grade that depends on
-- whether a blank value is exempt is not compared while Grade Results are not loaded.
with course_grades as (
    select * from {{ ref('course_grades') }}
    where has_lms_score
),

canvas as (
    select enrollment_key, lms, course_id, student_id, true as is_compared, 'current' as score_variant,
           current_score as calculated_score, lms_current_score as lms_score
    from course_grades where lms = 'canvas'
    union all
    select enrollment_key, lms, course_id, student_id, true as is_compared, 'final' as score_variant,
           final_score as calculated_score, lms_final_score as lms_score
    from course_grades where lms = 'canvas'
    union all
    select enrollment_key, lms, course_id, student_id, true as is_compared, 'unposted_current' as score_variant,
           unposted_current_score as calculated_score, lms_unposted_current_score as lms_score
    from course_grades where lms = 'canvas'
    union all
    select enrollment_key, lms, course_id, student_id, true as is_compared, 'unposted_final' as score_variant,
           unposted_final_score as calculated_score, lms_unposted_final_score as lms_score
    from course_grades where lms = 'canvas'
),

brightspace as (
    select enrollment_key, lms, course_id, student_id,
           not (is_ungraded_zero and has_unknown_exemptions) as is_compared,
           case when is_ungraded_zero then 'final' else 'current' end as score_variant,
           case when is_ungraded_zero then unrounded_final_score else unrounded_current_score end
               as calculated_score,
           case when is_ungraded_zero then lms_final_score else lms_current_score end as lms_score
    from course_grades
    where lms = 'brightspace'
      and grading_system in ('points', 'weighted')
),

unioned as (
    select * from canvas
    union all
    select * from brightspace
),

compared as (
    select
        enrollment_key || '-' || score_variant as agreement_key,
        unioned.*,
        abs(calculated_score - lms_score) as score_difference,
        case
            when calculated_score is null and lms_score is null then true
            when calculated_score is null or lms_score is null then false
            else abs(calculated_score - lms_score) <= {{ var('grade_agreement_tolerance') }} + 1e-9
        end as is_in_agreement
    from unioned
)

select * from compared
