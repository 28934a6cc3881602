-- Each course's late policy (Late Policy API): deductions in percentage points.
{{ stage_late_policies('canvas') }}
