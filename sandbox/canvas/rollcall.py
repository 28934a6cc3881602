"""Roll Call attendance for the sandbox: class meetings, per-student statuses, weekly account-report CSVs.

Roll Call (instructure/rollcall-attendance) keeps its own `statuses` table and writes one percent
grade per student into the "Roll Call Attendance" assignment: `(present + 0.8 * late) / total`,
formatted with `'%.0f'` (docs/canvas-api.md section 6). The sandbox derives the statuses from each
student's generated attendance rate and then sets the assignment's scores from those statuses, so
the gradebook and the CSV reports always agree.

Reports follow Roll Call's account report: one file per Monday-Sunday week (an account report may
span at most 7 days), the account-report header, `Class Date` as `YYYY-MM-DD`, `Timestamp` as
Rails prints a UTC time (`2026-10-14 15:32:10 UTC`). The sandbox account has no badges, so the
header stops at `Timestamp`; like Roll Call's `attendance_columns`, every data row still ends with
one empty "Badges" field, one field more than the header.

Simplifications: attendance is taken at generation (class dates before the anchor day); `advance()`
takes no new attendance. Every course with a "Roll Call Attendance" assignment uses Roll Call;
each section meets twice a week (Mon/Wed or Tue/Thu) with US holidays off.
"""

from __future__ import annotations

import csv
import random
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from .institution import FALL_WINDOW, Institution
from .model import Assignment, Course, Section
from .timestamps import ANCHOR_NOW, DAY, HOUR

ROLL_CALL_NAME = "Roll Call Attendance"
TARDY_WEIGHT = 0.8  # Roll Call's default CourseTardyWeight
STATUSES = ("present", "late", "absent")

# Roll Call's account report header (AttendanceReport#header without a course filter, no badges).
ACCOUNT_REPORT_HEADER = (
    "Course ID",
    "SIS Course ID",
    "Course Code",
    "Course Name",
    "Section Name",
    "Section ID",
    "SIS Section ID",
    "Teacher ID",
    "SIS Teacher ID",
    "Teacher Name",
    "Student ID",
    "SIS Student ID",
    "Student Name",
    "Class Date",
    "Attendance",
    "Timestamp",
)

# Weekday patterns a section meets on (Monday = 0).
MEETING_PATTERNS = ((0, 2), (1, 3))
HOLIDAYS = frozenset(
    {
        date(2026, 1, 19),  # Martin Luther King Jr. Day
        *(date(2026, 3, 16) + timedelta(days=d) for d in range(5)),  # spring break
        date(2026, 5, 25),  # Memorial Day
        date(2026, 7, 3),  # Independence Day (observed)
        date(2026, 9, 7),  # Labor Day
    }
)


@dataclass(frozen=True, slots=True)
class _Plan:
    course_id: int
    section_id: int
    student_id: int
    first: date  # first class date the student can be marked (enrolled)
    last: date | None  # last one, for a student who left (inactive or deleted)
    rate: float  # expected (present + 0.8 late) / total


@dataclass(frozen=True, slots=True)
class Status:
    """One Roll Call status row: a student's attendance in one section on one class date."""

    course_id: int
    section_id: int
    student_id: int
    class_date: date
    attendance: str
    updated_at: int  # epoch seconds (UTC)


def roll_call_assignment(course: Course) -> Assignment | None:
    """The course's "Roll Call Attendance" assignment, if it uses Roll Call."""
    return next((a for a in course.assignments if a.name == ROLL_CALL_NAME), None)


def central_offset_hours(day: date) -> int:
    """UTC offset of US Central time on `day` (-5 in daylight saving time, else -6)."""
    march = date(day.year, 3, 8)
    dst_start = march + timedelta(days=(6 - march.weekday()) % 7)  # second Sunday of March
    november = date(day.year, 11, 1)
    dst_end = november + timedelta(days=(6 - november.weekday()) % 7)  # first Sunday of November
    return -5 if dst_start <= day < dst_end else -6


