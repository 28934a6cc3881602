with source as (
    select * from {{ lms_source('brightspace', 'grade_objects', {
        'org_unit_id': 'bigint',
        'grade_object_id': 'bigint',
        'name': 'text',
        'grade_type': 'text',
        'category_id': 'bigint',
        'max_points': 'decimal(28, 8)',
        'weight': 'decimal(28, 8)',
        'is_bonus': 'boolean',
        'is_hidden': 'boolean',
        'exclude_from_final_grade_calculation': 'boolean',
        'can_exceed_max_points': 'boolean',
    }) }} as grade_objects
),

renamed as (
    select
        org_unit_id as course_id,
        grade_object_id,
        name as grade_object_name,
        grade_type,
        -- only these types feed the final grade (docs/grade-calculation.md B.1)
        coalesce(grade_type in ('Numeric', 'PassFail', 'SelectBox'), false) as is_computable,
        nullif(category_id, 0) as category_id,
        coalesce(max_points, 0) as max_points,
        coalesce(weight, 0) as weight,
        coalesce(is_bonus, false) as is_bonus,
        coalesce(is_hidden, false) as is_hidden,
        coalesce(exclude_from_final_grade_calculation, false) as is_excluded_from_final_grade,
        coalesce(can_exceed_max_points, false) as can_exceed_max_points
    from source
)

select * from renamed
