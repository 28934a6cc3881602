with source as (
    select * from {{ lms_source('brightspace', 'attendance_sessions', {
        'attendance_session_id': 'bigint',
        'attendance_register_id': 'bigint',
        'name': 'text',
        'description': 'text',
        'sort_order': 'bigint',
    }) }} as attendance_sessions
),

renamed as (
    select
        attendance_session_id as session_id,
        attendance_register_id as register_id,
        name as session_name,
        sort_order as session_number,
        -- the data set has no date column; registers conventionally name the meeting date
        coalesce({{ date_in_text('name') }}, {{ date_in_text('description') }}) as named_session_date
    from source
)

select * from renamed
