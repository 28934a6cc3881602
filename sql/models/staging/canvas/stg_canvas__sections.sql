with source as (
    select * from {{ lms_source('canvas', 'sections', {
        'id': 'bigint',
        'course_id': 'bigint',
        'name': 'text',
        'sis_section_id': 'text',
    }) }} as sections
),

renamed as (
    select
        id as section_id,
        course_id,
        sis_section_id,
        name as section_name
    from source
)

select * from renamed
