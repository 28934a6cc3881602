-- Our course scores agree with the LMS's own, within var('grade_agreement_tolerance') points, for
-- every enrollment the LMS reports a score for (see course_grade_agreement). A disagreement is a
-- warning (the run reports it, analytics.course_grade_agreement lists it) unless the run asks for
-- `--vars '{strict_grades: true}'` (the pipelines' --strict-grades), which makes it fail the build.
{{ config(severity='error' if var('strict_grades', false) else 'warn') }}
select *
from {{ ref('course_grade_agreement') }}
where is_compared
  and not is_in_agreement
