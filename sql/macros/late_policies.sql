{#
  A Canvas course's late policy staged from `source_name` ('canvas': the Late Policy API's rows;
  'canvas_data2': the late_policies table, whose columns are the API's fields): deductions in
  percentage points, one model body for both channels.
#}
{% macro stage_late_policies(source_name) %}
with source as (
    select * from {{ lms_source(source_name, 'late_policies', {
        'id': 'bigint',
        'course_id': 'bigint',
        'missing_submission_deduction_enabled': 'boolean',
        'missing_submission_deduction': 'decimal(28, 8)',
        'late_submission_deduction_enabled': 'boolean',
        'late_submission_deduction': 'decimal(28, 8)',
        'late_submission_interval': 'text',
        'late_submission_minimum_percent_enabled': 'boolean',
        'late_submission_minimum_percent': 'decimal(28, 8)',
    }) }} as late_policies
)

select
    id as late_policy_id,
    course_id,
    coalesce(missing_submission_deduction_enabled, false) as is_missing_deduction_enabled,
    missing_submission_deduction,
    coalesce(late_submission_deduction_enabled, false) as is_late_deduction_enabled,
    late_submission_deduction,
    late_submission_interval,
    coalesce(late_submission_minimum_percent_enabled, false) as is_late_minimum_enabled,
    late_submission_minimum_percent
from source
{% endmacro %}
