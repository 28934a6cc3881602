-- Brightspace Data Set "Quiz Attempts": one row per attempt (deleted attempts were removed on load).
with source as (
    select * from {{ lms_source('brightspace', 'quiz_attempts', {
        'attempt_id': 'bigint',
        'quiz_id': 'bigint',
        'user_id': 'bigint',
        'org_unit_id': 'bigint',
        'attempt_number': 'bigint',
        'time_started': 'timestamptz',
        'time_completed': 'timestamptz',
        'score': 'float8',
        'possible_score': 'float8',
        'is_graded': 'boolean',
    }) }} as quiz_attempts
),

renamed as (
    select
        attempt_id,
        quiz_id,
        user_id,
        org_unit_id as course_id,
        attempt_number,
        time_started as started_at,
        time_completed as completed_at,
        score,
        possible_score,
        coalesce(is_graded, false) as is_graded
    from source
)

select * from renamed
