"""Canvas constants: page size, request parameters, column hints and the endpoint table."""

from __future__ import annotations

from typing import Any

PER_PAGE = 100  # Canvas clamps per_page to [1, 100] (Api::MAX_PER_PAGE)

# Every enrollment state, so rows deleted or concluded upstream come back with their new state
# instead of silently disappearing from a refresh.
ENROLLMENT_STATES = ["active", "invited", "inactive", "completed", "deleted", "rejected", "creation_pending"]
# States whose students Canvas keeps submission rows for (for_students skips deleted enrollments).
LIVE_STUDENT_STATES = ["active", "invited", "inactive", "completed", "creation_pending"]

# submitted_since / graded_since compare strictly (>) at second precision; re-read this window
# so a row committed late in the second of the cursor is never lost.
DEFAULT_OVERLAP_SECONDS = 300
EPOCH = "1970-01-01T00:00:00Z"
# explicit student / assignment ids per submissions request (Canvas refuses > 100 students)
ID_CHUNK = 50

TIMESTAMP_FIELDS = (
    "created_at",
    "updated_at",
    "start_at",
    "end_at",
    "due_at",
    "lock_at",
    "unlock_at",
    "submitted_at",
    "graded_at",
    "posted_at",
    "cached_due_date",
    "last_activity_at",
    "last_attended_at",
)


def ts(*names: str) -> dict[str, dict[str, Any]]:
    """Column hints for UTC timestamp columns."""
    return {n: {"data_type": "timestamp", "timezone": True, "nullable": True} for n in names}


def typed(data_type: str, *names: str) -> dict[str, dict[str, Any]]:
    """Column hints giving `names` one explicit type."""
    return {n: {"data_type": data_type, "nullable": True} for n in names}


ID = {"id": {"data_type": "bigint", "nullable": False}}

# name -> column hints. Key columns are non-nullable bigint; scores are doubles and grades text
# so a letter grade never turns a numeric column into a variant column.
COLUMNS: dict[str, dict[str, dict[str, Any]]] = {
    "accounts": {
        **ID,
        **typed("bigint", "parent_account_id", "root_account_id", "sis_import_id"),
        **typed("text", "name", "sis_account_id", "integration_id", "workflow_state"),
    },
    "terms": {
        **ID,
        **typed("bigint", "grading_period_group_id", "sis_import_id"),
        **typed("text", "name", "sis_term_id", "workflow_state"),
        **ts("start_at", "end_at", "created_at"),
    },
    "courses": {
        **ID,
        **typed(
            "bigint",
            "account_id",
            "root_account_id",
            "enrollment_term_id",
            "grading_standard_id",
            "sis_import_id",
        ),
        **typed(
            "text",
            "name",
            "course_code",
            "sis_course_id",
            "integration_id",
            "workflow_state",
            "friendly_name",
            "course_color",
        ),
        **typed("bool", "apply_assignment_group_weights"),
        **typed("json", "grade_passback_setting"),
        **ts("start_at", "end_at", "created_at"),
    },
    "users": {
        **ID,
        **typed("bigint", "sis_import_id"),
        **typed("text", "name", "sortable_name", "short_name", "sis_user_id", "integration_id", "login_id"),
        **ts("created_at"),
    },
    "sections": {
        **ID,
        "course_id": {"data_type": "bigint", "nullable": False},
        **typed("bigint", "nonxlist_course_id", "sis_import_id"),
        **typed("text", "name", "sis_section_id", "sis_course_id", "integration_id"),
        **ts("start_at", "end_at", "created_at"),
    },
    "enrollments": {
        **ID,
        "course_id": {"data_type": "bigint", "nullable": False},
        **typed(
            "bigint",
            "user_id",
            "course_section_id",
            "associated_user_id",
            "role_id",
            "root_account_id",
            "sis_import_id",
        ),
        **typed(
            "text",
            "type",
            "role",
            "enrollment_state",
            "sis_user_id",
            "sis_course_id",
            "sis_section_id",
            "course_integration_id",
            "section_integration_id",
        ),
        **typed(
            "double",
            "grades__current_score",
            "grades__final_score",
            "grades__unposted_current_score",
            "grades__unposted_final_score",
            "total_activity_time",
        ),
        **typed(
            "text",
            "grades__current_grade",
            "grades__final_grade",
            "grades__unposted_current_grade",
            "grades__unposted_final_grade",
        ),
        **ts("created_at", "updated_at", "start_at", "end_at", "last_activity_at", "last_attended_at"),
    },
    "assignment_groups": {
        **ID,
        "course_id": {"data_type": "bigint", "nullable": False},
        **typed("text", "name", "sis_source_id"),
        **typed("double", "group_weight"),
        **typed("bigint", "position", "drop_lowest", "drop_highest"),
        **typed("json", "never_drop", "integration_data"),
    },
    "assignments": {
        **ID,
        "course_id": {"data_type": "bigint", "nullable": False},
        **typed("bigint", "assignment_group_id", "position", "grading_standard_id", "group_category_id"),
        **typed("text", "name", "grading_type", "description", "integration_id"),
        **typed("double", "points_possible"),
        **typed("bool", "published", "omit_from_final_grade"),
        **typed("json", "submission_types", "all_dates"),
        **ts("due_at", "lock_at", "unlock_at", "created_at", "updated_at"),
    },
    "submissions": {
        "course_id": {"data_type": "bigint", "nullable": False},
        "assignment_id": {"data_type": "bigint", "nullable": False},
        "user_id": {"data_type": "bigint", "nullable": False},
        **typed(
            "bigint",
            "id",
            "attempt",
            "grader_id",
            "seconds_late",
            "extra_attempts",
            "grading_period_id",
            "custom_grade_status_id",
        ),
        **typed(
            "text",
            "grade",
            "entered_grade",
            "workflow_state",
            "submission_type",
            "late_policy_status",
            "body",
            "url",
            "sticker",
            "preview_url",
            "html_url",
        ),
        **typed("double", "score", "entered_score", "points_deducted"),
        **typed("bool", "late", "missing", "excused", "grade_matches_current_submission", "redo_request"),
        **ts("submitted_at", "graded_at", "posted_at", "cached_due_date"),
        # rows for submissions Canvas no longer serves (dropped student, removed assignment):
        # dlt deletes the matching key instead of inserting
        "deleted_in_lms": {"data_type": "bool", "nullable": True, "hard_delete": True},
    },
}

