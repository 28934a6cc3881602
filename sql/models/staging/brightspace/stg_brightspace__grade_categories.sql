with source as (
    select * from {{ lms_source('brightspace', 'grade_categories', {
        'org_unit_id': 'bigint',
        'category_id': 'bigint',
        'name': 'text',
        'weight': 'decimal(28, 8)',
        'max_points': 'decimal(28, 8)',
        'weight_distribution_type': 'bigint',
        'number_of_lowest_to_drop': 'bigint',
        'number_of_highest_to_drop': 'bigint',
        'can_exceed_max': 'boolean',
        'exclude_from_final_grade': 'boolean',
    }) }} as grade_categories
),

renamed as (
    select
        org_unit_id as course_id,
        category_id,
        name as category_name,
        coalesce(weight, 0) as category_weight,
        max_points as category_max_points,
        -- WeightDistributionType codes (docs/grade-calculation.md B.1): 0 manual, 1 even, 2 by points
        case weight_distribution_type
            when 0 then 'manual'
            when 1 then 'even'
            when 2 then 'points'
            else 'manual'
        end as weight_distribution,
        coalesce(number_of_lowest_to_drop, 0) as drop_lowest,
        coalesce(number_of_highest_to_drop, 0) as drop_highest,
        coalesce(can_exceed_max, false) as can_exceed_max,
        coalesce(exclude_from_final_grade, false) as is_excluded_from_final_grade
    from source
)

select * from renamed
