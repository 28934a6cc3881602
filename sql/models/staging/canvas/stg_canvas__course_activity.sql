with source as (
    select * from {{ lms_source('canvas', 'course_activity', {
        'course_id': 'bigint',
        'date': 'date',
        'views': 'bigint',
        'participations': 'bigint',
    }) }} as course_activity
),

renamed as (
    select
        course_id,
        date as activity_date,
        coalesce(views, 0) as page_views,
        coalesce(participations, 0) as participations
    from source
)

select * from renamed
