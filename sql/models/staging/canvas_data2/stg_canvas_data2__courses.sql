-- Canvas Data 2 courses, shaped as stg_canvas__courses (the REST staging model).
with source as (
    select * from {{ lms_source('canvas_data2', 'courses', {
        'id': 'bigint',
        'account_id': 'bigint',
        'enrollment_term_id': 'bigint',
        'name': 'text',
        'course_code': 'text',
        'sis_source_id': 'text',
        'workflow_state': 'text',
        'group_weighting_scheme': 'text',
        'start_at': 'timestamptz',
        'conclude_at': 'timestamptz',
    }) }} as courses
),

renamed as (
    select
        id as course_id,
        sis_source_id as sis_course_id,
        course_code,
        name as course_name,
        account_id,
        enrollment_term_id as term_id,
        workflow_state as course_state,
        -- Canvas keeps apply_assignment_group_weights as group_weighting_scheme = 'percent'
        coalesce(group_weighting_scheme = 'percent', false) as is_weighted_by_group,
        start_at as course_start_at,
        conclude_at as course_end_at
    from source
)

select * from renamed