def _utc_date(ts: int) -> date:
    return datetime.fromtimestamp(ts, UTC).date()


def _epoch_of(day: date, hour: int, minute: int = 0) -> int:
    """Epoch seconds of a US Central wall-clock time on `day`."""
    midnight = int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp())
    return midnight + (hour - central_offset_hours(day)) * HOUR + minute * 60


def format_timestamp(ts: int) -> str:
    """A UTC time as Rails' `Time#to_s` prints it in a CSV: `2026-10-14 15:32:10 UTC`."""
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def roll_call_grade(statuses: list[str]) -> float | None:
    """Roll Call's grade in percent points: `'%.0f' % (100 * (present + 0.8 late) / total)`."""
    if not statuses:
        return None
    present = statuses.count("present")
    late = statuses.count("late")
    return float("%.0f" % ((present + TARDY_WEIGHT * late) / len(statuses) * 100))


class RollCall:
    """Roll Call's data for one institution, generated once; scores written back to the gradebook.

    Args:
        inst: The institution; its "Roll Call Attendance" submissions are updated in place.
    """

    def __init__(self, inst: Institution) -> None:
        self.inst = inst
        self.meetings: dict[int, list[tuple[date, int]]] = {}  # section id -> [(class date, start ts)]
        # what each student's statuses are drawn from, fixed now so later drops change nothing;
        # the rows themselves are re-drawn on demand (a large institution has ~10^6 of them)
        self.plans: list[_Plan] = []
        with inst.lock:
            self._build()

    # ---- generation ----------------------------------------------------------------------------
    def _build(self) -> None:
        inst = self.inst
        last_day = _utc_date(ANCHOR_NOW) - timedelta(days=1)
        for course in inst.courses:
            assignment = roll_call_assignment(course)
            if assignment is None:
                continue
            window = (course.start_at, course.end_at) if course.start_at and course.end_at else FALL_WINDOW
            for section in course.sections:
                self.meetings[section.id] = self._schedule(course, section, window, last_day)
            submissions = {s.user_id: s for s in course.submissions if s.assignment is assignment}
            for e in sorted(course.enrollments, key=lambda e: e.id):
                sub = submissions.get(e.user.id)
                if e.type != "StudentEnrollment" or e.state == "invited" or sub is None:
                    continue
                plan = _Plan(
                    course.id,
                    e.section.id,
                    e.user.id,
                    _utc_date(e.created_at),
                    _utc_date(e.updated_at) if e.state in ("deleted", "inactive") else None,
                    (sub.score if sub.score is not None else 90.0) / 100,
                )
                self.plans.append(plan)
                grade = roll_call_grade([m.attendance for m in self.statuses_of(plan)])
                if grade is None:  # no class met while enrolled: Roll Call posts no grade
                    sub.workflow_state, sub.score = "unsubmitted", None
                    sub.graded_at = sub.posted_at = sub.grader_id = None
                else:
                    sub.score = grade
            course.invalidate()

    def _schedule(
        self, course: Course, section: Section, window: tuple[int, int], last_day: date
    ) -> list[tuple[date, int]]:
        inst = self.inst
        rng = random.Random(f"canvas-rollcall-schedule:{inst.size}:{inst.seed}:{section.id}")
        days = MEETING_PATTERNS[rng.randrange(len(MEETING_PATTERNS))]
        hour = rng.choice((8, 9, 10, 11, 13, 14, 15))
        start = _utc_date(window[0])
        end = min(_utc_date(window[1] - 1), last_day)
        out = []
        day = start
        while day <= end:
            if day.weekday() in days and day not in HOLIDAYS:
                out.append((day, _epoch_of(day, hour)))
            day += timedelta(days=1)
        return out

    def statuses_of(self, plan: _Plan) -> list[Status]:
        """One student's statuses, drawn from a stream seeded by (institution, course, student)."""
        inst = self.inst
        rng = random.Random(f"canvas-rollcall:{inst.size}:{inst.seed}:{plan.course_id}:{plan.student_id}")
        # (present + 0.8 late) / total has expectation `rate` with these probabilities
        p_absent = 0.93 * (1 - plan.rate)
        p_late = 0.35 * (1 - plan.rate)
        out = []
        for class_date, starts in self.meetings.get(plan.section_id, []):
            if class_date < plan.first or (plan.last is not None and class_date > plan.last):
                continue
            u = rng.random()
            attendance = "absent" if u < p_absent else "late" if u < p_absent + p_late else "present"
            marked = starts + rng.randint(2, 20) * 60
            if rng.random() < 0.04:  # corrected later (a late arrival, a note from the doctor)
                marked += rng.randint(1, 3) * DAY + rng.randint(0, 8 * HOUR)
            out.append(
                Status(
                    plan.course_id,
                    plan.section_id,
                    plan.student_id,
                    class_date,
                    attendance,
                    min(marked, ANCHOR_NOW),
                )
            )
        return out

    def statuses(self) -> list[Status]:
        """Every status, by class date, course, section and student."""
        rows = [status for plan in self.plans for status in self.statuses_of(plan)]
        rows.sort(key=lambda s: (s.class_date, s.course_id, s.section_id, s.student_id))
        return rows

    # ---- reports -------------------------------------------------------------------------------
    def report_rows(self) -> Iterator[tuple[date, dict[str, str]]]:
        """(week Monday, CSV row keyed by the header) for every status, in file order."""
        inst = self.inst
        teachers: dict[int, int | None] = {}
        for course in inst.courses:
            ids = sorted(e.user.id for e in course.enrollments if e.type == "TeacherEnrollment")
            teachers[course.id] = ids[0] if ids else None
        for s in self.statuses():
            course, section = inst.sections_by_id[s.section_id]
            student = inst.users_by_id[s.student_id]
            teacher_id = teachers[course.id]
            teacher = inst.users_by_id[teacher_id] if teacher_id is not None else None
            row = {
                "Course ID": str(course.id),
                "SIS Course ID": course.sis_course_id or "",
                "Course Code": course.course_code,
                "Course Name": course.name,
                "Section Name": section.name,
                "Section ID": str(section.id),
                "SIS Section ID": section.sis_section_id or "",
                "Teacher ID": str(teacher.id) if teacher else "",
                "SIS Teacher ID": (teacher.sis_user_id or "") if teacher else "",
                "Teacher Name": teacher.name if teacher else "",
                "Student ID": str(student.id),
                "SIS Student ID": student.sis_user_id or "",
                "Student Name": student.name,
                "Class Date": s.class_date.isoformat(),
                "Attendance": s.attendance,
                "Timestamp": format_timestamp(s.updated_at),
            }
            yield s.class_date - timedelta(days=s.class_date.weekday()), row

    def truth(self) -> list[dict[str, str]]:
        """Every row the reports hold, keyed by the CSV header, in file order."""
        return [row for _, row in self.report_rows()]

    def write(self, folder: Path) -> list[Path]:
        """Write one account-report CSV per week into `folder` (created if needed).

        Returns:
            The files written, in week order.
        """
        folder.mkdir(parents=True, exist_ok=True)
        by_week: dict[date, list[dict[str, str]]] = defaultdict(list)
        with self.inst.lock:
            for week, row in self.report_rows():
                by_week[week].append(row)
        paths = []
        for week in sorted(by_week):
            sunday = week + timedelta(days=6)
            path = folder / f"rollcall_attendance_{week.isoformat()}_{sunday.isoformat()}.csv"
            with path.open("w", encoding="utf-8", newline="") as fh:
                writer = csv.writer(fh)
                writer.writerow(ACCOUNT_REPORT_HEADER)
                for row in by_week[week]:
                    # Roll Call appends the (empty) Badges field even when the header has no Badges
                    writer.writerow([row[h] for h in ACCOUNT_REPORT_HEADER] + [""])
            paths.append(path)
        return paths
