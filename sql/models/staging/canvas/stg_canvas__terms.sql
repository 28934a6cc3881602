with source as (
    select * from {{ lms_source('canvas', 'terms', {
        'id': 'bigint',
        'name': 'text',
        'sis_term_id': 'text',
        'start_at': 'timestamptz',
        'end_at': 'timestamptz',
    }) }} as terms
),

renamed as (
    select
        id as term_id,
        sis_term_id,
        name as term_name,
        start_at as term_start_at,
        end_at as term_end_at
    from source
)

select * from renamed
