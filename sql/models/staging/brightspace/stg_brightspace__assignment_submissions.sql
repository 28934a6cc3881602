-- Brightspace Data Set "Assignment Submissions": one row per assignment folder x submitter.
with source as (
    select * from {{ lms_source('brightspace', 'assignment_submissions', {
        'dropbox_id': 'bigint',
        'org_unit_id': 'bigint',
        'submitter_id': 'bigint',
        'submitter_type': 'text',
        'score': 'float8',
        'is_graded': 'boolean',
        'last_submission_date': 'timestamptz',
    }) }} as assignment_submissions
),

renamed as (
    select
        dropbox_id as assignment_id,
        org_unit_id as course_id,
        submitter_id as user_id,
        submitter_type,
        score,
        coalesce(is_graded, false) as is_graded,
        last_submission_date as submitted_at
    from source
)

select * from renamed
