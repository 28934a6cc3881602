with source as (
    select * from {{ lms_source('canvas', 'assignment_groups', {
        'id': 'bigint',
        'course_id': 'bigint',
        'name': 'text',
        'position': 'bigint',
        'group_weight': 'decimal(28, 8)',
        'drop_lowest': 'bigint',
        'drop_highest': 'bigint',
        'never_drop': 'text',
    }) }} as assignment_groups
),

renamed as (
    select
        id as assignment_group_id,
        course_id,
        name as assignment_group_name,
        position as assignment_group_position,
        -- Canvas reads a NULL weight as 0 (BigDecimal of nil)
        coalesce(group_weight, 0) as group_weight,
        coalesce(drop_lowest, 0) as drop_lowest,
        coalesce(drop_highest, 0) as drop_highest,
        never_drop as never_drop_json
    from source
)

select * from renamed
