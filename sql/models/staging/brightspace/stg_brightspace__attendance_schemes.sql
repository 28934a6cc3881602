-- One row per symbol of an attendance scheme, with the symbol's meaning as a status.
with source as (
    select * from {{ lms_source('brightspace', 'attendance_schemes', {
        'scheme_id': 'bigint',
        'org_unit_id': 'bigint',
        'scheme_name': 'text',
        'scheme_symbol_id': 'bigint',
        'symbol_name': 'text',
        'symbol_value': 'text',
        'percentage': 'float8',
    }) }} as attendance_schemes
),

renamed as (
    select
        scheme_id,
        scheme_symbol_id as symbol_id,
        scheme_name,
        symbol_name,
        symbol_value as symbol_code,
        percentage as credit_percent,
        case
            when lower(symbol_name) like '%excused%' then 'excused'
            when lower(symbol_name) like '%late%' or lower(symbol_name) like '%tard%' then 'late'
            when lower(symbol_name) like '%absent%' then 'absent'
            when lower(symbol_name) like '%present%' then 'present'
            -- a symbol of another name: by its credit (no percentage = does not count)
            when percentage is null then 'excused'
            when percentage >= 100 then 'present'
            when percentage <= 0 then 'absent'
            else 'late'
        end as attendance_status
    from source
)

select * from renamed
