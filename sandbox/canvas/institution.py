"""The synthetic institution: size presets, terms and derived per-course views (generator/ builds it)."""

from __future__ import annotations

import logging
import threading
from collections import defaultdict
from dataclasses import dataclass

from .catalog import NO_SUBMISSION_TYPES
from .grades import (
    AssignmentFacts,
    CourseCalculator,
    CourseScores,
    GroupFacts,
    WorkFacts,
    weighted_course_scores,
)
from .model import (
    Account,
    Assignment,
    Course,
    CustomGradeStatus,
    Enrollment,
    GradingPeriod,
    GradingPeriodSet,
    Section,
    Submission,
    Term,
    User,
)
from .timestamps import ANCHOR_NOW, epoch

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class SizeSpec:
    """How big an institution to generate."""

    colleges: int
    departments_per_college: int  # 0 = courses live directly in the college sub-accounts
    courses: int
    students: int
    teachers: int
    class_size: tuple[int, int]
    assignments: tuple[int, int]


SIZES: dict[str, SizeSpec] = {
    "small": SizeSpec(2, 0, 12, 150, 15, (14, 24), (7, 12)),
    "medium": SizeSpec(4, 3, 200, 5_000, 220, (27, 43), (12, 18)),
    "large": SizeSpec(8, 4, 2_000, 50_000, 2_200, (27, 43), (12, 18)),
}

# (name, sis id, start, end); courses in the past terms are concluded.
TERMS = (
    ("Spring 2026", "2026SP", epoch(2026, 1, 12, 6), epoch(2026, 5, 9, 4, 59)),
    ("Summer 2026", "2026SU", epoch(2026, 5, 26, 5), epoch(2026, 8, 8, 4, 59)),
    ("Fall 2026", "2026FA", epoch(2026, 8, 24, 5), epoch(2026, 12, 19, 5, 59)),
)
FALL_WINDOW = (TERMS[2][2], TERMS[2][3])


def gradeable(assignment: Assignment) -> bool:
    """Canvas's `gradeable` scope: not `not_graded` / `wiki_page` submission types."""
    return not ({"not_graded", "wiki_page"} & set(assignment.submission_types))


def expects_submission(assignment: Assignment) -> bool:
    """True when students hand something in (so unsubmitted past-due work is `missing`)."""
    return not (NO_SUBMISSION_TYPES & set(assignment.submission_types))


