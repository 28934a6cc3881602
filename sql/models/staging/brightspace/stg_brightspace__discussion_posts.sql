-- Brightspace Data Set "Discussion Posts": one row per post (deleted posts were removed on load).
with source as (
    select * from {{ lms_source('brightspace', 'discussion_posts', {
        'post_id': 'bigint',
        'org_unit_id': 'bigint',
        'topic_id': 'bigint',
        'user_id': 'bigint',
        'thread_id': 'bigint',
        'is_reply': 'boolean',
        'date_posted': 'timestamptz',
        'word_count': 'bigint',
    }) }} as discussion_posts
),

renamed as (
    select
        post_id,
        org_unit_id as course_id,
        topic_id,
        user_id,
        thread_id,
        coalesce(is_reply, false) as is_reply,
        date_posted as posted_at,
        word_count
    from source
)

select * from renamed
