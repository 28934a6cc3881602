-- Which grading period set applies to which enrollment term (the term's grading_period_group_id).
with terms as (
    select * from {{ lms_source('canvas', 'terms', {
        'id': 'bigint',
        'grading_period_group_id': 'bigint',
    }) }} as terms
)

select
    id as term_id,
    grading_period_group_id as grading_period_set_id
from terms
where grading_period_group_id is not null
