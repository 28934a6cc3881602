with source as (
    select * from {{ lms_source('canvas', 'users', {
        'id': 'bigint',
        'sis_user_id': 'text',
        'login_id': 'text',
        'name': 'text',
        'sortable_name': 'text',
    }) }} as users
),

renamed as (
    select
        id as user_id,
        sis_user_id,
        login_id,
        name as user_name,
        sortable_name
    from source
)

select * from renamed
