"""Rows of the engagement and log data sets of the BDS catalogue (docs/brightspace-api.md §6.1).

Columns follow D2L's BDS schema pages (mforest-gsu/d2l-datahub-cli:schema/datasets/all.json, which
mirrors them). The sandbox has no quiz, dropbox or discussion tools of its own, so these rows are drawn
from the grade book: a graded value of a "Quizzes" item is a completed quiz attempt, of a "Dropbox" item
an assignment submission, of a "Discussions" item one to three discussion posts. Course Access holds a
row per day on which a student attended a class (any mark but Absent) or visited content; Content User
Progress holds the records of `{ou}/content/userprogress/`; a withdrawal deletes none of these activity
rows. Enrollments and Withdrawals logs every enrollment and
every withdrawal the Data Hub saw between two extracts (`HubEvents`).

Deletions (UNCONFIRMED where the schema pages are silent): a deleted post or quiz attempt stays in the
data set with IsDeleted = 1 and leaves in the next differential at its deletion time; Full extracts keep
such rows too, flagged.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from .content import course_progress
from .gradebook import GRADED, GradeItem
from .institution import ROOT_ORG_UNIT_ID, Enrollment, Institution
from .shapes import GRADE_SCHEME
from .timestamps import to_utc_string

if TYPE_CHECKING:
    from .datasets import Row, Scope

DAY = 86_400
ID_SPAN = 10_000_000  # user ids stay below this: (object id, user id) packs into one bigint


@dataclass(frozen=True, slots=True)
class HubEvents:
    """What the Data Hub recorded between extracts: deletions and withdrawals.

    Attributes:
        deleted: (data set name, row id) -> the instant the row was deleted.
        withdrawals: (enrollment, instant) of each enrollment that ended.
    """

    deleted: Mapping[tuple[str, int], int] = field(default_factory=dict)
    withdrawals: tuple[tuple[Enrollment, int], ...] = ()


def quiz_attempt_id(item_id: int, user_id: int) -> int:
    """AttemptId of a student's (first and only) attempt at a quiz."""
    return item_id * ID_SPAN + user_id


def post_id(item_id: int, user_id: int, n: int) -> int:
    """PostId of a student's n-th post in a discussion topic."""
    return (item_id * ID_SPAN + user_id) * 4 + n


def posts_of(item_id: int, user_id: int) -> int:
    """How many posts a student wrote in a graded topic (1-3, stable)."""
    return 1 + zlib.crc32(f"{item_id}:{user_id}".encode()) % 3


def _graded(inst: Institution, scope: Scope, tool: str) -> Iterator[tuple[int, GradeItem, int, float, int]]:
    """(org unit, item, user id, points, modified) of each graded value, withdrawn students' too."""
    for course in scope.courses:
        book = inst.gradebook(course)
        for k, item in enumerate(book.items):
            if item.tool != tool:
                continue
            states, points, modified = book.state[k], book.points[k], book.modified[k]
            for s, uid in enumerate(book.students):
                if states[s] == GRADED:  # a withdrawal deletes no activity
                    yield book.ou, item, uid, points[s], modified[s]


def _withdrawn(scope: Scope) -> dict[int, dict[int, Enrollment]]:
    """Withdrawn enrollments by org unit and user."""
    out: dict[int, dict[int, Enrollment]] = {}
    for e, _ in scope.events.withdrawals if scope.events else ():
        out.setdefault(e.org_unit_id, {})[e.user_id] = e
    return out


def _deleted(scope: Scope, name: str, row_id: int) -> int | None:
    return scope.events.deleted.get((name, row_id)) if scope.events else None


def quiz_attempts(inst: Institution, scope: Scope) -> Iterator[Row]:
    """Quiz Attempts: one completed attempt per graded quiz value."""
    for ou, item, uid, points, modified in _graded(inst, scope, "Quizzes"):
        attempt = quiz_attempt_id(item.id, uid)
        deleted = _deleted(scope, "Quiz Attempts", attempt)
        started = modified - 1_800
        yield (
            deleted if deleted is not None else modified,
            [
                attempt,
                item.id,
                uid,
                ou,
                1,
                to_utc_string(started),
                to_utc_string(modified),
                points,
                True,
                None,
                deleted is not None,
                item.max_points,
                False,
                to_utc_string(item.due),
                30,
                True,
                0,
                None,
                None,
            ],
        )


def discussion_posts(inst: Institution, scope: Scope) -> Iterator[Row]:
    """Discussion Posts: one to three posts per graded discussion value (a thread and its replies)."""
    for ou, item, uid, _, modified in _graded(inst, scope, "Discussions"):
        first = post_id(item.id, uid, 0)
        count = posts_of(item.id, uid)
        for n in range(count):
            pid = post_id(item.id, uid, n)
            deleted = _deleted(scope, "Discussion Posts", pid)
            posted = modified - (count - n) * 3_600
            yield (
                deleted if deleted is not None else modified,
                [
                    ou,
                    item.id,
                    uid,
                    pid,
                    first,
                    n > 0,
                    first if n else None,
                    count - 1 if n == 0 else 0,
                    to_utc_string(posted),
                    deleted is not None,
                    0,
                    0,
                    None,
                    None,
                    n,
                    1 if n else 0,
                    None,
                    40 + zlib.crc32(f"{pid}".encode()) % 200,
                    0,
                ],
            )


