"""The tables the Canvas Data 2 sandbox serves, their columns and DAP types, and their JSON Schemas.

Column names follow docs/canvas-data-2.md section 14.1 (and 14.2 for `web_logs`); the schema shape is the
one the official client parses (section 11): `$schema`, `type: object`, properties `key`, `value`
and `meta`, every object with `additionalProperties: false`, the primary key the first property of
`key`, enums carrying the extra `__dap_unspecified__` member.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

JSON_SCHEMA_DIALECT = "http://json-schema.org/draft-07/schema#"
UNSPECIFIED = "__dap_unspecified__"  # section 11: every CD2 enum has this extra member

# Column types, as the DAP schema spells them (section 11's mapping table).
INT64: dict[str, Any] = {"type": "integer", "format": "int64"}
INT32: dict[str, Any] = {"type": "integer", "format": "int32"}
FLOAT64: dict[str, Any] = {"type": "number", "format": "float64"}
BOOL: dict[str, Any] = {"type": "boolean"}
TEXT: dict[str, Any] = {"type": "string"}
TIMESTAMP: dict[str, Any] = {"type": "string", "format": "date-time"}
UUID: dict[str, Any] = {"type": "string", "format": "uuid"}


def varchar(n: int) -> dict[str, Any]:
    """A string of at most n characters (varchar(n) in the client's DDL)."""
    return {"type": "string", "maxLength": n}


def enum(*values: str) -> dict[str, Any]:
    """A string enum with DAP's extra member."""
    return {"type": "string", "enum": [*values, UNSPECIFIED]}


def obj(**props: dict[str, Any]) -> dict[str, Any]:
    """A nested object with fixed properties (jsonb in the client's DDL)."""
    return {"type": "object", "properties": props, "additionalProperties": False}


def array(items: dict[str, Any]) -> dict[str, Any]:
    """An array column."""
    return {"type": "array", "items": items}


@dataclass(frozen=True)
class Table:
    """One DAP table: namespace, name, key column and value columns (name -> JSON Schema type)."""

    namespace: str
    name: str
    key: tuple[str, dict[str, Any]]
    columns: dict[str, dict[str, Any]]
    version: int = 1
    append_only: bool = False  # logs: rows are never updated or deleted, only age out
    extra: dict[str, dict[str, Any]] = field(default_factory=dict)  # columns added by a schema change

    @property
    def value_columns(self) -> dict[str, dict[str, Any]]:
        """The value columns of the current version."""
        return {**self.columns, **self.extra}

    def json_schema(self) -> dict[str, Any]:
        """The table's JSON Schema as route 2 serves it (without the version)."""
        key_name, key_type = self.key
        return {
            "$schema": JSON_SCHEMA_DIALECT,
            "title": self.name,
            "type": "object",
            "properties": {
                "key": {
                    "type": "object",
                    "properties": {key_name: key_type},
                    "required": [key_name],
                    "additionalProperties": False,
                },
                "value": {
                    "type": "object",
                    "properties": dict(self.value_columns),
                    "additionalProperties": False,
                },
                # section 11: the exact meta definitions are UNCONFIRMED; the client drops meta
                "meta": {
                    "type": "object",
                    "properties": {"ts": TIMESTAMP, "action": enum("U", "D")},
                    "additionalProperties": False,
                },
            },
            "required": ["key", "meta"],
            "additionalProperties": False,
        }


def _canvas(name: str, columns: dict[str, dict[str, Any]]) -> Table:
    return Table("canvas", name, ("id", INT64), columns)


WORKFLOW = enum("active", "deleted")

CANVAS_TABLES: tuple[Table, ...] = (
    _canvas(
        "accounts",
        {
            "name": TEXT,
            "workflow_state": WORKFLOW,
            "parent_account_id": INT64,
            "root_account_id": INT64,
            "sis_source_id": varchar(255),
            "integration_id": varchar(255),
            "uuid": varchar(255),
            "default_time_zone": varchar(255),
            "created_at": TIMESTAMP,
            "updated_at": TIMESTAMP,
        },
    ),
    _canvas(
        "users",
        {
            "name": TEXT,
            "sortable_name": TEXT,
            "short_name": TEXT,
            "workflow_state": enum("registered", "pre_registered", "creation_pending", "deleted"),
            "time_zone": varchar(255),
            "locale": varchar(255),
            "pronouns": TEXT,
            "created_at": TIMESTAMP,
            "updated_at": TIMESTAMP,
        },
    ),
    _canvas(
        "pseudonyms",
        {
            "user_id": INT64,
            "account_id": INT64,
            "unique_id": varchar(255),
            "sis_user_id": varchar(255),
            "integration_id": varchar(255),
            "workflow_state": WORKFLOW,
            "position": INT32,
            "last_login_at": TIMESTAMP,
            "created_at": TIMESTAMP,
            "updated_at": TIMESTAMP,
        },
    ),
    _canvas(
        "enrollment_terms",
        {
            "name": TEXT,
            "root_account_id": INT64,
            "grading_period_group_id": INT64,
            "sis_source_id": varchar(255),
            "workflow_state": WORKFLOW,
            "start_at": TIMESTAMP,
            "end_at": TIMESTAMP,
            "created_at": TIMESTAMP,
            "updated_at": TIMESTAMP,
        },
    ),
    _canvas(
        "courses",
        {
            "name": TEXT,
            "course_code": TEXT,
            "account_id": INT64,
            "root_account_id": INT64,
            "enrollment_term_id": INT64,
            "sis_source_id": varchar(255),
            "integration_id": varchar(255),
            "uuid": varchar(255),
            # the institution's courses carry REST's "unpublished" (the database's created/claimed):
            # the enum lists it, or `dap initdb` refuses the rows
            "workflow_state": enum("created", "claimed", "unpublished", "available", "completed", "deleted"),
            "start_at": TIMESTAMP,
            "conclude_at": TIMESTAMP,
            "group_weighting_scheme": varchar(255),
            "is_public": BOOL,
            "default_view": varchar(255),
            "time_zone": TEXT,
            "created_at": TIMESTAMP,
            "updated_at": TIMESTAMP,
        },
    ),
    _canvas(
        "course_sections",
        {
            "name": TEXT,
            "course_id": INT64,
            "root_account_id": INT64,
            "nonxlist_course_id": INT64,
            "sis_source_id": varchar(255),
            "integration_id": varchar(255),
            "workflow_state": WORKFLOW,
            "default_section": BOOL,
            "restrict_enrollments_to_section_dates": BOOL,
            "start_at": TIMESTAMP,
            "end_at": TIMESTAMP,
            "created_at": TIMESTAMP,
            "updated_at": TIMESTAMP,
        },
    ),
    _canvas(
        "enrollments",
        {
            "user_id": INT64,
            "course_id": INT64,
            "course_section_id": INT64,
            "root_account_id": INT64,
            "role_id": INT64,
            "type": enum(
                "StudentEnrollment",
                "TeacherEnrollment",
                "TaEnrollment",
                "DesignerEnrollment",
                "ObserverEnrollment",
                "StudentViewEnrollment",
            ),
            "workflow_state": enum(
                "active", "invited", "creation_pending", "rejected", "completed", "inactive", "deleted"
            ),
            "associated_user_id": INT64,
            "limit_privileges_to_course_section": BOOL,
            "start_at": TIMESTAMP,
            "end_at": TIMESTAMP,
            "completed_at": TIMESTAMP,
            "last_activity_at": TIMESTAMP,
            "last_attended_at": TIMESTAMP,
            "total_activity_time": INT32,
            "created_at": TIMESTAMP,
            "updated_at": TIMESTAMP,
        },
    ),
    _canvas(
        "assignment_groups",
        {
            "name": TEXT,
            "context_id": INT64,
            "context_type": enum("Course"),
            "position": INT32,
            "group_weight": FLOAT64,
            # section 14.1: rules are nested (drop_lowest, drop_highest, never_drop)
            "rules": obj(drop_lowest=INT32, drop_highest=INT32, never_drop=array(INT64)),
            "sis_source_id": varchar(255),
            "workflow_state": enum("available", "deleted"),
            "created_at": TIMESTAMP,
            "updated_at": TIMESTAMP,
        },
    ),
    _canvas(
        "assignments",
        {
            "title": varchar(255),
            "description": TEXT,
            "context_id": INT64,
            "context_type": enum("Course"),
            "assignment_group_id": INT64,
            "position": INT32,
            "points_possible": FLOAT64,
            "grading_type": enum("pass_fail", "percent", "letter_grade", "gpa_scale", "points", "not_graded"),
            # Canvas stores the submission types as one comma-separated string
            "submission_types": varchar(255),
            "workflow_state": enum("unpublished", "published", "deleted"),
            "omit_from_final_grade": BOOL,
            "only_visible_to_overrides": BOOL,
            "anonymous_grading": BOOL,
            "due_at": TIMESTAMP,
            "unlock_at": TIMESTAMP,
            "lock_at": TIMESTAMP,
            "created_at": TIMESTAMP,
            "updated_at": TIMESTAMP,
        },
    ),
    _canvas(
        "submissions",
        {
            "assignment_id": INT64,
            "user_id": INT64,
            "course_id": INT64,
            "attempt": INT32,
            "score": FLOAT64,
            "grade": varchar(255),
            "published_score": FLOAT64,
            "published_grade": varchar(255),
            "workflow_state": enum("submitted", "unsubmitted", "graded", "pending_review", "deleted"),
            "submission_type": varchar(255),
            "submitted_at": TIMESTAMP,
            "graded_at": TIMESTAMP,
            "posted_at": TIMESTAMP,
            "grader_id": INT64,
            "grading_period_id": INT64,
            "excused": BOOL,
            "late_policy_status": enum("none", "missing", "late", "extended"),
            "points_deducted": FLOAT64,
            "seconds_late_override": INT64,
            # Canvas's cached late/missing flag ("missing", "late" or NULL); in third-party CD2
            # submission models found by code search, not in section 14.1's list
            "cached_tardiness": varchar(16),
            "cached_due_date": TIMESTAMP,
            "grade_matches_current_submission": BOOL,
            "custom_grade_status_id": INT64,
            "redo_request": BOOL,
            "created_at": TIMESTAMP,
            "updated_at": TIMESTAMP,
        },
    ),
    _canvas(
        "scores",
        {
            "enrollment_id": INT64,
            "assignment_group_id": INT64,
            "grading_period_id": INT64,
            "course_score": BOOL,
            "current_score": FLOAT64,
            "final_score": FLOAT64,
            "unposted_current_score": FLOAT64,
            "unposted_final_score": FLOAT64,
            "current_points": FLOAT64,
            "final_points": FLOAT64,
            "unposted_current_points": FLOAT64,
            "unposted_final_points": FLOAT64,
            "override_score": FLOAT64,
            "workflow_state": WORKFLOW,
            "created_at": TIMESTAMP,
            "updated_at": TIMESTAMP,
        },
    ),
)

GRADING_TABLES: tuple[Table, ...] = (
    _canvas(
        "grading_period_groups",
        {
            "title": TEXT,
            "root_account_id": INT64,
            "weighted": BOOL,
            "display_totals_for_all_grading_periods": BOOL,
            "workflow_state": WORKFLOW,
            "created_at": TIMESTAMP,
            "updated_at": TIMESTAMP,
        },
    ),
    _canvas(
        "grading_periods",
        {
            "title": TEXT,
            "grading_period_group_id": INT64,
            "weight": FLOAT64,
            "start_date": TIMESTAMP,
            "end_date": TIMESTAMP,
            "close_date": TIMESTAMP,
            "workflow_state": WORKFLOW,
            "created_at": TIMESTAMP,
            "updated_at": TIMESTAMP,
        },
    ),
    # section 14.1 [OA]: no workflow_state. The deductions are percentage points (the Late Policy
    # API's numbers, 12.34); DAP's type for them is UNCONFIRMED, number/float64 here
    _canvas(
        "late_policies",
        {
            "course_id": INT64,
            "missing_submission_deduction_enabled": BOOL,
            "missing_submission_deduction": FLOAT64,
            "late_submission_deduction_enabled": BOOL,
            "late_submission_deduction": FLOAT64,
            "late_submission_interval": enum("day", "hour"),
            "late_submission_minimum_percent_enabled": BOOL,
            "late_submission_minimum_percent": FLOAT64,
            "created_at": TIMESTAMP,
            "updated_at": TIMESTAMP,
        },
    ),
    _canvas(
        "custom_grade_statuses",
        {
            "name": varchar(14),
            "color": varchar(7),
            "root_account_id": INT64,
            "workflow_state": WORKFLOW,
            "created_at": TIMESTAMP,
            "updated_at": TIMESTAMP,
        },
    ),
)

WEB_LOGS = Table(
    "canvas_logs",
    "web_logs",
    ("id", UUID),
    {
        "timestamp": TIMESTAMP,
        "user_id": INT64,
        "real_user_id": INT64,
        "course_id": INT64,
        "quiz_id": INT64,
        "discussion_id": INT64,
        "conversation_id": INT64,
        "assignment_id": INT64,
        "url": TEXT,
        "user_agent_id": INT64,
        "http_method": enum("GET", "POST", "PUT", "DELETE", "PATCH", "HEAD"),
        "http_status": enum("200", "201", "204", "302", "304", "400", "401", "403", "404", "500"),
        "http_version": varchar(16),
        "remote_ip": varchar(64),
        "interaction_micros": INT64,
        "web_application_controller": varchar(255),
        "web_application_action": varchar(255),
        "web_application_context_type": varchar(255),
        "web_application_context_id": INT64,
        "session_id": varchar(255),
        "developer_key_id": INT64,
        "participated": BOOL,
    },
    append_only=True,
)

NAMESPACES = ("canvas", "canvas_logs", "catalog", "new_quizzes")  # section 3


def default_tables() -> dict[tuple[str, str], Table]:
    """A fresh registry of the served tables by (namespace, name); schema changes edit a copy."""
    return {(t.namespace, t.name): t for t in (*CANVAS_TABLES, *GRADING_TABLES, WEB_LOGS)}
