-- One row per course offering of either LMS, with its SIS key and how its grade is computed.
with canvas_courses as (
    select * from {{ canvas_staging('courses') }}
),

canvas_terms as (
    select * from {{ canvas_staging('terms') }}
),

brightspace_courses as (
    select * from {{ ref('stg_brightspace__courses') }}
),

brightspace_grade_setup as (
    select * from {{ ref('stg_brightspace__grade_setup') }}
),

canvas as (
    select
        'canvas' as lms,
        canvas_courses.course_id,
        canvas_courses.sis_course_id,
        canvas_courses.course_code,
        canvas_courses.course_name,
        canvas_courses.term_id,
        canvas_terms.sis_term_id,
        canvas_terms.term_name,
        canvas_courses.course_state,
        canvas_courses.course_start_at,
        canvas_courses.course_end_at,
        case when canvas_courses.is_weighted_by_group then 'weighted' else 'points' end as grading_system,
        cast(null as boolean) as is_ungraded_zero
    from canvas_courses
    left join canvas_terms
        on canvas_courses.term_id = canvas_terms.term_id
),

brightspace as (
    select
        'brightspace' as lms,
        brightspace_courses.course_id,
        brightspace_courses.course_code as sis_course_id,
        brightspace_courses.course_code,
        brightspace_courses.course_name,
        brightspace_courses.term_id,
        brightspace_courses.sis_term_id,
        brightspace_courses.term_name,
        case when brightspace_courses.is_active then 'available' else 'inactive' end as course_state,
        brightspace_courses.course_start_at,
        brightspace_courses.course_end_at,
        lower(brightspace_grade_setup.grading_system) as grading_system,
        brightspace_grade_setup.is_ungraded_zero
    from brightspace_courses
    left join brightspace_grade_setup
        on brightspace_courses.course_id = brightspace_grade_setup.course_id
),

unioned as (
    select * from canvas
    union all
    select * from brightspace
),

keyed as (
    select
        {{ text_key('lms', 'course_id') }} as course_key,
        *
    from unioned
)

select * from keyed
