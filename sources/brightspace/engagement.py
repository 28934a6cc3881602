"""Brightspace engagement: content progress per course (`{ou}/content/userprogress/`, le).

Each record says how one student used one content topic: visits, time spent, last visit,
completion. Only users with recorded progress are listed (docs/brightspace-api.md section 5.7). Course
last access is already in `classlists.last_accessed`. A course the app may not read (403, e.g. a
missing `content:*` scope) or that answers 404 is skipped and reported, like other course routes.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import dlt
from dlt.sources import DltResource

from ..lms_http.errors import LmsNotFoundError, LmsPermissionError
from .helpers import BrightspaceApi
from .settings import OBJECT_LIST_PAGE_SIZE, key, ts, typed

logger = logging.getLogger(__name__)

CONTENT_PROGRESS_COLUMNS: dict[str, dict[str, Any]] = {
    **key("org_unit_id", "object_id", "user_id"),
    **typed("bigint", "num_visits", "total_time"),
    **typed("bool", "is_read", "visited", "completed", "is_exempt"),
    **ts("last_visited", "completed_date"),
}


def shape_progress(block: dict[str, Any], org_unit_id: int) -> dict[str, Any]:
    """UserProgressData -> content_user_progress row (CamelCase; dlt makes it snake_case)."""
    return {"OrgUnitId": org_unit_id, **block}


def content_progress_resource(courses: DltResource, api: BrightspaceApi, strict: bool = False) -> DltResource:
    """The `content_user_progress` transformer fed by the courses resource.

    Merged per course (merge key org_unit_id): each run replaces a course's records, so a dropped
    student's records go; a skipped course keeps what an earlier run loaded.
    """

    @dlt.defer
    def fetch(ou: int) -> list[dict[str, Any]]:
        try:
            blocks = api.rows(api.le(f"{ou}/content/userprogress/"), {"pageSize": OBJECT_LIST_PAGE_SIZE})
        except (LmsPermissionError, LmsNotFoundError) as exc:
            if strict:
                raise
            logger.warning("skipping content_user_progress of org unit %s: %s", ou, exc)
            api.stats.record_skipped("content_user_progress", "org_unit_id", ou, str(exc))
            return []
        return [shape_progress(b, ou) for b in blocks]

    def progress(course: dict[str, Any]) -> Iterator[Any]:
        yield fetch(int(course["OrgUnitId"]))

    return dlt.transformer(
        progress,
        name="content_user_progress",
        data_from=courses,
        primary_key=("org_unit_id", "object_id", "user_id"),
        merge_key="org_unit_id",
        write_disposition="merge",
        columns=CONTENT_PROGRESS_COLUMNS,
    )
