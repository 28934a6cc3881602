with source as (
    select * from {{ lms_source('brightspace', 'attendance_registers', {
        'attendance_register_id': 'bigint',
        'org_unit_id': 'bigint',
        'name': 'text',
        'scheme_id': 'bigint',
        'is_visible': 'boolean',
        'include_all_users': 'boolean',
        'cause_for_concern': 'float8',
    }) }} as attendance_registers
),

renamed as (
    select
        attendance_register_id as register_id,
        org_unit_id as course_id,
        name as register_name,
        scheme_id,
        coalesce(is_visible, true) as is_visible,
        coalesce(include_all_users, true) as includes_all_users,
        cause_for_concern as concern_threshold_percent
    from source
)

select * from renamed
