-- Canvas Data 2 web_logs (canvas_logs namespace): one row per request, course requests only.
with source as (
    select * from {{ lms_source('canvas_data2', 'web_logs', {
        'id': 'text',
        'timestamp': 'timestamptz',
        'user_id': 'bigint',
        'course_id': 'bigint',
        'http_method': 'text',
        'url': 'text',
        'participated': 'boolean',
    }) }} as web_logs
),

renamed as (
    select
        id as request_id,
        course_id,
        user_id,
        {{ adapter.quote('timestamp') }} as requested_at,
        {{ utc_date(adapter.quote('timestamp')) }} as requested_date,
        {{ week_start(utc_date(adapter.quote('timestamp'))) }} as week_start,
        http_method,
        url,
        coalesce(participated, false) as is_participation
    from source
    where course_id is not null and user_id is not null
)

select * from renamed
