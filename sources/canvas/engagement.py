"""Canvas course analytics: per-student summaries and per-day course activity, as course transformers.

Both come from the Analytics plugin (docs/canvas-api.md section 4.7), which an account may not have
enabled: a course answering 404 (analytics off) or 401/403 (no permission) is skipped with a
warning and reported in the run's statistics, like any course the token may not read.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from datetime import date, datetime
from typing import Any

import dlt
from dlt.sources import DltResource

from ..lms_http.errors import LmsNotFoundError, LmsPermissionError
from .helpers import CanvasApi
from .rejects import is_course
from .settings import typed

logger = logging.getLogger(__name__)

_LEVELS = ("page_views_level", "participations_level")
_BREAKDOWN = ("total", "on_time", "late", "missing", "floating")

ENGAGEMENT_COLUMNS: dict[str, dict[str, dict[str, Any]]] = {
    "student_summaries": {
        "course_id": {"data_type": "bigint", "nullable": False},
        "user_id": {"data_type": "bigint", "nullable": False},
        **typed(
            "bigint",
            "page_views",
            "max_page_views",
            "participations",
            "max_participations",
            *_LEVELS,
            *(f"tardiness_breakdown__{k}" for k in _BREAKDOWN),
        ),
    },
    "course_activity": {
        "course_id": {"data_type": "bigint", "nullable": False},
        "date": {"data_type": "date", "nullable": False},
        **typed("bigint", "views", "participations"),
    },
}


def shape_student_summary(row: dict[str, Any], course_id: int) -> dict[str, Any]:
    """One student summary as a flat row keyed by (course_id, user_id).

    `id` (the student's user id) becomes `user_id`; `max_page_view` (the API doc's spelling) and
    `max_page_views` (the plugin's) both land in `max_page_views`; levels, served as strings or
    numbers, become integers; `tardiness_breakdown` is flattened to `tardiness_breakdown__*`.
    """
    breakdown = row.get("tardiness_breakdown") or {}
    out: dict[str, Any] = {
        "course_id": course_id,
        "user_id": int(row["id"]),
        "page_views": row.get("page_views"),
        "max_page_views": row.get("max_page_views", row.get("max_page_view")),
        "participations": row.get("participations"),
        "max_participations": row.get("max_participations"),
    }
    for level in _LEVELS:
        value = row.get(level)
        out[level] = int(value) if value not in (None, "") else None
    for key in _BREAKDOWN:
        out[f"tardiness_breakdown__{key}"] = breakdown.get(key)
    return out


def shape_activity(row: dict[str, Any], course_id: int) -> dict[str, Any]:
    """One day of course activity; `date` may come as `2026-10-14` or a full timestamp."""
    raw = str(row["date"])
    day = (
        date.fromisoformat(raw)
        if len(raw) == 10
        else datetime.fromisoformat(raw.replace("Z", "+00:00")).date()
    )
    return {
        "course_id": course_id,
        "date": day,
        "views": row.get("views"),
        "participations": row.get("participations"),
    }


def engagement_resources(courses: DltResource, api: CanvasApi, strict: bool = False) -> list[DltResource]:
    """The `student_summaries` and `course_activity` transformers fed by `courses`.

    Each course's rows replace that course's earlier rows (merge_key course_id); a skipped course
    keeps what an earlier run loaded.

    Args:
        courses: The courses resource (one course dict per item).
        api: The shared Canvas client.
        strict: Fail the run when a course's analytics cannot be read, instead of skipping it.
    """

    def read(
        scope: str, course: dict[str, Any], fetch: Callable[[], list[dict[str, Any]]]
    ) -> list[dict[str, Any]]:
        try:
            return fetch()
        except (LmsPermissionError, LmsNotFoundError) as exc:
            if strict:
                raise
            reason = (
                f"analytics not enabled or not found (HTTP 404): {exc}"
                if isinstance(exc, LmsNotFoundError)
                else str(exc)
            )
            logger.warning("skipping %s of course %s: %s", scope, course["id"], reason)
            api.stats.record_skipped(scope, "course_id", course["id"], reason)
            return []

    @dlt.defer
    def fetch_summaries(course: dict[str, Any]) -> list[dict[str, Any]]:
        course_id = int(course["id"])
        return read(
            "student_summaries",
            course,
            lambda: [
                shape_student_summary(r, course_id)
                for r in api.rows(f"courses/{course_id}/analytics/student_summaries")
            ],
        )

    @dlt.defer
    def fetch_activity(course: dict[str, Any]) -> list[dict[str, Any]]:
        course_id = int(course["id"])
        # an unpaginated array (analytics/activity has no Link header)
        return read(
            "course_activity",
            course,
            lambda: [
                shape_activity(r, course_id) for r in api.get(f"courses/{course_id}/analytics/activity")
            ],
        )

    def summaries(course: dict[str, Any]) -> Iterator[Any]:
        if not is_course(course):
            return
        yield fetch_summaries(course)

    def activity(course: dict[str, Any]) -> Iterator[Any]:
        if not is_course(course):
            return
        yield fetch_activity(course)

    return [
        dlt.transformer(
            summaries,
            name="student_summaries",
            data_from=courses,
            primary_key=("course_id", "user_id"),
            merge_key="course_id",
            write_disposition="merge",
            columns=ENGAGEMENT_COLUMNS["student_summaries"],
        ),
        dlt.transformer(
            activity,
            name="course_activity",
            data_from=courses,
            primary_key=("course_id", "date"),
            merge_key="course_id",
            write_disposition="merge",
            columns=ENGAGEMENT_COLUMNS["course_activity"],
        ),
    ]
