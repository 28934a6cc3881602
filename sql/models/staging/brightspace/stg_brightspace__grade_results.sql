-- Data Hub "Grade Results": the only loaded place that says a value is exempt (IsExempt).
with source as (
    select * from {{ lms_source('brightspace', 'grade_results', {
        'org_unit_id': 'bigint',
        'grade_object_id': 'bigint',
        'user_id': 'bigint',
        'is_exempt': 'boolean',
        'is_dropped': 'boolean',
        'is_released': 'boolean',
    }) }} as grade_results
),

renamed as (
    select
        org_unit_id as course_id,
        grade_object_id,
        user_id as student_id,
        coalesce(is_exempt, false) as is_exempt,
        coalesce(is_dropped, false) as is_dropped,
        is_released
    from source
)

select * from renamed
