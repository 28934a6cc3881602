-- Canvas Data 2 assignment_groups (rules as one JSON object), shaped as stg_canvas__assignment_groups.
with source as (
    select * from {{ lms_source('canvas_data2', 'assignment_groups', {
        'id': 'bigint',
        'context_id': 'bigint',
        'name': 'text',
        'position': 'bigint',
        'group_weight': 'decimal(28, 8)',
        'rules': 'text',
        'workflow_state': 'text',
    }) }} as assignment_groups
),

renamed as (
    select
        id as assignment_group_id,
        context_id as course_id,
        name as assignment_group_name,
        position as assignment_group_position,
        coalesce(group_weight, 0) as group_weight,
        coalesce(cast({{ json_text_field('rules', 'drop_lowest') }} as bigint), 0) as drop_lowest,
        coalesce(cast({{ json_text_field('rules', 'drop_highest') }} as bigint), 0) as drop_highest,
        {{ json_value_text('rules', 'never_drop') }} as never_drop_json
    from source
    where coalesce(workflow_state, 'available') <> 'deleted'
)

select * from renamed
