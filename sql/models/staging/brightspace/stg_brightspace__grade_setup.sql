with source as (
    select * from {{ lms_source('brightspace', 'grade_setup', {
        'org_unit_id': 'bigint',
        'grading_system': 'text',
        'is_null_grade_zero': 'boolean',
    }) }} as grade_setup
),

renamed as (
    select
        org_unit_id as course_id,
        grading_system,
        -- true: "Treat ungraded items as 0"; false: "Drop ungraded items"
        coalesce(is_null_grade_zero, false) as is_ungraded_zero
    from source
)

select * from renamed
