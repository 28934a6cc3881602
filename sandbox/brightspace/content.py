"""Content progress for the Brightspace sandbox: `{ou}/content/userprogress/` (docs/brightspace-api.md 5.7).

Each course offering has a table of contents of 8-20 topics (ObjectIds unique in the institution),
and each enrolled student a `UserProgressData` record per topic they visited, completed or were
exempted from; only users with recorded progress are returned, as the route documents. Visits lie
between the student's enrollment (or the term start) and the earlier of the sandbox's starting
clock and the term end. Everything is drawn from a stream seeded by the course, so the order in which courses are
read never changes what they hold; `advance()` records no new progress (a simplification).

Route details: an ObjectListPage ordered by (UserId, ObjectId), `pageSize` default 20 (1-200),
repeatable `userId` and `objectId` filters, and an opaque `bookmark` in the Next URL.
"""

from __future__ import annotations

import random
import weakref
from dataclasses import dataclass
from typing import Any

from .institution import SANDBOX_START, STUDENT, Course, Institution
from .timestamps import to_utc_string

DEFAULT_PAGE_SIZE = 20


@dataclass(frozen=True, slots=True)
class Progress:
    """One UserProgressData record."""

    object_id: int
    user_id: int
    visited: bool
    num_visits: int
    total_time: int  # seconds
    last_visited: int | None
    completed: bool
    completed_date: int | None
    is_read: bool
    is_exempt: bool

    def as_json(self) -> dict[str, Any]:
        """The record as the route serves it."""
        return {
            "ObjectId": self.object_id,
            "UserId": self.user_id,
            "CompletedDate": to_utc_string(self.completed_date),
            "IsRead": self.is_read,
            "NumVisits": self.num_visits,
            "TotalTime": self.total_time,
            "LastVisited": to_utc_string(self.last_visited),
            "Visited": self.visited,
            "Completed": self.completed,
            "IsExempt": self.is_exempt,
        }


def topic_ids(inst: Institution, course: Course) -> list[int]:
    """The course's content topic ObjectIds."""
    rng = random.Random(f"{inst.seed_key}:content-toc:{course.ou.id}")
    return [course.ou.id * 100 + k for k in range(1, rng.randint(8, 20) + 1)]


def _build(inst: Institution, course: Course) -> dict[int, list[Progress]]:
    """Progress per student user id, for every student ever on the roster (drops filtered on read)."""
    rng = random.Random(f"{inst.seed_key}:content-progress:{course.ou.id}")
    topics = topic_ids(inst, course)
    end = min(SANDBOX_START, course.term_end)  # fixed, so advance() changes nothing here
    out: dict[int, list[Progress]] = {}
    for uid in course.students:
        engagement = rng.random()
        enrollment = course.enrollments.get(uid)
        start = max(course.term_start, enrollment.enrolled_at if enrollment else course.term_start)
        records = []
        for position, object_id in enumerate(topics):
            # later topics are released later in the term; unreleased ones see no visits
            released = course.term_start + (course.term_end - course.term_start) * position // len(topics)
            exempt = rng.random() < 0.01
            visits = 0
            if released < end and rng.random() < 0.35 + 0.6 * engagement:
                visits = 1 + int(rng.random() * 10 * engagement)
            if not visits and not exempt:
                continue
            last = rng.randint(max(start, released), end) if visits else None
            completed = visits > 0 and rng.random() < 0.5 + 0.45 * engagement
            records.append(
                Progress(
                    object_id,
                    uid,
                    visits > 0,
                    visits,
                    visits * rng.randint(30, 900) if visits else 0,
                    last,
                    completed,
                    rng.randint(max(start, released), last) if completed and last is not None else None,
                    visits > 0,
                    exempt,
                )
            )
        if records:
            out[uid] = records
    return out


def course_progress(inst: Institution, course: Course) -> list[Progress]:
    """Records of currently enrolled students, ordered by (UserId, ObjectId) (call under the lock)."""
    per_course = _PROGRESS.setdefault(inst, {})
    by_user = per_course.get(course.ou.id)
    if by_user is None:
        by_user = per_course[course.ou.id] = _build(inst, course)
    return [
        p
        for uid in sorted(by_user)
        if uid in course.enrollments and course.enrollments[uid].role is STUDENT
        for p in by_user[uid]
    ]


# built once per course of each institution (a record never changes once drawn)
_PROGRESS: weakref.WeakKeyDictionary[Institution, dict[int, dict[int, list[Progress]]]] = (
    weakref.WeakKeyDictionary()
)


def progress_rows(inst: Institution) -> list[dict[str, Any]]:
    """Every record the route serves, each with `OrgUnitId` added (the truth of a complete extract)."""
    with inst.lock:
        return [
            {**p.as_json(), "OrgUnitId": ou}
            for ou in inst.course_ids
            for p in course_progress(inst, inst.courses[ou])
        ]
