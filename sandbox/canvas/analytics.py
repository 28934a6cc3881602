"""Course analytics for the sandbox: per-student summaries and per-day course activity.

Follows the analytics plugin (`instructure/analytics`, docs/canvas-api.md section 4.7):
- students are the course's StudentEnrollments in state active or completed, by sortable name;
- `tardiness_breakdown` tallies the student's submissions of published assignments that expect a
  digital submission: `missing` (flagged missing), `late`, `on_time` (submitted), else `floating`;
- `*_level` is 0 for none, else 1/2/3 below the first quartile / below the third / above, served as
  strings like the API doc example; `max_page_view` keeps the doc example's spelling.

Page views are generated per student and day from the enrollment's `total_activity_time` and stop
after its `last_activity_at` day; participations are the student's submissions on that day plus an
occasional discussion post, and each participation is also a page view. The same matrix gives both
endpoints, so per course `sum(activity.views) == sum(summaries.page_views)` and likewise for
participations. Days run from the term start to the sandbox clock (or the term end); the activity
list holds the days with any activity. A course's numbers are rebuilt when the clock moves.
"""

from __future__ import annotations

import random
import weakref
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from .institution import FALL_WINDOW, Institution, expects_submission
from .model import Course, Enrollment, Submission
from .timestamps import DAY

SORT_COLUMNS = (
    "name",
    "name_descending",
    "score",
    "score_descending",
    "participations",
    "participations_descending",
    "page_views",
    "page_views_descending",
)
VIEWS_PER_ACTIVE_HOUR = 30
WEEKDAY_FACTOR = (1.2, 1.1, 1.15, 1.05, 0.8, 0.45, 0.75)  # Monday .. Sunday


@dataclass(frozen=True, slots=True)
class CourseNumbers:
    """One course's analytics at one clock."""

    summaries: list[dict[str, Any]]  # by sortable name, then id
    activity: list[dict[str, Any]]  # by date


def tardiness_status(s: Submission) -> str:
    """The analytics plugin's status of one submission: missing, late, on_time or floating."""
    if s.missing:
        return "missing"
    if s.seconds_late > 0 or s.late_policy_status == "late":
        return "late"
    if s.submitted_at is not None:
        return "on_time"
    return "floating"


def _day_index(ts: int) -> int:
    return ts // DAY