# Course children refreshed in full per course: (resource name, path template, params).
# merge_key course_id makes each refresh replace that course's rows, so rows removed upstream
# vanish while other courses (other shards) are left alone.
COURSE_CHILDREN: list[tuple[str, str, dict[str, Any]]] = [
    ("sections", "courses/{course_id}/sections", {}),
    ("enrollments", "courses/{course_id}/enrollments", {"state[]": ENROLLMENT_STATES}),
    ("assignment_groups", "courses/{course_id}/assignment_groups", {}),
    ("assignments", "courses/{course_id}/assignments", {}),
]

# Personal fields per table, by privacy category (sources/privacy.py; `[sources.canvas.privacy]`).
# Embedded `user` objects are already left out of enrollments and submissions (helpers._EMBEDDED);
# student_summaries carry only the numeric user id. Canvas numeric user ids stay: they are keys.
PERSONAL_FIELDS: dict[str, dict[str, str]] = {
    "users": {
        "name": "names",
        "sortable_name": "names",
        "short_name": "names",
        "first_name": "names",
        "last_name": "names",
        "email": "emails",
        "login_id": "login_ids",
        "sis_login_id": "login_ids",
        "sis_user_id": "sis_ids",
        "integration_id": "sis_ids",
        "avatar_url": "other",
        "pronouns": "other",
        "bio": "other",
    },
    "enrollments": {"sis_user_id": "sis_ids", "sis_login_id": "login_ids"},
    # the student's own work: free text and a submitted URL
    "submissions": {"body": "other", "url": "other"},
    "rollcall_attendance": {
        "teacher_name": "names",
        "student_name": "names",
        "sis_teacher_id": "sis_ids",
        "sis_student_id": "sis_ids",
    },
    # account reports (sources/canvas/account_reports.py): in provisioning files user_id is the SIS id
    "provisioning_users": {
        "first_name": "names",
        "last_name": "names",
        "full_name": "names",
        "sortable_name": "names",
        "short_name": "names",
        "email": "emails",
        "login_id": "login_ids",
        "user_id": "sis_ids",
        "integration_id": "sis_ids",
        "pronouns": "other",
    },
    "provisioning_enrollments": {"user_id": "sis_ids", "associated_user_id": "sis_ids"},
    "last_user_access": {"user_sis_id": "sis_ids", "user_name": "names", "last_ip": "other"},
}
