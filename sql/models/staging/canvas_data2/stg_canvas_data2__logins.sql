-- One login per user: Canvas Data 2 keeps SIS ids and login ids on pseudonyms, not users. The
-- user's first active pseudonym (by position, then id) is the one REST's user object shows.
with source as (
    select * from {{ lms_source('canvas_data2', 'pseudonyms', {
        'id': 'bigint',
        'user_id': 'bigint',
        'unique_id': 'text',
        'sis_user_id': 'text',
        'workflow_state': 'text',
        'position': 'bigint',
    }) }} as pseudonyms
),

ranked as (
    select
        user_id,
        unique_id as login_id,
        sis_user_id,
        row_number() over (partition by user_id order by position, id) as login_rank
    from source
    where coalesce(workflow_state, 'active') <> 'deleted'
)

select user_id, login_id, sis_user_id
from ranked
where login_rank = 1
