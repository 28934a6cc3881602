with source as (
    select * from {{ lms_source('canvas', 'student_summaries', {
        'course_id': 'bigint',
        'user_id': 'bigint',
        'page_views': 'bigint',
        'max_page_views': 'bigint',
        'participations': 'bigint',
        'max_participations': 'bigint',
        'page_views_level': 'bigint',
        'participations_level': 'bigint',
        'tardiness_breakdown__total': 'bigint',
        'tardiness_breakdown__on_time': 'bigint',
        'tardiness_breakdown__late': 'bigint',
        'tardiness_breakdown__missing': 'bigint',
        'tardiness_breakdown__floating': 'bigint',
        '_dlt_load_id': 'text',
    }) }} as student_summaries
),

renamed as (
    select
        course_id,
        user_id as student_id,
        page_views,
        max_page_views as course_max_page_views,
        participations,
        max_participations as course_max_participations,
        page_views_level,
        participations_level,
        tardiness_breakdown__total as work_total_count,
        tardiness_breakdown__on_time as work_on_time_count,
        tardiness_breakdown__late as work_late_count,
        tardiness_breakdown__missing as work_missing_count,
        tardiness_breakdown__floating as work_floating_count,
        _dlt_load_id as load_id
    from source
)

select * from renamed
