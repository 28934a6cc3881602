with source as (
    select * from {{ lms_source('canvas', 'assignments', {
        'id': 'bigint',
        'course_id': 'bigint',
        'assignment_group_id': 'bigint',
        'name': 'text',
        'position': 'bigint',
        'grading_type': 'text',
        'points_possible': 'decimal(28, 8)',
        'published': 'boolean',
        'omit_from_final_grade': 'boolean',
        'only_visible_to_overrides': 'boolean',
        'submission_types': 'text',
        'workflow_state': 'text',
        'due_at': 'timestamptz',
        'unlock_at': 'timestamptz',
        'lock_at': 'timestamptz',
        'created_at': 'timestamptz',
    }) }} as assignments
),

renamed as (
    select
        id as assignment_id,
        course_id,
        assignment_group_id,
        name as assignment_name,
        position as assignment_position,
        grading_type,
        -- Canvas reads a NULL points_possible as 0 (docs/grade-calculation.md A.2.5)
        coalesce(points_possible, 0) as points_possible,
        coalesce(published, workflow_state = 'published', false) as is_published,
        coalesce(omit_from_final_grade, false) as is_omitted_from_final_grade,
        coalesce(only_visible_to_overrides, false) as is_only_visible_to_overrides,
        submission_types as submission_types_json,
        -- Canvas's `gradeable` scope leaves out not_graded and wiki_page work
        not (
            coalesce(submission_types, '') like '%"not_graded"%'
            or coalesce(submission_types, '') like '%"wiki_page"%'
        ) as is_gradeable,
        due_at,
        unlock_at,
        lock_at,
        created_at
    from source
)

select * from renamed
