-- The gradebook of both LMSs in one shape: one row per student x gradable item x course.
with canvas as (
    select * from {{ ref('int_canvas_submissions_joined') }}
),

brightspace as (
    select * from {{ ref('int_brightspace_grade_values_joined') }}
),

unioned as (
    select * from canvas
    union all
    select * from brightspace
),

keyed as (
    select
        {{ text_key('lms', 'course_id', 'student_id', 'item_id') }} as gradebook_key,
        {{ text_key('lms', 'course_id', 'student_id') }} as enrollment_key,
        {{ text_key('lms', 'course_id') }} as course_key,
        unioned.*,
        case
            when points_possible > 0 and score is not null then score / points_possible * 100
        end as score_percent
    from unioned
)

select * from keyed
