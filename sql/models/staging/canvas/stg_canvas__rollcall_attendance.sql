with source as (
    select * from {{ lms_source('canvas', 'rollcall_attendance', {
        'course_id': 'bigint',
        'section_id': 'bigint',
        'student_id': 'bigint',
        'class_date': 'date',
        'sis_course_id': 'text',
        'sis_section_id': 'text',
        'sis_student_id': 'text',
        'teacher_id': 'bigint',
        'attendance': 'text',
        'timestamp': 'timestamptz',
        'source_file': 'text',
    }) }} as rollcall_attendance
),

renamed as (
    select
        course_id,
        section_id,
        student_id,
        class_date,
        sis_course_id,
        sis_section_id,
        sis_student_id,
        teacher_id as marked_by_id,
        attendance as attendance_code,
        -- Roll Call's statuses are present, late and absent (docs/canvas-api.md section 6)
        case lower(attendance)
            when 'present' then 'present'
            when 'late' then 'late'
            when 'tardy' then 'late'
            when 'absent' then 'absent'
            when 'excused' then 'excused'
            else 'other'
        end as attendance_status,
        timestamp as marked_at,
        source_file
    from source
)

select * from renamed
