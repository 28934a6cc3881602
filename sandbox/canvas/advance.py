"""Deterministic day-by-day activity for the sandbox institution, with the exact change sets."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime

from .catalog import SUBMISSION_TYPE_FOR
from .grades import CourseScores
from .institution import Institution, expects_submission
from .model import Assignment, Course, Enrollment, Submission
from .timestamps import DAY, HOUR, iso

Key = tuple[int, int, int]  # (course_id, assignment_id, user_id)


@dataclass
class Changes:
    """What one `advance()` step changed, as the API serves it.

    `new_submissions` are rows that did not exist before (the new assignment's placeholders);
    `submitted`/`graded` break `changed_submissions` down further, and `changed_enrollments` lists
    enrollments whose served row changed (grades or state).

    Simplification: `missing` is set at generation (against the anchor time) and cleared on
    submission; it does not flip when the clock passes a due date. Real Canvas computes it on read,
    so there it changes with no event any incremental cursor could see.
    """

    changed_submissions: set[Key] = field(default_factory=set)
    removed_submissions: set[Key] = field(default_factory=set)
    dropped_enrollments: set[int] = field(default_factory=set)
    new_assignments: set[int] = field(default_factory=set)
    regraded: set[Key] = field(default_factory=set)
    new_submissions: set[Key] = field(default_factory=set)
    clock: datetime = field(default_factory=lambda: datetime.fromtimestamp(0, UTC))
    submitted: set[Key] = field(default_factory=set)
    graded: set[Key] = field(default_factory=set)
    changed_enrollments: set[int] = field(default_factory=set)


def _key(course: Course, s: Submission) -> Key:
    return (course.id, s.assignment.id, s.user_id)


def advance_institution(inst: Institution, step: int, until: int | None = None) -> Changes:
    """Move the clock one day (or to `until`) and apply that day's activity (hold `inst.lock`).

    Every new time is a whole second in (old clock, new clock], so it is later than every earlier
    event (created/updated/submitted/graded/posted/activity times; due dates are schedule, not events).

    Args:
        inst: The institution to mutate.
        step: Step number; the step's random stream is seeded by (seed, step).
        until: The new clock in epoch seconds (a server clock set against a client's, see
            `timestamps.server_now`); default one day on. Must be later than the clock.

    Returns:
        The exact change sets.
    """
    rng = random.Random(f"canvas-sandbox-advance:{inst.size}:{inst.seed}:{step}")
    start, end = inst.clock, inst.clock + DAY if until is None else until
    if end <= start:
        raise ValueError(f"until ({iso(end)}) must be later than the sandbox clock ({iso(start)})")
    changes = Changes()
    open_courses = [c for c in inst.courses if c.workflow_state == "available"]
    live = {c.id: inst.live_students(c) for c in inst.courses}
    before: dict[int, tuple[Course, Enrollment, CourseScores | None]] = {}

    def when(after: int = start) -> int:
        return rng.randint(max(after, start) + 1, end)

    def touch(course: Course, user_id: int) -> None:
        """Remember a student's scores before their work changes."""
        enrollment = live[course.id].get(user_id)
        if enrollment is not None and enrollment.id not in before:
            before[enrollment.id] = (course, enrollment, inst.student_scores(course, enrollment))

    # 1. Drop one active StudentEnrollment (its submissions stop being served).
    candidates = [
        e
        for c in open_courses
        for e in c.enrollments
        if e.type == "StudentEnrollment" and e.state == "active"
    ]
    if candidates:
        dropped = candidates[rng.randrange(len(candidates))]
        course = inst.courses_by_id[dropped.course_id]
        touch(course, dropped.user.id)
        changes.removed_submissions |= {
            _key(course, s) for s in inst.served_submissions(course) if s.user_id == dropped.user.id
        }
        dropped.state = "deleted"
        dropped.updated_at = when()
        course.served_cache = None
        del live[course.id][dropped.user.id]
        changes.dropped_enrollments.add(dropped.id)

    served = {c.id: inst.served_submissions(c) for c in inst.courses}

    # 2. About 2% of unsubmitted work by active students gets submitted.
    pool = [
        (c, s)
        for c in open_courses
        for s in served[c.id]
        if s.workflow_state == "unsubmitted"
        and s.late_policy_status is None
        and not s.excused
        and expects_submission(s.assignment)
        and live[c.id][s.user_id].state == "active"
    ]
    for c, s in rng.sample(pool, max(1, round(0.02 * len(pool)))) if pool else []:
        touch(c, s.user_id)
        _submit(s, when())
        changes.submitted.add(_key(c, s))

    # 3. Teachers grade about a third of the submitted work.
    for c in open_courses:
        grader = _grader(c)
        for s in served[c.id]:
            if s.workflow_state != "submitted" or s.submitted_at is None or s.submitted_at >= end:
                continue
            if rng.random() >= 0.33:
                continue
            touch(c, s.user_id)
            _grade(rng, c, s, when(s.submitted_at), grader)
            changes.graded.add(_key(c, s))

    # 4. A few graded scores are revised.
    graded = [
        (c, s)
        for c in open_courses
        for s in served[c.id]
        if s.workflow_state == "graded"
        and s.score is not None
        and s.assignment.grading_type == "points"
        and _key(c, s) not in changes.graded
    ]
    for c, s in rng.sample(graded, min(4, len(graded))):
        touch(c, s.user_id)
        _regrade(rng, s, when(s.graded_at or start))
        changes.regraded.add(_key(c, s))

    # 5. One new published assignment in one open course, with placeholders for every live student.
    if open_courses:
        course = open_courses[rng.randrange(len(open_courses))]
        group = course.groups[rng.randrange(len(course.groups))]
        for user_id in live[course.id]:
            touch(course, user_id)
        created = when()
        position = 1 + max(
            (a.position for a in course.assignments if a.assignment_group_id == group.id), default=0
        )
        due = end + 7 * DAY
        assignment = Assignment(
            id=inst.next_assignment_id,
            course_id=course.id,
            assignment_group_id=group.id,
            name=f"{group.name} Activity {step}",
            position=position,
            points_possible=float(rng.choice((10, 20, 25))),
            grading_type="points",
            submission_types=("online_upload",),
            due_at=due - due % DAY + 4 * HOUR + 59 * 60,
            created_at=created,
            updated_at=created,
            published=True,
            omit_from_final_grade=False,
            hidden_grades=False,
            quiz_id=None,
        )
        inst.next_assignment_id += 1
        course.assignments.append(assignment)
        for user_id in sorted(live[course.id]):
            sub = Submission(
                inst.next_submission_id,
                assignment,
                user_id,
                "unsubmitted",
                None,
                None,
                None,
                None,
                None,
                None,
                False,
                False,
                None,
                0,
                None,
            )
            inst.next_submission_id += 1
            course.submissions.append(sub)
            changes.new_submissions.add(_key(course, sub))
        course.served_cache = None
        course.calculator_cache = None
        course.work_index_cache = None
        changes.new_assignments.add(assignment.id)

    _rescore(inst, before, changes)
    changes.changed_enrollments |= changes.dropped_enrollments
    changes.changed_submissions = (
        changes.submitted | changes.graded | changes.regraded | changes.new_submissions
    ) - changes.removed_submissions
    inst.clock = end
    inst.steps_taken += 1
    changes.clock = datetime.fromtimestamp(end, UTC)
    return changes


def commit_at_cursors(inst: Institution, step: int, lag_seconds: int = 0) -> Changes:
    """Commit work stamped at (or up to `lag_seconds` before) each course's latest stamps (hold `inst.lock`).

    Call it right after a client read every course: its cursors then sit at each course's highest
    `submitted_at` and `graded_at`. A database stamps a row when the request starts and shows it
    when the transaction commits, so a row can appear after a reader has seen later or equal
    stamps. Canvas compares `submitted_since`/`graded_since` strictly (`submitted_at > ?`) at whole
    seconds (docs/canvas-api.md §4.5), so a client that asks from its cursor misses these rows unless it
    re-reads an overlap window. The clock does not move: every new stamp is at or before it.

    Per open course: up to two unsubmitted placeholders of active students are submitted at
    `submitted cursor - lag`, and one submitted row (handed in no later than that) is graded at
    `graded cursor - lag`, where `lag` is drawn from [0, lag_seconds].

    Args:
        inst: The institution to mutate.
        step: Step number; the random stream is seeded by (seed, step, "cursor").
        lag_seconds: How long before the cursor the late transactions may have started.

    Returns:
        The exact change sets (`submitted`, `graded`, `changed_submissions`, `changed_enrollments`).
    """
    rng = random.Random(f"canvas-sandbox-cursor:{inst.size}:{inst.seed}:{step}")
    changes = Changes()
    before: dict[int, tuple[Course, Enrollment, CourseScores | None]] = {}
    for c in inst.courses:
        if c.workflow_state != "available":
            continue
        live = inst.live_students(c)
        served = inst.served_submissions(c)
        submitted_cursor = max((s.submitted_at for s in served if s.submitted_at is not None), default=None)
        graded_cursor = max((s.graded_at for s in served if s.graded_at is not None), default=None)
        picked: list[tuple[Submission, str, int]] = []
        if submitted_cursor is not None:
            pool = [
                s
                for s in served
                if s.workflow_state == "unsubmitted"
                and s.late_policy_status is None
                and not s.excused
                and expects_submission(s.assignment)
                and live[s.user_id].state == "active"
            ]
            for s in rng.sample(pool, min(2, len(pool))):
                picked.append((s, "submit", submitted_cursor - rng.randint(0, lag_seconds)))
        if graded_cursor is not None:
            at = graded_cursor - rng.randint(0, lag_seconds)
            pool = [
                s
                for s in served
                if s.workflow_state == "submitted"
                and s.submitted_at is not None
                and s.submitted_at <= at
                and live[s.user_id].state == "active"
            ]
            if pool:
                picked.append((pool[rng.randrange(len(pool))], "grade", at))
        for s, action, at in picked:
            enrollment = live[s.user_id]
            if enrollment.id not in before:
                before[enrollment.id] = (c, enrollment, inst.student_scores(c, enrollment))
            if action == "submit":
                _submit(s, at)
                changes.submitted.add(_key(c, s))
            else:
                _grade(rng, c, s, at, _grader(c))
                changes.graded.add(_key(c, s))
    _rescore(inst, before, changes)
    changes.changed_submissions = changes.submitted | changes.graded
    changes.clock = datetime.fromtimestamp(inst.clock, UTC)
    return changes


def _submit(s: Submission, at: int) -> None:
    """The student hands the work in at `at` (late against the due date, with no deduction yet)."""
    a = s.assignment
    s.submitted_at = at
    s.workflow_state = "submitted"
    s.submission_type = SUBMISSION_TYPE_FOR.get(a.submission_types[0])
    s.missing = False
    if a.due_at is not None and at > a.due_at:
        s.seconds_late = at - a.due_at
        s.points_deducted = 0.0


def _rescore(
    inst: Institution,
    before: dict[int, tuple[Course, Enrollment, CourseScores | None]],
    changes: Changes,
) -> None:
    """Recompute only the touched students' scores; those whose scores moved are changed enrollments."""
    for enrollment_id, (course, enrollment, old) in before.items():
        new = inst.student_scores(course, enrollment)
        if course.grades_cache is not None:
            course.grades_cache[enrollment_id] = new
        if new != old:
            changes.changed_enrollments.add(enrollment_id)


def _grader(course: Course) -> int | None:
    teachers = [e.user.id for e in course.enrollments if e.type == "TeacherEnrollment"]
    return min(teachers) if teachers else None


def _grade(rng: random.Random, course: Course, s: Submission, at: int, grader: int | None) -> None:
    a = s.assignment
    raw = round(a.points_possible * min(max(rng.gauss(0.82, 0.12), 0.0), 1.05) * 2) / 2
    if a.grading_type == "percent":
        raw = round(raw, 2)
    if s.seconds_late and course.late_policy_pct:
        days = -(-s.seconds_late // DAY)
        deducted = round(min(raw, a.points_possible * course.late_policy_pct * days), 2)
        s.points_deducted, s.score = deducted, round(raw - deducted, 2)
    else:
        s.score = raw
    s.workflow_state = "graded"
    s.graded_at = at
    s.grader_id = grader
    s.posted_at = None if a.hidden_grades else at


def _regrade(rng: random.Random, s: Submission, at: int) -> None:
    """Change a graded score (an already posted grade stays posted, showing the new score)."""
    old = s.score or 0.0
    ceiling = max(s.assignment.points_possible * 1.05, old + 2.0)
    choices = [d for d in (-2.0, -1.0, -0.5, 0.5, 1.0, 2.0) if 0.0 <= old + d <= ceiling]
    s.score = round(old + rng.choice(choices), 2)
    s.graded_at = at


def change_submissions(inst: Institution, fraction: float, step: int) -> Changes:
    """Move the clock a day and change `fraction` of the served submissions (hold `inst.lock`).

    For benchmarks of incremental runs: unlike `advance_institution`, the share of changed rows is
    chosen, and nothing else changes (no drops, no new assignments). Each picked row of an open
    course's active student moves one state on: unsubmitted work is submitted, submitted work is
    graded, graded points work is regraded. Every new time is a whole second in (old clock, new clock].

    Args:
        inst: The institution to mutate.
        fraction: Share of all served submissions to change, between 0 and 1.
        step: Step number; the random stream is seeded by (seed, step, "fraction").

    Returns:
        The exact change sets (`changed_submissions` and its breakdown, `changed_enrollments`).
    """
    if not 0.0 <= fraction <= 1.0:
        raise ValueError(f"fraction must be between 0 and 1, not {fraction}")
    rng = random.Random(f"canvas-sandbox-fraction:{inst.size}:{inst.seed}:{step}")
    start, end = inst.clock, inst.clock + DAY
    changes = Changes()
    total = sum(len(inst.served_submissions(c)) for c in inst.courses)
    pool = []
    for c in inst.courses:
        if c.workflow_state != "available":
            continue
        live = inst.live_students(c)
        for s in inst.served_submissions(c):
            if live[s.user_id].state != "active" or s.excused:
                continue
            if s.workflow_state == "graded" and s.score is not None and s.assignment.grading_type == "points":
                pool.append((c, s))
            elif s.workflow_state == "submitted" and s.submitted_at is not None:
                pool.append((c, s))
            elif (
                s.workflow_state == "unsubmitted"
                and s.late_policy_status is None
                and expects_submission(s.assignment)
            ):
                pool.append((c, s))
    picked = rng.sample(pool, min(len(pool), round(fraction * total)))
    before: dict[int, tuple[Course, Enrollment, CourseScores | None]] = {}
    for c, s in picked:
        enrollment = inst.live_students(c)[s.user_id]
        if enrollment.id not in before:
            before[enrollment.id] = (c, enrollment, inst.student_scores(c, enrollment))
        key = _key(c, s)
        at = rng.randint(start + 1, end)
        if s.workflow_state == "graded":
            _regrade(rng, s, at)
            changes.regraded.add(key)
        elif s.workflow_state == "submitted":
            _grade(rng, c, s, at, _grader(c))  # submitted_at <= old clock < at
            changes.graded.add(key)
        else:
            _submit(s, at)
            changes.submitted.add(key)
    _rescore(inst, before, changes)
    changes.changed_submissions = changes.submitted | changes.graded | changes.regraded
    inst.clock = end
    inst.steps_taken += 1
    changes.clock = datetime.fromtimestamp(end, UTC)
    return changes
