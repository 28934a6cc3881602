-- The SIS roster loaded into the canvas dataset: what the SIS says canvas should hold.
with source as (
    select * from {{ lms_source('canvas', 'sis_roster', {
        'course_id': 'text',
        'user_id': 'text',
        'role': 'text',
        'section_id': 'text',
        'status': 'text',
        'source_file': 'text',
        'source_line': 'bigint',
    }) }} as sis_roster
),

renamed as (
    select
        'canvas' as lms,
        course_id as sis_course_id,
        user_id as sis_user_id,
        lower(role) as roster_role,
        section_id as sis_section_id,
        case lower(status)
            when 'deleted_last_completed' then 'deleted'
            else lower(status)
        end as roster_status,
        source_file,
        source_line
    from source
)

select * from renamed