class Institution:
    """All records of one synthetic institution plus lookups and derived views.

    Mutations (`advance`) and reads from the HTTP server share `lock`.
    """

    def __init__(self, size: str, seed: int) -> None:
        self.size = size
        self.seed = seed
        self.accounts: list[Account] = []
        self.terms: list[Term] = []
        self.users: list[User] = []
        self.courses: list[Course] = []
        self.accounts_by_id: dict[int, Account] = {}
        self.terms_by_id: dict[int, Term] = {}
        self.users_by_id: dict[int, User] = {}
        self.courses_by_id: dict[int, Course] = {}
        self.courses_by_sis: dict[str, Course] = {}
        self.sections_by_id: dict[int, tuple[Course, Section]] = {}
        self.sections_by_sis: dict[str, int] = {}
        self.children: dict[int, list[Account]] = defaultdict(list)
        self.account_courses: dict[int, list[Course]] = {}
        self.users_by_sortable_name: list[User] = []
        self.admin_user_id = 0
        self.api_user_id = 0
        self.clock = ANCHOR_NOW  # the sandbox's "now"; every event time is <= clock
        self.next_assignment_id = 0
        self.next_submission_id = 0
        self.steps_taken = 0
        self.lock = threading.RLock()
        # grading setup (generator/grading.py): period sets by term, the root account's statuses
        self.grading_period_sets: list[GradingPeriodSet] = []
        self.custom_grade_statuses: list[CustomGradeStatus] = []

    # ---- structure lookups -------------------------------------------------------------------
    @property
    def root(self) -> Account:
        """The root account."""
        return self.accounts[0]

    def descendants(self, account_id: int) -> list[Account]:
        """All sub-accounts below an account, breadth first, by id within a level."""
        out: list[Account] = []
        frontier = [account_id]
        while frontier:
            level = [child for parent in frontier for child in self.children.get(parent, [])]
            level.sort(key=lambda a: a.id)
            out.extend(level)
            frontier = [a.id for a in level]
        return out

    def index(self) -> None:
        """(Re)build lookups after generation."""
        self.accounts_by_id = {a.id: a for a in self.accounts}
        self.terms_by_id = {t.id: t for t in self.terms}
        self.users_by_id = {u.id: u for u in self.users}
        self.courses_by_id = {c.id: c for c in self.courses}
        self.courses_by_sis = {c.sis_course_id: c for c in self.courses if c.sis_course_id}
        self.sections_by_id = {s.id: (c, s) for c in self.courses for s in c.sections}
        self.sections_by_sis = {
            s.sis_section_id: s.id for c in self.courses for s in c.sections if s.sis_section_id
        }
        self.children = defaultdict(list)
        for account in self.accounts:
            if account.parent_account_id is not None:
                self.children[account.parent_account_id].append(account)
        by_account: dict[int, list[Course]] = defaultdict(list)
        for course in self.courses:
            by_account[course.account_id].append(course)
        self.account_courses = {}
        for account in self.accounts:
            ids = [account.id] + [a.id for a in self.descendants(account.id)]
            self.account_courses[account.id] = sorted(
                (c for i in ids for c in by_account[i]), key=lambda c: c.id
            )
        self.users_by_sortable_name = sorted(self.users, key=lambda u: (u.sortable_name, u.id))

    # ---- derived per-course views ------------------------------------------------------------
    def live_students(self, course: Course) -> dict[int, Enrollment]:
        """Non-deleted StudentEnrollments of a course by user id."""
        return {
            e.user.id: e for e in course.enrollments if e.type == "StudentEnrollment" and e.state != "deleted"
        }

    def served_submissions(self, course: Course) -> list[Submission]:
        """Submissions the API serves: published assignments x non-deleted students, by (assignment, user)."""
        rows = course.served_cache
        if rows is None:
            live = self.live_students(course)
            rows = [s for s in course.submissions if s.assignment.published and s.user_id in live]
            rows.sort(key=lambda s: (s.assignment.id, s.user_id))
            course.served_cache = rows
        return rows

    def ordered_enrollments(self, course: Course) -> list[Enrollment]:
        """A course's enrollments in the API's order: type, user sortable name, id."""
        rows = course.enrollment_order_cache
        if rows is None:
            rows = sorted(course.enrollments, key=lambda e: (e.type, e.user.sortable_name, e.id))
            course.enrollment_order_cache = rows
        return rows

    def calculator(self, course: Course, period: GradingPeriod | None = None) -> CourseCalculator:
        """The course's grade calculator, or one grading period's (rebuilt when assignments change)."""
        cache = course.calculator_cache
        if cache is None:
            cache = course.calculator_cache = {}
        key = period.id if period is not None else None
        calc = cache.get(key)
        if calc is None:
            groups = [
                GroupFacts(g.id, g.group_weight, g.drop_lowest, g.drop_highest, frozenset(g.never_drop))
                for g in course.groups
            ]
            assignments = [
                AssignmentFacts(a.id, a.assignment_group_id, a.points_possible, a.omit_from_final_grade)
                for a in course.assignments
                if a.published
                and gradeable(a)
                and (period is None or self.grading_period_of(course, a.due_at) is period)  # A.2 6
            ]
            calc = CourseCalculator(groups, assignments, weighted=course.apply_assignment_group_weights)
            cache[key] = calc
        return calc

    # ---- grading periods (docs/grade-calculation.md A.7) ---------------------------------------------
    def period_set(self, course: Course) -> GradingPeriodSet | None:
        """The grading period set of the course's term, if any."""
        for period_set in self.grading_period_sets:
            if course.enrollment_term_id in period_set.term_ids:
                return period_set
        return None

    def grading_period_of(self, course: Course, due_at: int | None) -> GradingPeriod | None:
        """The period an assignment due at `due_at` counts in: start < due <= end; no due date
        counts in the last period (Canvas's effective due dates); a date outside every period, none."""
        period_set = self.period_set(course)
        if period_set is None or not period_set.periods:
            return None
        if due_at is None:
            return period_set.periods[-1]
        for period in period_set.periods:
            if period.start_date < due_at <= period.end_date:
                return period
        return None

    def grading_period_of_assignment(self, assignment: Assignment) -> GradingPeriod | None:
        """The grading period an assignment's submissions belong to (their `grading_period_id`)."""
        course = self.courses_by_id.get(assignment.course_id)
        return self.grading_period_of(course, assignment.due_at) if course is not None else None

    def current_points(
        self, course: Course, enrollment: Enrollment, period: GradingPeriod | None = None
    ) -> tuple[float | None, float | None]:
        """`current_points` and `unposted_current_points` of a StudentEnrollment (A.5: the point
        total in points mode, the percentage in weighted modes)."""
        period_set = self.period_set(course)
        if period is None and period_set is not None and period_set.weighted:
            scores = self.student_scores(course, enrollment)
            return (scores.current_score, scores.unposted_current_score) if scores else (None, None)
        calc = self.calculator(course, period)
        work = self.student_work(course, enrollment.user.id)
        concluded = enrollment.state == "completed"
        return (
            calc.score(work, posted_only=True, include_ungraded=False, concluded=concluded, points=True),
            calc.score(work, posted_only=False, include_ungraded=False, concluded=concluded, points=True),
        )

    def period_scores(
        self, course: Course, period: GradingPeriod, enrollment: Enrollment
    ) -> CourseScores | None:
        """One StudentEnrollment's scores in one grading period (None when deleted).

        Not cached: `advance` rescoring touched students must see their new period scores."""
        if enrollment.state == "deleted":
            return None
        return self.calculator(course, period).scores(
            self.student_work(course, enrollment.user.id), concluded=enrollment.state == "completed"
        )

    def student_work(self, course: Course, user_id: int) -> dict[int, WorkFacts]:
        """What the calculator sees of one student's submissions, by assignment id."""
        index = course.work_index_cache
        if index is None:
            index = defaultdict(list)
            for s in course.submissions:
                index[s.user_id].append(s)
            course.work_index_cache = index
        return {
            s.assignment.id: WorkFacts(
                s.score, s.posted_at is not None, s.excused, s.workflow_state == "pending_review"
            )
            for s in index.get(user_id, ())
            if s.assignment.published
        }

    def student_scores(self, course: Course, enrollment: Enrollment) -> CourseScores | None:
        """Course scores of one StudentEnrollment (None when deleted: Canvas deletes its scores)."""
        if enrollment.state == "deleted":
            return None
        period_set = self.period_set(course)
        if period_set is not None and period_set.weighted:
            return weighted_course_scores(
                [(self.period_scores(course, p, enrollment), p.weight) for p in period_set.periods]
            )
        return self.calculator(course).scores(
            self.student_work(course, enrollment.user.id), concluded=enrollment.state == "completed"
        )

    def grades(self, course: Course) -> dict[int, CourseScores | None]:
        """Course scores per StudentEnrollment id, computed on first use and cached."""
        cached = course.grades_cache
        if cached is None:
            cached = {
                e.id: self.student_scores(course, e)
                for e in course.enrollments
                if e.type == "StudentEnrollment"
            }
            course.grades_cache = cached
        return cached
