with source as (
    select * from {{ lms_source('brightspace', 'attendance_user_sessions', {
        'user_id': 'bigint',
        'attendance_session_id': 'bigint',
        'scheme_symbol_id': 'bigint',
        'last_modified': 'timestamptz',
        'last_modified_by': 'bigint',
    }) }} as attendance_user_sessions
),

renamed as (
    select
        user_id as student_id,
        attendance_session_id as session_id,
        scheme_symbol_id as symbol_id,
        last_modified as marked_at,
        last_modified_by as marked_by_id
    from source
)

select * from renamed
