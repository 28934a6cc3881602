-- Canvas Data 2 assignments, shaped as stg_canvas__assignments. CD2 keeps submission_types as one
-- comma-separated string; it is rewritten as the JSON array REST serves.
with source as (
    select * from {{ lms_source('canvas_data2', 'assignments', {
        'id': 'bigint',
        'context_id': 'bigint',
        'assignment_group_id': 'bigint',
        'title': 'text',
        'position': 'bigint',
        'grading_type': 'text',
        'points_possible': 'decimal(28, 8)',
        'workflow_state': 'text',
        'omit_from_final_grade': 'boolean',
        'only_visible_to_overrides': 'boolean',
        'submission_types': 'text',
        'due_at': 'timestamptz',
        'unlock_at': 'timestamptz',
        'lock_at': 'timestamptz',
        'created_at': 'timestamptz',
    }) }} as assignments
),

renamed as (
    select
        id as assignment_id,
        context_id as course_id,
        assignment_group_id,
        title as assignment_name,
        position as assignment_position,
        grading_type,
        coalesce(points_possible, 0) as points_possible,
        coalesce(workflow_state = 'published', false) as is_published,
        coalesce(omit_from_final_grade, false) as is_omitted_from_final_grade,
        coalesce(only_visible_to_overrides, false) as is_only_visible_to_overrides,
        case
            when submission_types is null or submission_types = '' then '[]'
            else '["' || replace(submission_types, ',', '","') || '"]'
        end as submission_types_json,
        -- Canvas's `gradeable` scope leaves out not_graded and wiki_page work
        not (
            coalesce(submission_types, '') like '%not_graded%'
            or coalesce(submission_types, '') like '%wiki_page%'
        ) as is_gradeable,
        due_at,
        unlock_at,
        lock_at,
        created_at
    from source
    where coalesce(workflow_state, 'published') <> 'deleted'
)

select * from renamed
