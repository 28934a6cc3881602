with source as (
    select * from {{ lms_source('brightspace', 'classlists', {
        'org_unit_id': 'bigint',
        'user_id': 'bigint',
        'org_defined_id': 'text',
        'role_id': 'bigint',
        'last_accessed': 'timestamptz',
    }) }} as classlists
),

renamed as (
    select
        org_unit_id as course_id,
        user_id,
        org_defined_id,
        role_id,
        last_accessed as last_accessed_at
    from source
)

select * from renamed
