-- Our course scores agree with the LMS's own, within var('grade_agreement_tolerance') points, for
-- every enrollment the LMS reports a score for (see course_grade_agreement).
select *
from {{ ref('course_grade_agreement') }}
where is_compared
  and not is_in_agreement
