-- One row per student enrollment: current and final course score computed from the gradebook,
-- side by side with the score the LMS itself reports. Canvas's Final Grade Override, where an
-- instructor set one, is the posted final grade (posted_final_score / posted_final_grade), beside
-- the computed one; without an override the posted grade is Canvas's current score.
--   current: ungraded work left out; final: ungraded work counts as 0.
--   Canvas: the posted scores (students' view) and the unposted ones (hidden grades counted).
--   Brightspace: the Final Calculated Grade under "drop ungraded" (current) and "treat as 0"
--   (final); IsNullGradeZero says which one the course shows, so only that one has an LMS value.
with enrollments as (
    select * from {{ ref('int_enrollments_unioned') }}
    where role = 'student'
),

courses as (
    select * from {{ ref('int_courses_unioned') }}
),

canvas_scores as (
    select * from {{ ref('int_canvas_course_scores_calculated') }}
),

brightspace_scores as (
    select * from {{ ref('int_brightspace_final_grades_calculated') }}
),

gradebook as (
    select * from {{ ref('int_gradebook_unioned') }}
),

-- Brightspace: a value record without points is "blank" or "exempt"; only the Data Hub's Grade
-- Results tell which, and under "treat ungraded as 0" the difference changes the final grade
unknown_exemptions as (
    select distinct enrollment_key
    from gradebook
    where submission_state = 'blank'
      and not is_exemption_known
),

canvas_overrides as (
    select
        {{ text_key("'canvas'", 'course_id', 'user_id') }} as enrollment_key,
        max(override_score) as override_score,
        max(override_grade) as override_grade,
        max(reported_current_points) as lms_current_points
    from {{ canvas_staging('enrollments') }}
    where role = 'student'
    group by course_id, user_id
),

brightspace_reported as (
    select * from {{ ref('stg_brightspace__final_grades') }}
),

scores as (
    select enrollment_key, score_variant, score, unrounded_score, points_earned, points_possible,
           counted_item_count, dropped_item_count
    from canvas_scores
    union all
    select enrollment_key, score_variant, score, unrounded_score, points_earned, points_possible,
           counted_item_count, dropped_item_count
    from brightspace_scores
),

pivoted as (
    select
        enrollment_key,
        max(case when score_variant = 'current' then score end) as current_score,
        max(case when score_variant = 'final' then score end) as final_score,
        max(case when score_variant = 'unposted_current' then score end) as unposted_current_score,
        max(case when score_variant = 'unposted_final' then score end) as unposted_final_score,
        max(case when score_variant = 'current' then unrounded_score end) as unrounded_current_score,
        max(case when score_variant = 'final' then unrounded_score end) as unrounded_final_score,
        max(case when score_variant = 'current' then points_earned end) as current_points_earned,
        max(case when score_variant = 'current' then points_possible end) as current_points_possible,
        max(case when score_variant = 'final' then points_earned end) as final_points_earned,
        max(case when score_variant = 'final' then points_possible end) as final_points_possible,
        max(case when score_variant = 'current' then counted_item_count end) as current_item_count,
        max(case when score_variant = 'final' then counted_item_count end) as final_item_count,
        max(case when score_variant = 'final' then dropped_item_count end) as final_dropped_item_count
    from scores
    group by enrollment_key
),

brightspace_lms as (
    select
        {{ text_key("'brightspace'", 'course_id', 'student_id') }} as enrollment_key,
        displayed_grade,
        case
            when not has_grade then null
            when points_denominator > 0 then points_numerator * 100 / points_denominator
            when weighted_denominator > 0 then weighted_numerator * 100 / weighted_denominator
        end as reported_score
    from brightspace_reported
),

joined as (
    select
        enrollments.enrollment_key,
        enrollments.course_key,
        enrollments.lms,
        enrollments.course_id,
        enrollments.sis_course_id,
        enrollments.person_id as student_id,
        enrollments.sis_user_id as sis_student_id,
        enrollments.user_name as student_name,
        enrollments.enrollment_state,
        enrollments.is_concluded,
        courses.grading_system,
        courses.is_ungraded_zero,
        pivoted.current_score,
        pivoted.final_score,
        pivoted.unposted_current_score,
        pivoted.unposted_final_score,
        pivoted.unrounded_current_score,
        pivoted.unrounded_final_score,
        pivoted.current_points_earned,
        pivoted.current_points_possible,
        pivoted.final_points_earned,
        pivoted.final_points_possible,
        coalesce(pivoted.current_item_count, 0) as current_item_count,
        coalesce(pivoted.final_item_count, 0) as final_item_count,
        coalesce(pivoted.final_dropped_item_count, 0) as final_dropped_item_count,
        case
            when enrollments.lms = 'canvas' then enrollments.reported_current_score
            when not courses.is_ungraded_zero then brightspace_lms.reported_score
        end as lms_current_score,
        case
            when enrollments.lms = 'canvas' then enrollments.reported_final_score
            when courses.is_ungraded_zero then brightspace_lms.reported_score
        end as lms_final_score,
        enrollments.reported_unposted_current_score as lms_unposted_current_score,
        enrollments.reported_unposted_final_score as lms_unposted_final_score,
        brightspace_lms.displayed_grade as lms_displayed_grade,
        canvas_overrides.lms_current_points,
        canvas_overrides.override_score,
        canvas_overrides.override_grade,
        canvas_overrides.override_score is not null as has_override,
        case
            when canvas_overrides.override_score is not null then canvas_overrides.override_score
            when enrollments.lms = 'canvas' then enrollments.reported_current_score
        end as posted_final_score,
        canvas_overrides.override_grade as posted_final_grade,
        unknown_exemptions.enrollment_key is not null as has_unknown_exemptions,
        -- whether the LMS reported a course score object at all (a Canvas enrollment without
        -- `grades`, a Brightspace student without a final grade row): only then is it compared
        case
            when enrollments.lms = 'canvas' then coalesce(
                enrollments.reported_current_score,
                enrollments.reported_final_score,
                enrollments.reported_unposted_current_score,
                enrollments.reported_unposted_final_score
            ) is not null
            else brightspace_lms.enrollment_key is not null
        end as has_lms_score
    from enrollments
    left join courses
        on enrollments.course_key = courses.course_key
    left join pivoted
        on enrollments.enrollment_key = pivoted.enrollment_key
    left join brightspace_lms
        on enrollments.enrollment_key = brightspace_lms.enrollment_key
    left join unknown_exemptions
        on enrollments.enrollment_key = unknown_exemptions.enrollment_key
    left join canvas_overrides
        on enrollments.enrollment_key = canvas_overrides.enrollment_key
)

select * from joined
