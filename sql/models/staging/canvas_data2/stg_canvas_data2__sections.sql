-- Canvas Data 2 course_sections, shaped as stg_canvas__sections.
with source as (
    select * from {{ lms_source('canvas_data2', 'course_sections', {
        'id': 'bigint',
        'course_id': 'bigint',
        'name': 'text',
        'sis_source_id': 'text',
    }) }} as sections
),

renamed as (
    select
        id as section_id,
        course_id,
        sis_source_id as sis_section_id,
        name as section_name
    from source
)

select * from renamed