def _quartiles(values: list[int]) -> tuple[float, float]:
    ordered = sorted(values)
    if not ordered:
        return 0.0, 0.0
    n = len(ordered)
    return float(ordered[n // 4]), float(ordered[(3 * n) // 4])


def _level(n: int, quartiles: tuple[float, float]) -> str:
    first, third = quartiles
    if n == 0:
        return "0"
    if n < first:
        return "1"
    if n < third:
        return "2"
    return "3"


class CourseAnalytics:
    """Analytics of one institution, computed per course on first use and cached per clock.

    Attributes:
        disabled_courses: Course ids whose analytics answer 404 (Analytics not enabled there).
    """

    def __init__(self, inst: Institution) -> None:
        self.inst = inst
        self.disabled_courses: set[int] = set()
        self._cache: dict[int, tuple[int, list[Submission], CourseNumbers]] = {}

    # ---- public views --------------------------------------------------------------------------
    def students(self, course: Course) -> list[Enrollment]:
        """The students analytics reports on: active or completed StudentEnrollments, by name."""
        seen: dict[int, Enrollment] = {}
        for e in course.enrollments:
            if e.type == "StudentEnrollment" and e.state in ("active", "completed"):
                seen.setdefault(e.user.id, e)
        return sorted(seen.values(), key=lambda e: (e.user.sortable_name, e.user.id))

    def numbers(self, course: Course) -> CourseNumbers:
        """Summaries and activity of a course at the current clock (call with the lock held)."""
        inst = self.inst
        # any change to a course rebuilds its served list (Course.invalidate), so the list's
        # identity plus the clock tells whether the cached numbers still hold
        served = inst.served_submissions(course)
        cached = self._cache.get(course.id)
        if cached is not None and cached[0] == inst.clock and cached[1] is served:
            return cached[2]
        numbers = self._compute(course)
        self._cache[course.id] = (inst.clock, served, numbers)
        return numbers

    def summaries(
        self, course: Course, sort_column: str | None = None, student_id: int | None = None
    ) -> list[dict[str, Any]]:
        """Student summaries as `GET /courses/:id/analytics/student_summaries` serves them."""
        rows = self.numbers(course).summaries
        if student_id is not None:
            rows = [r for r in rows if r["id"] == student_id]
        column = sort_column or "name"
        descending = column.endswith("_descending")
        base = column.removesuffix("_descending")
        if base == "page_views":
            rows = sorted(rows, key=lambda r: (r["page_views"], r["id"]), reverse=descending)
        elif base == "participations":
            rows = sorted(rows, key=lambda r: (r["participations"], r["id"]), reverse=descending)
        elif base == "score":
            scores = self._scores(course)
            rows = sorted(rows, key=lambda r: (scores.get(r["id"], -1.0), r["id"]), reverse=descending)
        elif descending:
            rows = rows[::-1]
        return rows

    def activity(self, course: Course) -> list[dict[str, Any]]:
        """Daily course activity as `GET /courses/:id/analytics/activity` serves it."""
        return self.numbers(course).activity

    def daily_activity(self, course: Course) -> dict[int, tuple[dict[int, int], dict[int, int]]]:
        """(views by day, participations by day) per student user id, days up to the clock (the
        numbers the summaries and activity add up; day = epoch seconds // 86400)."""
        first_day, last_day = self._days(course)
        by_user: dict[int, list[Submission]] = {}
        for s in self.inst.served_submissions(course):
            by_user.setdefault(s.user_id, []).append(s)
        return {
            e.user.id: self._student_days(course, e, by_user.get(e.user.id, []), first_day, last_day)
            for e in self.students(course)
        }

    # ---- generation ----------------------------------------------------------------------------
    def _days(self, course: Course) -> tuple[int, int]:
        window = (course.start_at, course.end_at) if course.start_at and course.end_at else FALL_WINDOW
        return _day_index(window[0]), min(_day_index(window[1] - 1), _day_index(self.inst.clock))

    def _scores(self, course: Course) -> dict[int, float]:
        grades = self.inst.grades(course)
        out = {}
        for e in course.enrollments:
            scores = grades.get(e.id)
            if scores is not None and scores.current_score is not None:
                out[e.user.id] = scores.current_score
        return out

    def _compute(self, course: Course) -> CourseNumbers:
        inst = self.inst
        first_day, last_day = self._days(course)
        students = self.students(course)
        served = inst.served_submissions(course)
        by_user: dict[int, list[Submission]] = {}
        for s in served:
            by_user.setdefault(s.user_id, []).append(s)
        day_views: dict[int, int] = {}
        day_parts: dict[int, int] = {}
        summaries = []
        for e in students:
            views, parts = self._student_days(course, e, by_user.get(e.user.id, []), first_day, last_day)
            for d, v in views.items():
                day_views[d] = day_views.get(d, 0) + v
            for d, p in parts.items():
                day_parts[d] = day_parts.get(d, 0) + p
            breakdown = {"total": 0, "on_time": 0, "late": 0, "missing": 0, "floating": 0}
            for s in by_user.get(e.user.id, []):
                if not expects_submission(s.assignment):  # the plugin skips non-digital work
                    continue
                breakdown[tardiness_status(s)] += 1
                breakdown["total"] += 1
            summaries.append(
                {
                    "id": e.user.id,
                    "page_views": sum(views.values()),
                    "participations": sum(parts.values()),
                    "tardiness_breakdown": breakdown,
                }
            )
        view_q = _quartiles([r["page_views"] for r in summaries if r["page_views"]])
        part_q = _quartiles([r["participations"] for r in summaries if r["participations"]])
        max_views = max((r["page_views"] for r in summaries), default=0)
        max_parts = max((r["participations"] for r in summaries), default=0)
        shaped = [
            {
                "id": r["id"],
                "page_views": r["page_views"],
                "page_views_level": _level(r["page_views"], view_q),
                "max_page_view": max_views,
                "participations": r["participations"],
                "participations_level": _level(r["participations"], part_q),
                "max_participations": max_parts,
                "tardiness_breakdown": r["tardiness_breakdown"],
            }
            for r in summaries
        ]
        activity = [
            {
                "date": datetime.fromtimestamp(d * DAY, UTC).date().isoformat(),
                "participations": day_parts.get(d, 0),
                "views": day_views.get(d, 0),
            }
            for d in sorted(set(day_views) | set(day_parts))
            if day_views.get(d, 0) or day_parts.get(d, 0)
        ]
        return CourseNumbers(shaped, activity)

    def _student_days(
        self, course: Course, e: Enrollment, work: list[Submission], first_day: int, last_day: int
    ) -> tuple[dict[int, int], dict[int, int]]:
        """(views by day, participations by day) of one student; days outside [first, last] dropped."""
        inst = self.inst
        # one stream per (course, student) over the whole term, so past days never change
        rng = random.Random(f"canvas-analytics:{inst.size}:{inst.seed}:{course.id}:{e.user.id}")
        start = max(first_day, _day_index(e.created_at))
        stop = _day_index(e.last_activity_at) if e.last_activity_at is not None else start - 1
        active_days = max(1, stop - start + 1)
        per_day = e.total_activity_time / 3600 * VIEWS_PER_ACTIVE_HOUR / active_days
        views: dict[int, int] = {}
        parts: dict[int, int] = {}
        term_end = _day_index((course.end_at or FALL_WINDOW[1]) - 1)
        for d in range(start, max(term_end, last_day) + 1):
            weekday = datetime.fromtimestamp(d * DAY, UTC).weekday()
            v = int(rng.random() * 2 * per_day * WEEKDAY_FACTOR[weekday] + 0.5)
            post = rng.random() < 0.03
            if d > last_day:
                continue
            if d <= stop:
                if d == stop:
                    v = max(v, 1)  # the day of last activity saw at least one page view
                if v:
                    views[d] = v
                if post:
                    parts[d] = 1
                    views[d] = views.get(d, 0) + 1
        for s in work:
            if s.submitted_at is None:
                continue
            d = _day_index(s.submitted_at)
            if first_day <= d <= last_day:
                parts[d] = parts.get(d, 0) + 1
                views[d] = views.get(d, 0) + 1
        return views, parts


_BY_INSTITUTION: weakref.WeakKeyDictionary[Institution, CourseAnalytics] = weakref.WeakKeyDictionary()


def analytics_of(inst: Institution) -> CourseAnalytics:
    """The institution's analytics (one per institution)."""
    found = _BY_INSTITUTION.get(inst)
    if found is None:
        with inst.lock:
            found = _BY_INSTITUTION.get(inst)
            if found is None:
                found = CourseAnalytics(inst)
                _BY_INSTITUTION[inst] = found
    return found


# ---- truth -------------------------------------------------------------------------------------
ENGAGEMENT_TABLES = ("student_summaries", "course_activity")


def engagement_rows(inst: Institution, table: str) -> list[dict[str, Any]]:
    """Served rows of every course with analytics enabled, each with `course_id` added.

    `student_summaries` rows are in the API's default order (name); `course_activity` by date.
    """
    analytics = analytics_of(inst)
    rows: list[dict[str, Any]] = []
    with inst.lock:
        for course in inst.courses:
            if course.id in analytics.disabled_courses:
                continue
            served = (
                analytics.summaries(course) if table == "student_summaries" else analytics.activity(course)
            )
            rows.extend({**row, "course_id": course.id} for row in served)
    return rows


def engagement_keys(inst: Institution, table: str) -> set[tuple[Any, ...]]:
    """`(course_id, user id)` for student_summaries, `(course_id, "YYYY-MM-DD")` for course_activity."""
    field = "id" if table == "student_summaries" else "date"
    return {(row["course_id"], row[field]) for row in engagement_rows(inst, table)}
