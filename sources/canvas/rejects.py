"""Rows with a missing or mistyped key field: set aside in the `rejects` table, the rest loads.

A Canvas row whose key field is absent, null or not an integer id (a submission without
`assignment_id`) cannot be merged or joined. Such a row is not loaded into its own table: it
becomes a `rejects` row (endpoint, course, key, reason), is counted in the run report
(`RequestStats.rejected`), and with `strict` the run stops with one line naming it.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import dlt
from dlt.sources import DltResource

from ..lms_http.errors import LmsApiError
from ..lms_http.stats import RequestStats
from .settings import COLUMNS

REJECTS_TABLE = "rejects"

# endpoint -> the fields a row must carry as integer ids (the merge keys and join keys)
KEY_FIELDS: dict[str, tuple[str, ...]] = {
    "accounts": ("id",),
    "terms": ("id",),
    "courses": ("id",),
    "users": ("id",),
    "sections": ("id",),
    "enrollments": ("id", "user_id"),
    "enrollment_period_grades": ("id", "user_id"),
    "assignment_groups": ("id",),
    "assignments": ("id",),
    "submissions": ("assignment_id", "user_id"),
    "grading_period_sets": ("id",),
    "grading_periods": ("id",),
    "late_policies": ("id",),
    "custom_grade_statuses": ("id",),
}


class RejectedRowError(LmsApiError):
    """A row was rejected while `strict` is on (the message names endpoint, course, key, reason).

    An LmsApiError, so the pipelines report it in one line like other LMS errors."""


def key_problem(row: Any, fields: Iterable[str]) -> tuple[str, str] | None:
    """The first key field `row` lacks or carries with the wrong type, as (key, reason), or None.

    Integer ids are accepted as JSON numbers or as digit strings (Canvas sends strings under
    `Accept: application/json+canvas-string-ids`); the value is not changed here.
    """
    if not isinstance(row, dict):
        return "(row)", f"not an object: {type(row).__name__}"
    for key in fields:
        if key not in row:
            return key, "missing"
        value = row[key]
        if value is None:
            return key, "null"
        if isinstance(value, bool) or not (
            isinstance(value, int) or (isinstance(value, str) and value.isdigit())
        ):
            return key, f"wrong type: {type(value).__name__} {str(value)[:40]!r}, expected an integer id"
    return None


class Rejects:
    """Splits rows into the good ones and `rejects` rows, recording each reject in the run stats."""

    def __init__(self, client: Any, strict: bool = False) -> None:
        """Record into `client.stats`, read at each reject: a source built only to list its
        resources has a client whose settings are not resolved yet (lms_http/deferred.py)."""
        self._client = client
        self.strict = strict

    @property
    def stats(self) -> RequestStats:
        """The run's request statistics (the client's)."""
        return self._client.stats

    def split(
        self, endpoint: str, course_id: int | None, rows: Iterable[Any]
    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """(rows to load, rejects rows) of one endpoint's rows.

        Raises:
            RejectedRowError: a row was rejected and `strict` is on.
        """
        fields = KEY_FIELDS.get(endpoint, ())
        good: list[dict[str, Any]] = []
        bad: list[dict[str, Any]] = []
        for row in rows:
            problem = key_problem(row, fields)
            if problem is None:
                good.append(row)
                continue
            key, reason = problem
            reject = {
                "endpoint": endpoint,
                "course_id": course_id,
                "key": key,
                "reason": reason,
                "rejected_at": datetime.now(UTC),
            }
            self.stats.record_rejected({k: v for k, v in reject.items() if k != "rejected_at"})
            if self.strict:
                where = f" of course {course_id}" if course_id is not None else ""
                raise RejectedRowError(
                    f"a Canvas {endpoint} row{where} has key {key!r} {reason}"
                    " (--strict is on: without it such rows go to the rejects table and the rest loads)"
                )
            bad.append(reject)
        return good, bad


def rejects_hints() -> Any:
    """The `rejects` table's own hints: append, its columns only."""
    return dlt.mark.make_hints(
        table_name=REJECTS_TABLE, write_disposition="append", columns=COLUMNS[REJECTS_TABLE]
    )


def route_rejects(resource: DltResource) -> DltResource:
    """Give a resource a `rejects` table variant with only the rejects hints.

    dlt starts a table variant from the resource's own hints (its columns, keys, merge) when the
    first item marked for it arrives; registered up front, the variant is the clean one.
    """
    resource._set_hints(rejects_hints(), create_table_variant=True)  # noqa: SLF001 (no public way)
    return resource


def is_course(item: Any) -> bool:
    """Whether an item of the `courses` resource is a course (its rejects come as a marked list)."""
    return isinstance(item, dict)


def as_rejects(rows: list[dict[str, Any]]) -> Any:
    """Rejects rows marked for the `rejects` table (its variant is set by `route_rejects`)."""
    return dlt.mark.with_table_name(rows, REJECTS_TABLE)
