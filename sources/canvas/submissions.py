"""Incremental submissions per course: two strict cursors, an overlap window, and reconciliation."""

from __future__ import annotations

from collections.abc import Callable, Collection
from datetime import UTC, datetime, timedelta
from typing import Any

import dlt

from ..lms_http.shared_reads import SharedReads
from ..unchanged import row_fingerprint
from .helpers import CanvasApi, shape_submission
from .rejects import KEY_FIELDS, Rejects, key_problem
from .settings import COURSE_CHILDREN, EPOCH, ID_CHUNK, LIVE_STUDENT_STATES

Key = tuple[int, int, int]
Rows = list[dict[str, Any]]

# the course collections the submissions check reads, which their own resources read too
SHARED_CHILDREN = ("assignments", "enrollments")


def _parse(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)


def _fmt(value: datetime) -> str:
    # Canvas accepts only YYYY-MM-DDTHH:MM:SSZ for *_since
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _key(row: dict[str, Any]) -> Key:
    return (int(row["course_id"]), int(row["assignment_id"]), int(row["user_id"]))


def _chunks(ids: list[int], size: int = ID_CHUNK) -> list[list[int]]:
    return [ids[i : i + size] for i in range(0, len(ids), size)]


def _max_ts(rows: list[dict[str, Any]], field: str, current: str | None) -> str | None:
    best = _parse(current) if current else None
    for row in rows:
        value = row.get(field)
        if value:
            parsed = _parse(value)
            if best is None or parsed > best:
                best = parsed
    return _fmt(best) if best else current


def is_first_sync(state: dict[str, Any]) -> bool:
    """Whether a course's submissions state is empty: its first sync reads every row and no lists."""
    return not state.get("submitted") and not state.get("graded") and "students" not in state


class CourseLists:
    """A course's assignments and every-state enrollments, read once per run for all who need them.

    The `assignments` and `enrollments` resources and the submissions check of a rerun read the
    same lists of a course; the first reader fetches, the others take its rows (`SharedReads`).
    The rows are shared: readers build new rows from them and never change them.

    One instance serves one run of one source: the plan of who reads what is made once, from the
    selected resources and the submissions state as the run starts.
    """

    def __init__(self, api: CanvasApi) -> None:
        self.api = api
        self.reads = SharedReads()
        self._requests = {
            name: (path, params) for name, path, params in COURSE_CHILDREN if name in SHARED_CHILDREN
        }
        self._plan: tuple[Collection[str], Collection[str]] | None = None

    def readers(self, name: str, course_id: int) -> int:
        """How many consumers take the course's `name` list this run (call in the extract thread).

        The `name` resource if it is selected, and the submissions check if it is selected and the
        course was synced before (a first sync reads no lists). Counted right, a list is dropped as
        soon as its last reader took it; a read nobody else takes is not kept at all.
        """
        if self._plan is None:
            # taken before any submissions worker changes the state (they start after this call)
            selected = set(dlt.current.source().selected_resources)
            synced: set[str] = set()
            if "submissions" in selected:
                per_course = dlt.current.source_state().get("resources", {}).get("submissions", {})
                synced = {
                    key for key, state in per_course.get("courses", {}).items() if not is_first_sync(state)
                }
            self._plan = (selected, synced)
        selected, synced = self._plan
        return int(name in selected) + int(str(course_id) in synced)

    def rows(self, name: str, course_id: int, uses: int) -> Rows:
        """The course's `name` list as Canvas serves it (shared: do not change the rows)."""
        path, params = self._requests[name]
        return self.reads.get(
            (name, course_id), lambda: self.api.rows(path.format(course_id=course_id), params), uses
        )


