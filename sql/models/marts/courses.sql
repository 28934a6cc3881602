-- One row per course offering of either LMS.
with courses as (
    select * from {{ ref('int_courses_unioned') }}
)

select * from courses