def assignment_submissions(inst: Institution, scope: Scope) -> Iterator[Row]:
    """Assignment Submissions: one graded submission per graded dropbox value."""
    for ou, item, uid, points, modified in _graded(inst, scope, "Dropbox"):
        submitted = modified - DAY
        yield (
            modified,
            [
                item.id,
                ou,
                uid,
                "User",
                1,
                20_000 + zlib.crc32(f"{item.id}:{uid}".encode()) % 500_000,
                None,
                False,
                points,
                True,
                to_utc_string(submitted),
                None,
                to_utc_string(modified),
                None,
                to_utc_string(submitted),
            ],
        )


def course_access(inst: Institution, scope: Scope) -> Iterator[Row]:
    """Course Access: (OrgUnitId, UserId, DayAccessed) for each day a student was active in a course.

    Active means attending a class meeting (any mark but Absent) or visiting content that day: events
    that never change, so a day once listed stays. A day row first appears in the differential of its
    first activity.
    """
    withdrawn = _withdrawn(scope)
    for course in scope.courses:
        events: list[tuple[int, int]] = []  # (user id, instant) of each activity
        register = inst.attendance(course)
        symbols = register.scheme.symbols
        for j in range(len(register.sessions)):
            marks, modified = register.marks[j], register.modified[j]
            events += [
                (uid, modified[s])
                for s, uid in enumerate(register.students)
                if marks[s] and symbols[marks[s] - 1].name != "Absent"
            ]
        everyone = replace(course, enrollments={**withdrawn.get(course.ou.id, {}), **course.enrollments})
        events += [(p.user_id, p.last_visited) for p in course_progress(inst, everyone) if p.last_visited]
        first_seen: dict[tuple[int, int], int] = {}
        for uid, when in events:
            key = (uid, when - when % DAY)
            if when and (key not in first_seen or when < first_seen[key]):
                first_seen[key] = when
        for (uid, day), when in sorted(first_seen.items()):
            yield when, [course.ou.id, uid, to_utc_string(day)]


def content_user_progress(inst: Institution, scope: Scope) -> Iterator[Row]:
    """Content User Progress: the records `{ou}/content/userprogress/` serves, in BDS columns, and
    those of withdrawn students (the route leaves them out; the data set keeps them)."""
    withdrawn = _withdrawn(scope)
    for course in scope.courses:
        everyone = replace(course, enrollments={**withdrawn.get(course.ou.id, {}), **course.enrollments})
        for p in course_progress(inst, everyone):
            changed = max(p.last_visited or 0, p.completed_date or 0) or course.term_start
            yield (
                changed,
                [
                    p.object_id,
                    p.user_id,
                    to_utc_string(p.completed_date),
                    to_utc_string(p.last_visited),
                    p.is_read,
                    p.num_visits,
                    0,
                    p.total_time,
                    p.visited,
                    False,
                    False,
                    to_utc_string(changed),
                ],
            )


def enrollments_and_withdrawals(inst: Institution, scope: Scope) -> Iterator[Row]:
    """Enrollments and Withdrawals: an Enroll log row per enrollment, an Unenroll row per withdrawal."""
    withdrawals = scope.events.withdrawals if scope.events else ()
    withdrawn = {(e.org_unit_id, e.user_id) for e, _ in withdrawals}
    entries: list[tuple[Enrollment, str, int]] = [
        (e, "Enroll", e.enrolled_at)
        for course in scope.courses
        for e in course.enrollments.values()
        if (e.org_unit_id, e.user_id) not in withdrawn
    ]
    for e, when in withdrawals:
        entries += [(e, "Enroll", e.enrolled_at), (e, "Unenroll", when)]
    for e, action, when in sorted(entries, key=lambda x: (x[2], x[0].org_unit_id, x[0].user_id, x[1])):
        log_id = (e.org_unit_id * ID_SPAN + e.user_id) * 2 + (action == "Unenroll")
        yield (
            when,
            [log_id, e.user_id, e.org_unit_id, e.role.id, action, "Explicit", None, to_utc_string(when)],
        )


def grade_schemes(inst: Institution, scope: Scope) -> Iterator[Row]:
    """Grade Schemes: one row per range of the organization's letter scheme (the only scheme here)."""
    created = inst.org_units[ROOT_ORG_UNIT_ID].created
    scheme_id = int(GRADE_SCHEME["Id"])
    for n, _ in enumerate(GRADE_SCHEME["Ranges"]):
        yield (
            created,
            [
                scheme_id,
                ROOT_ORG_UNIT_ID,
                GRADE_SCHEME["Name"],
                scheme_id * 100 + n + 1,
                False,
                None,
                created,
            ],
        )
