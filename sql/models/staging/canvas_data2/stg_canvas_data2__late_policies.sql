-- Canvas Data 2 late_policies (one per course that has one), shaped as stg_canvas__late_policies:
-- deductions in percentage points. The table has no workflow_state.
with source as (
    select * from {{ lms_source('canvas_data2', 'late_policies', {
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
