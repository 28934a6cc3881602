with source as (
    select * from {{ lms_source('brightspace', 'enrollments', {
        'org_unit_id': 'bigint',
        'user_id': 'bigint',
        'org_defined_id': 'text',
        'role_id': 'bigint',
        'role_code': 'text',
        'role_name': 'text',
    }) }} as enrollments
),

renamed as (
    select
        org_unit_id as course_id,
        user_id,
        org_defined_id,
        role_id,
        role_name,
        case
            when role_name in ({{ "'" ~ var('brightspace_student_roles') | join("', '") ~ "'" }}) then 'student'
            when lower(role_name) like '%instructor%' or lower(role_name) like '%teacher%' then 'teacher'
            when lower(role_name) like '%teaching assistant%' or role_code = 'TA' then 'ta'
            else 'other'
        end as role
    from source
)

select * from renamed
