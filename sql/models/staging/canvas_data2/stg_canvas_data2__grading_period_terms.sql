-- Which grading period group applies to which enrollment term (as stg_canvas__grading_period_terms).
with terms as (
    select * from {{ lms_source('canvas_data2', 'enrollment_terms', {
        'id': 'bigint',
        'grading_period_group_id': 'bigint',
    }) }} as terms
)

select
    id as term_id,
    grading_period_group_id as grading_period_set_id
from terms
where grading_period_group_id is not null
