-- Canvas Data 2 late_policies (one per course that has one), shaped as stg_canvas__late_policies.
-- The table has no workflow_state.
{{ stage_late_policies('canvas_data2') }}
