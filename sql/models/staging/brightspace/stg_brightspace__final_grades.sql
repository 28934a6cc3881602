with source as (
    select * from {{ lms_source('brightspace', 'final_grades', {
        'org_unit_id': 'bigint',
        'user_id': 'bigint',
        'org_defined_id': 'text',
        'has_grade': 'boolean',
        'points_numerator': 'float8',
        'points_denominator': 'float8',
        'weighted_numerator': 'float8',
        'weighted_denominator': 'float8',
        'displayed_grade': 'text',
        'last_modified': 'timestamptz',
        'released_date': 'timestamptz',
    }) }} as final_grades
),

renamed as (
    select
        org_unit_id as course_id,
        user_id as student_id,
        org_defined_id,
        coalesce(has_grade, points_numerator is not null) as has_grade,
        points_numerator,
        points_denominator,
        weighted_numerator,
        weighted_denominator,
        displayed_grade,
        last_modified as last_modified_at,
        released_date as released_at
    from source
)

select * from renamed
