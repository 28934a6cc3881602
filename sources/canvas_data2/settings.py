"""Constants of the Canvas Data 2 source (DAP Query API, see docs/canvas-data-2.md)."""

from __future__ import annotations

DEFAULT_BASE_URL = "https://api-gateway.instructure.com"

# The tables the cross-LMS marts read (sql/models/staging/canvas_data2), plus web_logs for engagement.
MART_TABLES: tuple[str, ...] = (
    "accounts",
    "users",
    "pseudonyms",
    "enrollment_terms",
    "courses",
    "course_sections",
    "enrollments",
    "assignment_groups",
    "assignments",
    "submissions",
    "scores",
    "grading_period_groups",
    "grading_periods",
    "custom_grade_statuses",
    "late_policies",
    "canvas_logs.web_logs",
)
NAMESPACES = ("canvas", "canvas_logs")  # `all` lists the tables of these namespaces

# Section 10: calls per minute per route. Job creation is the tight one.
JOBS_PER_MINUTE = 5
OBJECT_URL_BATCH = 50  # ids per POST /dap/object/url (the route takes a list; its maximum is UNCONFIRMED)
DOWNLOAD_WORKERS = 4  # the official client downloads 4 objects at a time (section 5)
TOKEN_REFRESH_MARGIN = 300.0  # section 2: re-authenticate when fewer than 5 minutes remain

# Column added to every row: True on a DAP delete record; dlt deletes the row (hard_delete hint).
DELETED_COLUMN = "_dap_deleted"
META_TS_COLUMN = "_dap_ts"  # the record's commit time in the DAP lake (meta.ts)

CREDENTIALS_HINT = (
    "[sources.canvas_data2] client_id and client_secret in .dlt/secrets.toml "
    "(or SOURCES__CANVAS_DATA2__CLIENT_ID / SOURCES__CANVAS_DATA2__CLIENT_SECRET)"
)
