-- Canvas Data 2 enrollment_terms, shaped as stg_canvas__terms.
with source as (
    select * from {{ lms_source('canvas_data2', 'enrollment_terms', {
        'id': 'bigint',
        'name': 'text',
        'sis_source_id': 'text',
        'start_at': 'timestamptz',
        'end_at': 'timestamptz',
    }) }} as terms
),

renamed as (
    select
        id as term_id,
        sis_source_id as sis_term_id,
        name as term_name,
        start_at as term_start_at,
        end_at as term_end_at
    from source
)

select * from renamed
