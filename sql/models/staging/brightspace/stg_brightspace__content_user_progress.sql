with source as (
    select * from {{ lms_source('brightspace', 'content_user_progress', {
        'org_unit_id': 'bigint',
        'object_id': 'bigint',
        'user_id': 'bigint',
        'num_visits': 'bigint',
        'total_time': 'bigint',
        'is_read': 'boolean',
        'visited': 'boolean',
        'completed': 'boolean',
        'is_exempt': 'boolean',
        'last_visited': 'timestamptz',
        'completed_date': 'timestamptz',
    }) }} as content_user_progress
),

renamed as (
    select
        org_unit_id as course_id,
        object_id as topic_id,
        user_id,
        coalesce(num_visits, 0) as visit_count,
        coalesce(total_time, 0) as seconds_spent,
        coalesce(is_read, false) as is_read,
        coalesce(visited, false) as is_visited,
        coalesce(completed, false) as is_completed,
        coalesce(is_exempt, false) as is_exempt,
        last_visited as last_visited_at,
        completed_date as completed_at
    from source
)

select * from renamed
