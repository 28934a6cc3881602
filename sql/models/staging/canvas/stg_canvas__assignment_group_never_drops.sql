-- One row per assignment a group's rules never drop (`rules.never_drop`, a JSON array of ids).
{{ assignment_group_never_drops(ref('stg_canvas__assignment_groups')) }}
