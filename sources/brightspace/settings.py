"""Brightspace constants: defaults, the per-course endpoint table and column hints (Data Hub sets: bds_catalogue)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# D2L's global token service, not the school's host (docs/brightspace-api.md section 1.1)
DEFAULT_TOKEN_URL = "https://auth.brightspace.com/core/connect/token"
# the rotated refresh token lives here between runs (git ignores .dlt/*.token)
DEFAULT_REFRESH_TOKEN_FILE = ".dlt/brightspace_refresh.token"
CREDENTIAL_HINT = (
    "[sources.brightspace] client_id / client_secret / refresh_token in .dlt/secrets.toml "
    "(or SOURCES__BRIGHTSPACE__REFRESH_TOKEN ...)"
)
CLIENT_HINT = (
    "[sources.brightspace] client_id and client_secret in .dlt/secrets.toml "
    "(or SOURCES__BRIGHTSPACE__CLIENT_ID / SOURCES__BRIGHTSPACE__CLIENT_SECRET)"
)
REFRESH_TOKEN_HINT = (
    "[sources.brightspace] refresh_token in .dlt/secrets.toml (or SOURCES__BRIGHTSPACE__REFRESH_TOKEN)"
)

PRODUCTS = ("lp", "le")
COURSE_OFFERING_TYPE_ID = 3  # org unit type ids 1-3 are fixed in every Brightspace; the rest vary
GRADE_VALUES_PAGE_SIZE = 200  # bulk grade values accept pageSize 1..200
OBJECT_LIST_PAGE_SIZE = 200

# modifiedSince is inclusive at second precision; re-read this window so a value committed late
# in the second of the cursor is never lost (re-read rows that did not change are skipped)
DEFAULT_GRADE_VALUES_OVERLAP_SECONDS = 300
DEFAULT_EXPORT_TIMEOUT_SECONDS = 1800.0

UTC_FORMAT = "%Y-%m-%dT%H:%M:%S.000Z"  # Valence UTCDateTime

# EXPORTJOBSTATUS_T (docs/brightspace-api.md section 6.2)
EXPORT_STATUS = {0: "Queued", 1: "Processing", 2: "Complete", 3: "Error", 4: "Deleted"}


def ts(*names: str) -> dict[str, dict[str, Any]]:
    """Column hints for UTC timestamp columns."""
    return {n: {"data_type": "timestamp", "timezone": True, "nullable": True} for n in names}


def typed(data_type: str, *names: str) -> dict[str, dict[str, Any]]:
    """Column hints giving `names` one explicit type."""
    return {n: {"data_type": data_type, "nullable": True} for n in names}


def key(*names: str) -> dict[str, dict[str, Any]]:
    """Non-nullable bigint key columns."""
    return {n: {"data_type": "bigint", "nullable": False} for n in names}


# Grade value numbers are doubles and displayed grades text, so a letter or "Pass" never turns a
# numeric column into a variant column.
_GRADE_VALUE = {
    **typed(
        "text",
        "displayed_grade",
        "grade_object_name",
        "grade_object_type_name",
        "comments",
        "private_comments",
    ),
    **typed("bigint", "grade_object_type", "last_modified_by"),
    **typed("double", "points_numerator", "points_denominator", "weighted_numerator", "weighted_denominator"),
    **ts("last_modified", "released_date"),
}

# resource name -> column hints (names after dlt's snake_case normalisation)
COLUMNS: dict[str, dict[str, dict[str, Any]]] = {
    "org_units": {
        **key("org_unit_id"),
        **typed("text", "name", "code", "type_code", "type_name", "path"),
        **typed("bigint", "type_id"),
    },
    "courses": {
        **key("org_unit_id"),
        **typed("text", "name", "code", "path", "description"),
        **typed("bool", "is_active", "can_self_register"),
        **typed("bigint", "course_template_id", "semester_id", "department_id"),
        **typed(
            "text",
            "course_template_code",
            "semester_code",
            "semester_name",
            "department_code",
            "department_name",
        ),
        **ts("start_date", "end_date"),
    },
    "users": {
        **key("user_id"),
        **typed("bigint", "org_id"),
        **typed(
            "text",
            "first_name",
            "middle_name",
            "last_name",
            "user_name",
            "external_email",
            "org_defined_id",
            "unique_identifier",
            "pronouns",
            "display_name",
        ),
        **typed("bool", "is_active"),
        **ts("last_accessed_date"),
    },
    "enrollments": {
        **key("org_unit_id", "user_id"),
        **typed("text", "org_defined_id", "display_name", "email_address", "role_code", "role_name"),
        **typed("bigint", "role_id"),
    },
    "classlists": {
        **key("org_unit_id", "user_id"),
        **typed(
            "text",
            "profile_identifier",
            "display_name",
            "username",
            "org_defined_id",
            "email",
            "first_name",
            "last_name",
            "classlist_role_display_name",
            "pronouns",
        ),
        **typed("bigint", "role_id"),
        **typed("bool", "is_online"),
        **ts("last_accessed"),
    },
    "grade_setup": {
        **key("org_unit_id"),
        **typed("text", "grading_system"),
        **typed("bool", "is_null_grade_zero"),
        **typed("bigint", "default_grade_scheme_id"),
    },
    "grade_categories": {
        **key("org_unit_id", "category_id"),
        **typed("text", "name", "short_name", "description"),
        **typed(
            "bool",
            "can_exceed_max",
            "exclude_from_final_grade",
            "auto_points",
            "show_weighted_score",
            "show_points_score",
        ),
        **typed("double", "weight", "max_points"),
        **typed(
            "bigint", "weight_distribution_type", "number_of_highest_to_drop", "number_of_lowest_to_drop"
        ),
        **ts("start_date", "end_date"),
    },
    "grade_objects": {
        **key("org_unit_id", "grade_object_id"),
        **typed(
            "text",
            "name",
            "short_name",
            "grade_type",
            "description",
            "grade_scheme_url",
            "associated_tool_name",
        ),
        **typed("bigint", "category_id", "grade_scheme_id", "associated_tool_id", "associated_tool_item_id"),
        **typed(
            "bool", "is_hidden", "is_bonus", "exclude_from_final_grade_calculation", "can_exceed_max_points"
        ),
        **typed("double", "max_points", "weight"),
    },
    "grade_values": {
        **key("org_unit_id", "grade_object_id", "user_id"),
        **typed("text", "org_defined_id"),
        **_GRADE_VALUE,
        # rows Brightspace stopped serving (a dropped enrollment, a deleted grade object): dlt
        # deletes the matching key instead of inserting
        "deleted_in_lms": {"data_type": "bool", "nullable": True, "hard_delete": True},
    },
    "final_grades": {
        **key("org_unit_id", "user_id"),
        **typed("text", "org_defined_id"),
        **typed("bigint", "grade_object_id"),
        **typed("bool", "has_grade"),
        **_GRADE_VALUE,
    },
}


@dataclass(frozen=True)
class CourseChild:
    """A per-course (org unit) route refreshed in full each run.

    Attributes:
        name: resource and table name.
        product: "lp" or "le".
        path: route template below `d2l/api/<product>/<version>/`, with `{ou}`.
        primary_key: key columns (snake_case); the org unit id is always the merge key.
        single: the route answers one JSON block rather than a list.
        params: query parameters.
    """

    name: str
    product: str
    path: str
    primary_key: tuple[str, ...]
    single: bool = False
    params: tuple[tuple[str, Any], ...] = ()


# merge_key org_unit_id makes each course's refresh replace that course's rows, so rows removed
# upstream (a dropped student) vanish while other courses (other shards) are left alone.
COURSE_CHILDREN: tuple[CourseChild, ...] = (
    CourseChild("enrollments", "lp", "enrollments/orgUnits/{ou}/users/", ("org_unit_id", "user_id")),
    # the paged classlist (ObjectListPage): the bare-array route is unbounded (D2L warns)
    CourseChild("classlists", "le", "{ou}/classlist/paged/", ("org_unit_id", "user_id")),
    CourseChild("grade_setup", "le", "{ou}/grades/setup/", ("org_unit_id",), single=True),
    CourseChild("grade_categories", "le", "{ou}/grades/categories/", ("org_unit_id", "category_id")),
    CourseChild("grade_objects", "le", "{ou}/grades/", ("org_unit_id", "grade_object_id")),
    CourseChild(
        "final_grades",
        "le",
        "{ou}/grades/final/values/",
        ("org_unit_id", "user_id"),
        params=(("pageSize", OBJECT_LIST_PAGE_SIZE),),
    ),
)

COURSE_CHILDREN_BY_NAME = {c.name: c for c in COURSE_CHILDREN}
# the course children whose collections the grade values sync reads too (the SIS key of each
# enrolled user, the grade objects still there): one read per course serves both (CourseReads)
GRADE_VALUES_READS: tuple[str, ...] = ("enrollments", "grade_objects")

# Personal fields per table (snake_case, as loaded), by privacy category (sources/privacy.py;
# `[sources.brightspace.privacy]`). Brightspace's numeric UserId stays: it is the tables' key.
PERSONAL_FIELDS: dict[str, dict[str, str]] = {
    "users": {
        "first_name": "names",
        "middle_name": "names",
        "last_name": "names",
        "display_name": "names",
        "user_name": "login_ids",
        "unique_identifier": "login_ids",
        "external_email": "emails",
        "org_defined_id": "sis_ids",
        "pronouns": "other",
    },
    "enrollments": {"display_name": "names", "email_address": "emails", "org_defined_id": "sis_ids"},
    "classlists": {
        "display_name": "names",
        "first_name": "names",
        "last_name": "names",
        "username": "login_ids",
        "email": "emails",
        "org_defined_id": "sis_ids",
        "pronouns": "other",
        "profile_identifier": "other",
    },
    # grade comments are free text written about the student
    "grade_values": {"org_defined_id": "sis_ids", "comments": "other", "private_comments": "other"},
    "final_grades": {"org_defined_id": "sis_ids", "comments": "other", "private_comments": "other"},
    "grade_results": {"comments": "other", "private_comments": "other"},
    # Brightspace Data Sets (bds_catalogue.py); an untyped data set's columns are not known here
    "bds_users": {
        "first_name": "names",
        "middle_name": "names",
        "last_name": "names",
        "user_name": "login_ids",
        "external_email": "emails",
        "org_defined_id": "sis_ids",
    },
    "discussion_posts": {"thread": "other"},
    "assignment_submissions": {"feedback": "other"},
}
