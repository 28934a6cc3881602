with source as (
    select * from {{ lms_source('brightspace', 'grade_values', {
        'org_unit_id': 'bigint',
        'grade_object_id': 'bigint',
        'user_id': 'bigint',
        'org_defined_id': 'text',
        'points_numerator': 'decimal(28, 8)',
        'points_denominator': 'decimal(28, 8)',
        'weighted_numerator': 'float8',
        'weighted_denominator': 'float8',
        'displayed_grade': 'text',
        'last_modified': 'timestamptz',
        'released_date': 'timestamptz',
        'deleted_in_lms': 'boolean',
    }) }} as grade_values
),

renamed as (
    select
        org_unit_id as course_id,
        grade_object_id,
        user_id as student_id,
        org_defined_id,
        points_numerator,
        points_denominator,
        weighted_numerator,
        weighted_denominator,
        displayed_grade,
        last_modified as last_modified_at,
        released_date as released_at
    from source
    where not coalesce(deleted_in_lms, false)
)

select * from renamed
