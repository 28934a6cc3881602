with source as (
    select * from {{ lms_source('canvas', 'courses', {
        'id': 'bigint',
        'account_id': 'bigint',
        'enrollment_term_id': 'bigint',
        'name': 'text',
        'course_code': 'text',
        'sis_course_id': 'text',
        'workflow_state': 'text',
        'apply_assignment_group_weights': 'boolean',
        'start_at': 'timestamptz',
        'end_at': 'timestamptz',
    }) }} as courses
),

renamed as (
    select
        id as course_id,
        sis_course_id,
        course_code,
        name as course_name,
        account_id,
        enrollment_term_id as term_id,
        workflow_state as course_state,
        coalesce(apply_assignment_group_weights, false) as is_weighted_by_group,
        start_at as course_start_at,
        end_at as course_end_at
    from source
)

select * from renamed
