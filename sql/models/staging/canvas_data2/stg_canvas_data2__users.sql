-- Canvas Data 2 users with their login's SIS id, shaped as stg_canvas__users.
with source as (
    select * from {{ lms_source('canvas_data2', 'users', {
        'id': 'bigint',
        'name': 'text',
        'sortable_name': 'text',
    }) }} as users
),

logins as (
    select * from {{ ref('stg_canvas_data2__logins') }}
),

renamed as (
    select
        source.id as user_id,
        logins.sis_user_id,
        logins.login_id,
        source.name as user_name,
        source.sortable_name
    from source
    left join logins on logins.user_id = source.id
)

select * from renamed
