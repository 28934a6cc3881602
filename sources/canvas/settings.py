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


# the `grades` object of an enrollment (Grade): numbers and texts. `current_points` and
# `unposted_current_points` come only with include[]=current_points; `override_*` only when the
# course allows Final Grade Override and one is set (docs/grade-calculation.md A.8).
GRADE_SCORES = (
    "current_score",
    "final_score",
    "unposted_current_score",
    "unposted_final_score",
    "current_points",
    "unposted_current_points",
    "override_score",
)
GRADE_TEXTS = (
    "html_url",
    "current_grade",
    "final_grade",
    "unposted_current_grade",
    "unposted_final_grade",
    "override_grade",
)


def ts(*names: str) -> dict[str, dict[str, Any]]:
    """Column hints for UTC timestamp columns."""
    return {n: {"data_type": "timestamp", "timezone": True, "nullable": True} for n in names}


def typed(data_type: str, *names: str) -> dict[str, dict[str, Any]]:
    """Column hints giving `names` one explicit type."""
    return {n: {"data_type": data_type, "nullable": True} for n in names}


ID = {"id": {"data_type": "bigint", "nullable": False}}
COURSE_ID = {"course_id": {"data_type": "bigint", "nullable": False}}

# name -> column hints: every field Canvas documents for the object (Canvas LMS REST API docs,
# "A <Object> object looks like"), so a field that is null on a first load still gets its column
# and a real payload never makes a variant column. Key columns are non-nullable bigint; scores
# are doubles and grades text, so a letter grade never turns a numeric column into a variant.
# Nested objects the API embeds on request stay json (max_table_nesting=0).
COLUMNS: dict[str, dict[str, dict[str, Any]]] = {
    "accounts": {
        **ID,
        **typed(
            "bigint",
            "parent_account_id",
            "root_account_id",
            "sis_import_id",
            "default_storage_quota_mb",
            "default_user_storage_quota_mb",
            "default_group_storage_quota_mb",
            "course_template_id",
        ),
        **typed(
            "text",
            "name",
            "uuid",
            "default_time_zone",
            "sis_account_id",
            "integration_id",
            "lti_guid",
            "workflow_state",
        ),
    },
    "terms": {
        **ID,
        **typed("bigint", "grading_period_group_id", "sis_import_id", "course_count"),
        **typed("text", "name", "sis_term_id", "workflow_state"),
        **typed("json", "overrides"),
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
            "total_students",
            "needs_grading_count",
            "storage_quota_mb",
            "course_template_id",
        ),
        **typed(
            "text",
            "name",
            "course_code",
            "original_name",
            "sis_course_id",
            "uuid",
            "integration_id",
            "workflow_state",
            "friendly_name",
            "course_color",
            # Canvas sends a string ("nightly_sync", "disabled" or null), not an object
            "grade_passback_setting",
            "locale",
            "default_view",
            "syllabus_body",
            "public_description",
            "license",
            "course_format",
            "time_zone",
        ),
        **typed("double", "storage_quota_used_mb"),
        **typed(
            "bool",
            "apply_assignment_group_weights",
            "is_public",
            "is_public_to_auth_users",
            "public_syllabus",
            "public_syllabus_to_auth",
            "hide_final_grades",
            "allow_student_assignment_edits",
            "allow_wiki_comments",
            "allow_student_forum_attachments",
            "open_enrollment",
            "self_enrollment",
            "restrict_enrollments_to_course_dates",
            "access_restricted_by_date",
            "blueprint",
            "template",
            "homeroom_course",
            "concluded",
        ),
        **typed(
            "json",
            "grading_periods",
            "enrollments",
            "calendar",
            "term",
            "course_progress",
            "permissions",
            "blueprint_restrictions",
            "blueprint_restrictions_by_object_type",
            "teachers",
        ),
        **ts("start_at", "end_at", "created_at"),
    },
    "users": {
        **ID,
        **typed("bigint", "sis_import_id"),
        **typed(
            "text",
            "name",
            "sortable_name",
            "first_name",
            "last_name",
            "short_name",
            "sis_user_id",
            "integration_id",
            "login_id",
            "avatar_url",
            "avatar_state",
            "email",
            "locale",
            "effective_locale",
            "time_zone",
            "bio",
            "pronouns",
            "uuid",
        ),
        **typed("json", "enrollments", "permissions"),
        **ts("created_at", "last_login"),
    },
    "sections": {
        **ID,
        **COURSE_ID,
        **typed("bigint", "nonxlist_course_id", "sis_import_id", "total_students"),
        **typed("text", "name", "sis_section_id", "sis_course_id", "integration_id"),
        **typed("bool", "restrict_enrollments_to_section_dates"),
        **ts("start_at", "end_at", "created_at"),
    },
    "enrollments": {
        **ID,
        **COURSE_ID,
        **typed(
            "bigint",
            "user_id",
            "course_section_id",
            "associated_user_id",
            "role_id",
            "root_account_id",
            "sis_import_id",
            "current_grading_period_id",
        ),
        **typed(
            "text",
            "type",
            "role",
            "enrollment_state",
            "sis_account_id",
            "sis_user_id",
            "sis_course_id",
            "sis_section_id",
            "course_integration_id",
            "section_integration_id",
            "html_url",
            "override_grade",
            "unposted_current_grade",
            "unposted_final_grade",
            "current_grading_period_title",
            "current_period_override_grade",
            "current_period_unposted_current_grade",
            "current_period_unposted_final_grade",
        ),
        **typed(
            "double",
            "total_activity_time",
            "override_score",
            "unposted_current_score",
            "unposted_final_score",
            "current_period_override_score",
            "current_period_unposted_current_score",
            "current_period_unposted_final_score",
        ),
        **typed(
            "bool",
            "limit_privileges_to_course_section",
            "has_grading_periods",
            "totals_for_all_grading_periods_option",
        ),
        # the `grades` object (Grade), flattened: every key Canvas's grades_hash can send
        **typed("double", *(f"grades__{k}" for k in GRADE_SCORES)),
        **typed("text", *(f"grades__{k}" for k in GRADE_TEXTS)),
        **ts("created_at", "updated_at", "start_at", "end_at", "last_activity_at", "last_attended_at"),
    },
    # enrollments?grading_period_id=: the `grades` object of one grading period per enrollment
    "enrollment_period_grades": {
        "enrollment_id": {"data_type": "bigint", "nullable": False},
        "grading_period_id": {"data_type": "bigint", "nullable": False},
        **COURSE_ID,
        **typed("bigint", "user_id"),
        **typed("double", *GRADE_SCORES),
        **typed("text", *GRADE_TEXTS),
    },
    "grading_period_sets": {
        **ID,
        **typed("text", "title", "workflow_state"),
        **typed("bool", "weighted", "display_totals_for_all_grading_periods"),
        **typed("json", "enrollment_term_ids"),
        **ts("created_at", "updated_at"),
    },
    "grading_periods": {
        **ID,
        "grading_period_set_id": {"data_type": "bigint", "nullable": False},
        **typed("text", "title"),
        **typed("double", "weight"),
        **typed("bool", "is_closed", "is_last"),
        **ts("start_date", "end_date", "close_date"),
    },
    "late_policies": {
        **ID,
        **COURSE_ID,
        **typed(
            "bool",
            "missing_submission_deduction_enabled",
            "late_submission_deduction_enabled",
            "late_submission_minimum_percent_enabled",
        ),
        **typed(
            "double",
            "missing_submission_deduction",
            "late_submission_deduction",
            "late_submission_minimum_percent",
        ),
        **typed("text", "late_submission_interval"),
        **ts("created_at", "updated_at"),
    },
    "custom_grade_statuses": {
        **ID,
        **typed("text", "name", "color"),
    },
    "assignment_groups": {
        **ID,
        **COURSE_ID,
        **typed("text", "name", "sis_source_id"),
        **typed("double", "group_weight"),
        **typed("bigint", "position", "drop_lowest", "drop_highest"),
        **typed("bool", "any_assignment_in_closed_grading_period"),
        **typed("json", "never_drop", "integration_data"),
    },
    "assignments": {
        **ID,
        **COURSE_ID,
        **typed(
            "bigint",
            "assignment_group_id",
            "position",
            "grading_standard_id",
            "group_category_id",
            "max_name_length",
            "peer_review_count",
            "needs_grading_count",
            "quiz_id",
            "grader_count",
            "final_grader_id",
            "allowed_attempts",
            "annotatable_attachment_id",
            "original_course_id",
            "original_assignment_id",
            "original_lti_resource_link_id",
            "original_quiz_id",
        ),
        **typed(
            "text",
            "name",
            "grading_type",
            "description",
            "html_url",
            "submissions_download_url",
            "integration_id",
            "sis_assignment_id",
            "lock_explanation",
            "original_assignment_name",
            "workflow_state",
        ),
        **typed("double", "points_possible"),
        **typed(
            "bool",
            "published",
            "omit_from_final_grade",
            "has_overrides",
            "due_date_required",
            "turnitin_enabled",
            "vericite_enabled",
            "grade_group_students_individually",
            "peer_reviews",
            "automatic_peer_reviews",
            "intra_group_peer_reviews",
            "post_to_sis",
            "has_submitted_submissions",
            "unpublishable",
            "only_visible_to_overrides",
            "locked_for_user",
            "anonymous_submissions",
            "freeze_on_copy",
            "frozen",
            "use_rubric_for_grading",
            "hide_in_gradebook",
            "moderated_grading",
            "grader_comments_visible_to_graders",
            "graders_anonymous_to_graders",
            "grader_names_visible_to_final_grader",
            "anonymous_grading",
            "post_manually",
            "can_submit",
            "anonymize_students",
            "require_lockdown_browser",
            "important_dates",
            "muted",
            "anonymous_peer_reviews",
            "anonymous_instructor_annotations",
            "graded_submissions_exist",
            "is_quiz_assignment",
            "in_closed_grading_period",
            "can_duplicate",
            "restrict_quantitative_data",
        ),
        **typed(
            "json",
            "submission_types",
            "all_dates",
            "allowed_extensions",
            "turnitin_settings",
            "external_tool_tag_attributes",
            "needs_grading_count_by_section",
            "integration_data",
            "lock_info",
            "discussion_topic",
            "frozen_attributes",
            "submission",
            "rubric_settings",
            "rubric",
            "assignment_visibility",
            "overrides",
            "score_statistics",
            "ab_guid",
        ),
        **ts("due_at", "lock_at", "unlock_at", "created_at", "updated_at", "peer_reviews_assign_at"),
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
            "anonymous_id",
            "read_status",
        ),
        **typed("double", "score", "entered_score", "points_deducted"),
        **typed(
            "bool",
            "late",
            "missing",
            "excused",
            "grade_matches_current_submission",
            "redo_request",
            "assignment_visible",
        ),
        **ts("submitted_at", "graded_at", "posted_at", "cached_due_date"),
        # rows for submissions Canvas no longer serves (dropped student, removed assignment):
        # dlt deletes the matching key instead of inserting
        "deleted_in_lms": {"data_type": "bool", "nullable": True, "hard_delete": True},
    },
    # rows left out because a key field was missing or of the wrong type (sources/canvas/rejects.py)
    "rejects": {
        **typed("text", "endpoint", "key", "reason"),
        **typed("bigint", "course_id"),
        **ts("rejected_at"),
    },
}

# Course children refreshed in full per course: (resource name, path template, params).
# merge_key course_id makes each refresh replace that course's rows, so rows removed upstream
# vanish while other courses (other shards) are left alone.
COURSE_CHILDREN: list[tuple[str, str, dict[str, Any]]] = [
    ("sections", "courses/{course_id}/sections", {}),
    (
        "enrollments",
        "courses/{course_id}/enrollments",
        {"state[]": ENROLLMENT_STATES, "include[]": ["current_points"]},
    ),
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
