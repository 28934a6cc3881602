"""Attendance: schemes and their symbols, one register per course offering, sessions and marks.

Brightspace exposes attendance only through Brightspace Data Sets (docs/brightspace-api.md §5.6), so
these rows are served by the Data Hub alone. The data sets have no session date column; the sandbox
puts the meeting date in the session's Name and Description ("Session 03 (2025-01-21)").
"""

from __future__ import annotations

import copy
import random
import time
from array import array
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .timestamps import epoch

if TYPE_CHECKING:
    from .institution import Course

DAY = 86_400
SESSION_ID_BASE = 500_000
SESSIONS_PER_COURSE_MAX = 50


@dataclass(frozen=True, slots=True)
class SchemeSymbol:
    """One symbol of an attendance scheme (Present, Late, ...)."""

    id: int
    name: str
    value: str
    percentage: float | None


@dataclass(frozen=True, slots=True)
class AttendanceScheme:
    """An attendance scheme (data set Attendance Schemes: one row per symbol)."""

    id: int
    name: str
    org_unit_id: int | None
    symbols: tuple[SchemeSymbol, ...]
    created: int


# The D2L UI's default System Scheme is Present = 100 %, Absent = 0 %; most registers here use a
# richer org-level scheme with Late and Excused (Excused has no percentage: it does not count).
SCHEMES: tuple[AttendanceScheme, ...] = (
    AttendanceScheme(
        1,
        "System Scheme",
        None,
        (SchemeSymbol(1, "Present", "P", 100.0), SchemeSymbol(2, "Absent", "A", 0.0)),
        epoch(2019, 7, 1, 9),
    ),
    AttendanceScheme(
        2,
        "Present / Late / Absent / Excused",
        6606,
        (
            SchemeSymbol(3, "Present", "P", 100.0),
            SchemeSymbol(4, "Late", "L", 50.0),
            SchemeSymbol(5, "Absent", "A", 0.0),
            SchemeSymbol(6, "Excused", "E", None),
        ),
        epoch(2019, 7, 1, 10),
    ),
)
SCHEMES_BY_ID = {s.id: s for s in SCHEMES}


@dataclass(slots=True)
class AttendanceSession:
    """One class meeting of a register."""

    id: int
    name: str
    description: str
    sort_order: int
    held_at: int


class CourseAttendance:
    """A course's register, its sessions, and one mark per (session, student) once the session is held."""

    def __init__(
        self,
        course: Course,
        register_id: int,
        scheme: AttendanceScheme,
        sessions: list[AttendanceSession],
        created: int,
    ) -> None:
        """Create a register with no marks."""
        self.org_unit_id = course.ou.id
        self.register_id = register_id
        self.name = f"{course.ou.code} attendance"
        self.description = f"Class attendance for {course.ou.name}."
        self.scheme = scheme
        self.is_visible = True
        self.include_all_users = True
        self.cause_for_concern: float | None = 75.0
        self.created = created
        self.sessions = sessions
        self.students = course.students
        self.marker = course.instructors[0]
        n = len(course.students)
        # 0 = no mark; otherwise the index + 1 of the symbol in the scheme.
        self.marks = [bytearray(n) for _ in sessions]
        self.modified = [array("q", bytes(8 * n)) for _ in sessions]

    def mark(self, j: int, s: int, symbol_index: int, when: int) -> None:
        """Record a student's mark for session j."""
        self.marks[j][s] = symbol_index + 1
        self.modified[j][s] = when

    def snapshot(self) -> CourseAttendance:
        """A copy whose marks no later change touches."""
        frozen = copy.copy(self)
        frozen.marks = [bytearray(m) for m in self.marks]
        frozen.modified = [array("q", m) for m in self.modified]
        return frozen

    def mark_count(self) -> int:
        """Number of user-session rows."""
        return sum(len(m) - m.count(0) for m in self.marks)

    def draw_symbol(self, rng: random.Random, presence: float) -> int:
        """Pick a symbol index for one student at one session."""
        r = rng.random()
        late_excused = len(self.scheme.symbols) == 4
        if r < presence:
            return 0
        if late_excused and r < presence + 0.05:
            return 1
        if late_excused and r < presence + 0.08:
            return 3
        return 2 if late_excused else 1


def build_attendance(course: Course, rng: random.Random, now: int) -> CourseAttendance:
    """Generate a course's register and the marks of every session held by `now`.

    Args:
        course: the offering.
        rng: the course's own attendance generator.
        now: the sandbox clock at build time.

    Returns:
        The register with its marks.
    """
    scheme = SCHEMES[1] if rng.random() < 0.8 else SCHEMES[0]
    count = rng.randint(10, 20)
    start_day = course.term_start - course.term_start % DAY
    span_days = (course.term_end - course.term_start) // DAY - 7
    sessions = []
    for j in range(count):
        held_at = start_day + (1 + j * span_days // count) * DAY + 14 * 3600 + rng.choice((0, 1800, 3600))
        date = time.strftime("%Y-%m-%d", time.gmtime(held_at))
        sessions.append(
            AttendanceSession(
                SESSION_ID_BASE + course.index * SESSIONS_PER_COURSE_MAX + j,
                f"Session {j + 1:02d} ({date})",
                f"Class meeting on {date}",
                j + 1,
                held_at,
            )
        )
    register = CourseAttendance(course, 1 + course.index, scheme, sessions, course.ou.created + 2 * DAY)
    presence = [rng.uniform(0.7, 0.97) for _ in course.students]
    for j, session in enumerate(sessions):
        if session.held_at > now:
            continue
        for s in range(len(course.students)):
            symbol = register.draw_symbol(rng, presence[s])
            register.mark(j, s, symbol, min(now - 60, session.held_at + rng.randint(600, 4 * 3600)))
    return register
