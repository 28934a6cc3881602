"""Incremental grade values per course: bulk `modifiedSince` reads, an overlap window, and reconciliation."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from ..unchanged import row_fingerprint
from . import shaping
from .datahub import format_utc, parse_utc
from .helpers import BrightspaceApi
from .settings import GRADE_VALUES_PAGE_SIZE

Key = tuple[int, int, int]  # (OrgUnitId, GradeObjectId, UserId)


def _key_text(key: Key) -> str:
    return f"{key[1]}_{key[2]}"


class CourseGradeValueSync:
    """Works out which grade values of one course changed since the last run.

    State per course (dlt resource state, small): `cursor` the highest LastModified seen;
    `boundary` {"<object>_<user>": [fingerprint, LastModified]} of the rows inside the overlap
    window, so re-read rows that did not change are not loaded again; `users` / `objects` the user
    and grade object ids whose values are loaded.

    The first run reads every value of the course (`{ou}/grades/values/`). Later runs ask for
    `modifiedSince` = cursor minus the overlap (Brightspace compares inclusively, at second
    precision). Values of users no longer enrolled and of grade objects that were deleted leave the
    API without a trace, so for those this emits delete markers (`deleted_in_lms`).
    """

    def __init__(
        self,
        api: BrightspaceApi,
        org_unit_id: int,
        state: dict[str, Any],
        overlap_seconds: int,
        read_child: Callable[[str], list[dict[str, Any]]],
    ) -> None:
        """Prepare one course's sync.

        Args:
            api: the client (reads the values route).
            org_unit_id: the course.
            state: the course's slot in the resource state (`run` changes it in place).
            overlap_seconds: window re-read before the cursor.
            read_child: the course's blocks of a `GRADE_VALUES_READS` collection, by child name;
                read once for this sync and the resource of that name, so shared: read only.
        """
        self.api = api
        self.org_unit_id = org_unit_id
        self.state = state
        self.overlap = timedelta(seconds=overlap_seconds)
        self.read_child = read_child

    def _enrolled(self) -> dict[int, str | None]:
        """Enrolled user id -> OrgDefinedId (the SIS key carried on each grade value row)."""
        enrolled: dict[int, str | None] = {}
        for block in self.read_child("enrollments"):
            person = block.get("User") or {}
            if person.get("Identifier") is not None:
                enrolled[int(person["Identifier"])] = person.get("OrgDefinedId")
        return enrolled

    def _objects(self) -> set[int]:
        return {int(o["Id"]) for o in self.read_child("grade_objects")}

    def run(self) -> list[dict[str, Any]]:
        """Rows to merge: changed values, plus delete markers for values that left the API."""
        state = self.state
        enrolled = self._enrolled()
        objects = self._objects()
        cursor = state.get("cursor")
        params: dict[str, Any] = {"pageSize": GRADE_VALUES_PAGE_SIZE}
        if cursor:
            params["modifiedSince"] = format_utc(parse_utc(cursor) - self.overlap)
        boundary: dict[str, list[Any]] = state.get("boundary", {})
        out: dict[Key, dict[str, Any]] = {}  # one row per key
        seen_users: set[int] = set()
        newest = parse_utc(cursor) if cursor else None
        # key text -> (row, LastModified, its time): fingerprints are taken only where needed (a
        # row inside the final overlap window, or one the last run's window holds), not for all
        fresh: dict[str, tuple[dict[str, Any], str, Any]] = {}
        for block in self.api.rows(self.api.le(f"{self.org_unit_id}/grades/values/"), params):
            row = shaping.grade_value(block, self.org_unit_id, enrolled)
            key: Key = (row["OrgUnitId"], row["GradeObjectId"], row["UserId"])
            seen_users.add(key[2])
            objects.add(key[1])
            text = _key_text(key)
            modified = row.get("LastModified")
            if modified:
                stamp = parse_utc(modified)
                if newest is None or stamp > newest:
                    newest = stamp
                fresh[text] = (row, modified, stamp)
            previous = boundary.get(text)
            if previous is not None and previous[0] == row_fingerprint(row):
                continue  # re-read inside the overlap window, unchanged
            out[key] = row

        # values that left the API: a user no longer enrolled, a grade object deleted
        known_users = set(state.get("users", [])) | seen_users
        known_objects = set(state.get("objects", []))
        gone_users = known_users - set(enrolled)
        gone_objects = known_objects - objects
        doomed: set[Key] = set()
        for user_id in gone_users:
            doomed.update((self.org_unit_id, go, user_id) for go in known_objects | objects)
        for go in gone_objects:
            doomed.update((self.org_unit_id, go, user_id) for user_id in known_users)
        # a delete marker wins over a value read in the same run: the state forgets that user or object
        for ou, go, user_id in sorted(doomed):
            out[(ou, go, user_id)] = {
                "OrgUnitId": ou,
                "GradeObjectId": go,
                "UserId": user_id,
                "DeletedInLms": True,
            }

        if newest is not None:
            window_start = newest - self.overlap
            # a key read this run replaces the last run's entry, whether or not it stays in the window
            merged = {k: v for k, v in boundary.items() if k not in fresh and parse_utc(v[1]) >= window_start}
            merged.update(
                (k, [row_fingerprint(row), modified])
                for k, (row, modified, stamp) in fresh.items()
                if stamp >= window_start
            )
            state["boundary"] = {
                k: v
                for k, v in merged.items()
                if int(k.split("_")[1]) not in gone_users and int(k.split("_")[0]) not in gone_objects
            }
            state["cursor"] = format_utc(newest)
        state["users"] = sorted(known_users - gone_users)
        state["objects"] = sorted(objects)
        return list(out.values())