class CourseSubmissionSync:
    """Works out which submission rows of one course changed since the last run.

    State per course (kept in dlt resource state, a few small lists):
    `submitted` / `graded`: the highest `submitted_at` / `graded_at` seen; `assignments`: published
    assignment ids already loaded; `students`: live student ids already loaded; `boundary`:
    fingerprints of rows inside the overlap window, so re-read rows that did not change are not
    loaded again.

    A first run reads the whole course. Later runs ask Canvas for `submitted_since` and
    `graded_since` (cursor minus the overlap), fetch all rows of assignments and students that are
    new since the last run (their unsubmitted placeholders carry no timestamps the cursors could
    catch), and emit delete markers for rows Canvas stopped serving (a dropped student, a removed
    or unpublished assignment).
    """

    def __init__(
        self,
        api: CanvasApi,
        course_id: int,
        state: dict[str, Any],
        overlap_seconds: int,
        lists: Callable[[str], Rows],
        rejects: Rejects | None = None,
    ) -> None:
        """Sync one course.

        Args:
            api: the client.
            course_id: the course.
            state: the course's submissions state (changed in place).
            overlap_seconds: window re-read before each cursor.
            lists: the course's `assignments` or every-state `enrollments` list, by name (read
                with the resources that load them, see `CourseLists`).
            rejects: sets aside rows without a usable key (`rejected` holds them after `run`).
        """
        self.api = api
        self.course_id = course_id
        self.state = state
        self.overlap = timedelta(seconds=overlap_seconds)
        self.lists = lists
        self.path = f"courses/{course_id}/students/submissions"
        self.rejects = rejects
        self.rejected: Rows = []

    def _fetch(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        rows = self.api.rows(self.path, params)
        if self.rejects is not None:
            rows, bad = self.rejects.split("submissions", self.course_id, rows)
            self.rejected.extend(bad)
        return [shape_submission(r, self.course_id) for r in rows]

    def _published_assignments(self) -> set[int]:
        # rows without a usable id are the assignments resource's rejects
        return {
            int(a["id"])
            for a in self.lists("assignments")
            if a.get("published") and key_problem(a, ("id",)) is None
        }

    def _live_students(self) -> set[int]:
        # what `type[]=StudentEnrollment&state[]=<LIVE_STUDENT_STATES>` would serve, taken from the
        # every-state list: those filters match the `type` and `enrollment_state` each row carries
        return {
            int(r["user_id"])
            for r in self.lists("enrollments")
            if r.get("type") == "StudentEnrollment"
            and r.get("enrollment_state") in LIVE_STUDENT_STATES
            and key_problem(r, KEY_FIELDS["enrollments"]) is None
        }

    def run(self) -> list[dict[str, Any]]:
        """Fetch and return the rows to merge (changed rows and delete markers)."""
        if is_first_sync(self.state):
            # keyed, so a row served twice (pages shifting under the listing) is loaded once
            rows = list({_key(r): r for r in self._fetch({"student_ids[]": "all"})}.values())
            self._remember(rows, {r["assignment_id"] for r in rows}, {r["user_id"] for r in rows})
            return rows

        known_assignments = set(self.state.get("assignments", []))
        known_students = set(self.state.get("students", []))
        published = self._published_assignments()
        students = self._live_students()

        found: dict[Key, dict[str, Any]] = {}
        for field, param in (("submitted", "submitted_since"), ("graded", "graded_since")):
            since = _parse(self.state.get(field) or EPOCH) - self.overlap
            for row in self._fetch({"student_ids[]": "all", param: _fmt(max(since, _parse(EPOCH)))}):
                found[_key(row)] = row
        new_assignments = sorted(published - known_assignments)
        for chunk in _chunks(new_assignments):
            for row in self._fetch({"student_ids[]": "all", "assignment_ids[]": chunk}):
                found[_key(row)] = row
        new_students = sorted(students - known_students)
        for chunk in _chunks(new_students):
            for row in self._fetch({"student_ids[]": chunk}):
                found[_key(row)] = row

        boundary = set(self.state.get("boundary", []))
        changed = [r for r in found.values() if row_fingerprint(r) not in boundary]

        deletes: list[dict[str, Any]] = []
        gone_students = known_students - students
        gone_assignments = known_assignments - published
        for user_id in sorted(gone_students):
            for assignment_id in sorted(known_assignments):
                deletes.append(self._delete_marker(assignment_id, user_id))
        for assignment_id in sorted(gone_assignments):
            for user_id in sorted(known_students - gone_students):
                deletes.append(self._delete_marker(assignment_id, user_id))

        self._remember(list(found.values()), published, students)
        # one row per key; a delete marker wins over a row read in the same run, as the state
        # just forgot that student or assignment
        return list(({_key(r): r for r in changed} | {_key(d): d for d in deletes}).values())

    def _delete_marker(self, assignment_id: int, user_id: int) -> dict[str, Any]:
        return {
            "course_id": self.course_id,
            "assignment_id": assignment_id,
            "user_id": user_id,
            "deleted_in_lms": True,
        }

    def _remember(self, rows: list[dict[str, Any]], assignments: set[Any], students: set[Any]) -> None:
        submitted = _max_ts(rows, "submitted_at", self.state.get("submitted"))
        graded = _max_ts(rows, "graded_at", self.state.get("graded"))
        window: set[str] = set()
        for field, cursor in (("submitted_at", submitted), ("graded_at", graded)):
            if not cursor:
                continue
            floor = _parse(cursor) - self.overlap
            for row in rows:
                value = row.get(field)
                if value and _parse(value) > floor:
                    window.add(row_fingerprint(row))
        self.state.update(
            submitted=submitted,
            graded=graded,
            assignments=sorted(int(a) for a in assignments),
            students=sorted(int(s) for s in students),
            boundary=sorted(window),
        )
