-- Brightspace Data Set "Course Access": one row per day a user opened a course offering.
with source as (
    select * from {{ lms_source('brightspace', 'course_access', {
        'org_unit_id': 'bigint',
        'user_id': 'bigint',
        'day_accessed': 'timestamptz',
    }) }} as course_access
),

renamed as (
    select
        org_unit_id as course_id,
        user_id,
        {{ utc_date('day_accessed') }} as accessed_date
    from source
)

select * from renamed
