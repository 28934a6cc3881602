-- One row per assignment a Canvas Data 2 group's rules never drop (as stg_canvas__assignment_group_never_drops).
{{ assignment_group_never_drops(ref('stg_canvas_data2__assignment_groups')) }}
