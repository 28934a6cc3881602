"""Simulated activity between pipeline runs: `advance()` moves the clock and changes the data.

Each step, deterministically from (size, seed, number of earlier steps, step length): one student
enrollment in a running course is dropped (its grade values and final grade leave the API and the full
extracts), some grades are entered for items already due, some graded values are regraded, and
attendance is marked for the sessions held during the step. Every new LastModified lies in
(old clock, new clock], so it is strictly later than anything before.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime

from .gradebook import GRADED, NO_VALUE, new_points, regrade_points
from .grades import FinalGrade
from .institution import STUDENT, Course, Institution
from .timestamps import to_datetime

DEFAULT_STEP = 86_400
GradeKey = tuple[int, int, int]  # (OrgUnitId, GradeObjectId, UserId)
EnrollmentKey = tuple[int, int]  # (OrgUnitId, UserId)


@dataclass(frozen=True, slots=True)
class BrightspaceChanges:
    """What one `advance()` changed, as truth keys.

    Attributes:
        clock: the sandbox's now after the step (UTC).
        new_grade_values: grade values that did not exist before.
        regraded: existing graded values whose score and LastModified moved.
        changed_grade_values: new_grade_values | regraded.
        removed_grade_values: values that left with a dropped enrollment.
        dropped_enrollments: (OrgUnitId, UserId) of dropped enrollments (also gone from classlists).
        changed_final_grades: (OrgUnitId, UserId) whose final grade numbers changed.
        removed_final_grades: (OrgUnitId, UserId) final grades that left with a dropped enrollment.
        new_attendance_user_sessions: (UserId, AttendanceSessionId) marks recorded.
    """

    clock: datetime
    new_grade_values: frozenset[GradeKey]
    regraded: frozenset[GradeKey]
    changed_grade_values: frozenset[GradeKey]
    removed_grade_values: frozenset[GradeKey]
    dropped_enrollments: frozenset[EnrollmentKey]
    changed_final_grades: frozenset[EnrollmentKey]
    removed_final_grades: frozenset[EnrollmentKey]
    new_attendance_user_sessions: frozenset[tuple[int, int]]


def advance(inst: Institution, step: int | None = None) -> BrightspaceChanges:
    """Move the institution's clock forward by `step` seconds and simulate activity.

    Args:
        inst: the institution (changed in place, under its lock).
        step: whole seconds to move (default one day).

    Raises:
        ValueError: when step is not a positive whole number of seconds.
    """
    step = DEFAULT_STEP if step is None else step
    if not isinstance(step, int) or step < 1:
        raise ValueError(f"step must be a positive whole number of seconds, not {step!r}")
    with inst.lock:
        old, new = inst.now, inst.now + step
        rng = random.Random(f"{inst.seed_key}:advance:{inst.advances}:{step}")
        courses = [
            c
            for c in (inst.courses[ou] for ou in inst.course_ids)
            if c.term_start <= new and c.term_end > old
        ]
        for course in courses:
            inst.gradebook(course)
            inst.attendance(course)

        dropped, removed_values = _drop_one(inst, courses, rng)
        student_count = sum(1 for c in courses for e in c.enrollments.values() if e.role is STUDENT)
        new_count = max(3, student_count // 25)
        regrade_pairs = _sample(rng, _graded_pairs(courses, inst), max(2, new_count // 2))
        new_pairs = _sample(rng, _ungraded_due_pairs(courses, inst, new), new_count)

        previous: dict[tuple[int, int], FinalGrade] = {}
        touched: dict[tuple[int, int], int] = {}
        new_keys: set[GradeKey] = set()
        regraded: set[GradeKey] = set()
        for pairs, is_new in ((regrade_pairs, False), (new_pairs, True)):
            for course, k, s in pairs:
                book = inst.gradebook(course)
                item = book.items[k]
                previous.setdefault((course.ou.id, s), book.final(s))
                when = rng.randint(old + 1, new)
                points = new_points(rng, item) if is_new else regrade_points(rng, item, book.points[k][s])
                book.set_value(k, s, points, when)
                touched[(course.ou.id, s)] = max(when, touched.get((course.ou.id, s), 0))
                (new_keys if is_new else regraded).add((course.ou.id, item.id, book.students[s]))

        changed_finals = set()
        for (ou, s), when in touched.items():
            book = inst.gradebook(inst.courses[ou])
            if book.refresh_final(s, previous[(ou, s)], when):
                changed_finals.add((ou, book.students[s]))

        marks = _mark_attendance(inst, courses, rng, old, new)
        inst.now = new
        inst.advances += 1
        return BrightspaceChanges(
            clock=to_datetime(new),
            new_grade_values=frozenset(new_keys),
            regraded=frozenset(regraded),
            changed_grade_values=frozenset(new_keys | regraded),
            removed_grade_values=frozenset(removed_values),
            dropped_enrollments=frozenset(dropped),
            changed_final_grades=frozenset(changed_finals),
            removed_final_grades=frozenset(dropped),
            new_attendance_user_sessions=frozenset(marks),
        )


def _sample(
    rng: random.Random, population: list[tuple[Course, int, int]], count: int
) -> list[tuple[Course, int, int]]:
    return rng.sample(population, min(count, len(population)))


def _drop_one(
    inst: Institution, courses: list[Course], rng: random.Random
) -> tuple[set[EnrollmentKey], set[GradeKey]]:
    candidates = [
        (course, uid)
        for course in courses
        for uid in course.enrolled_user_ids()
        if course.enrollments[uid].role is STUDENT
    ]
    if not candidates:
        return set(), set()
    course, uid = rng.choice(candidates)
    book = inst.gradebook(course)
    s = book.student_pos[uid]
    removed = {(course.ou.id, book.items[k].id, uid) for k in range(len(book.items)) if book.has_value(k, s)}
    inst.drop_enrollment(course, uid)
    return {(course.ou.id, uid)}, removed


def _graded_pairs(courses: list[Course], inst: Institution) -> list[tuple[Course, int, int]]:
    pairs: list[tuple[Course, int, int]] = []
    for course in courses:
        book = inst.gradebook(course)
        for k in range(len(book.items)):
            states = book.state[k]
            pairs.extend(
                (course, k, s) for s in range(len(states)) if states[s] == GRADED and book.enrolled[s]
            )
    return pairs


def _ungraded_due_pairs(courses: list[Course], inst: Institution, now: int) -> list[tuple[Course, int, int]]:
    pairs: list[tuple[Course, int, int]] = []
    for course in courses:
        book = inst.gradebook(course)
        for k, item in enumerate(book.items):
            if item.is_bonus or item.due > now:
                continue
            states = book.state[k]
            pairs.extend(
                (course, k, s) for s in range(len(states)) if states[s] == NO_VALUE and book.enrolled[s]
            )
    return pairs


def _mark_attendance(
    inst: Institution, courses: list[Course], rng: random.Random, old: int, new: int
) -> set[tuple[int, int]]:
    marks = set()
    for course in courses:
        register = inst.attendance(course)
        for j, session in enumerate(register.sessions):
            if not old < session.held_at <= new:
                continue
            for s, uid in enumerate(register.students):
                if uid in course.enrollments and not register.marks[j][s]:
                    symbol = register.draw_symbol(rng, 0.88)
                    register.mark(j, s, symbol, min(new, session.held_at + rng.randint(600, 4 * 3600)))
                    marks.add((uid, session.id))
    return marks
