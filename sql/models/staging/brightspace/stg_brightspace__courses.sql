with source as (
    select * from {{ lms_source('brightspace', 'courses', {
        'org_unit_id': 'bigint',
        'name': 'text',
        'code': 'text',
        'is_active': 'boolean',
        'semester_id': 'bigint',
        'semester_code': 'text',
        'semester_name': 'text',
        'department_code': 'text',
        'start_date': 'timestamptz',
        'end_date': 'timestamptz',
    }) }} as courses
),

renamed as (
    select
        org_unit_id as course_id,
        -- the offering's Code is the SIS key of a Brightspace course
        code as course_code,
        name as course_name,
        coalesce(is_active, true) as is_active,
        semester_id as term_id,
        semester_code as sis_term_id,
        semester_name as term_name,
        department_code,
        start_date as course_start_at,
        end_date as course_end_at
    from source
)

select * from renamed
