with source as (
    select * from {{ lms_source('brightspace', 'users', {
        'user_id': 'bigint',
        'org_defined_id': 'text',
        'user_name': 'text',
        'display_name': 'text',
        'first_name': 'text',
        'last_name': 'text',
        'is_active': 'boolean',
        'last_accessed_date': 'timestamptz',
    }) }} as users
),

renamed as (
    select
        user_id,
        org_defined_id,
        user_name as login_id,
        coalesce(display_name, first_name || ' ' || last_name) as user_name,
        coalesce(is_active, true) as is_active,
        last_accessed_date as last_accessed_at
    from source
)

select * from renamed
