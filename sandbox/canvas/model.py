"""Compact in-memory records of a synthetic Canvas institution (one slotted class per API object)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# Canvas's built-in base role ids (a fresh install numbers them in this order).
ROLE_IDS: dict[str, int] = {
    "StudentEnrollment": 3,
    "TeacherEnrollment": 4,
    "TaEnrollment": 5,
    "DesignerEnrollment": 6,
    "ObserverEnrollment": 7,
}


@dataclass(slots=True, eq=False)
class Account:
    """An account (the root or a sub-account)."""

    id: int
    name: str
    parent_account_id: int | None
    root_account_id: int | None
    sis_account_id: str | None
    uuid: str
    created_at: int


@dataclass(slots=True, eq=False)
class Term:
    """An enrollment term; the default term has no dates and no SIS id."""

    id: int
    name: str
    sis_term_id: str | None
    start_at: int | None
    end_at: int | None
    created_at: int


@dataclass(slots=True, eq=False)
class User:
    """A user with one login (pseudonym) in the root account."""

    id: int
    name: str
    sortable_name: str
    short_name: str
    sis_user_id: str | None
    integration_id: str | None
    login_id: str
    email: str
    created_at: int
    last_login: int | None


@dataclass(slots=True, eq=False)
class Section:
    """A course section."""

    id: int
    course_id: int
    name: str
    sis_section_id: str | None
    integration_id: str | None
    start_at: int | None
    end_at: int | None
    created_at: int


@dataclass(slots=True, eq=False)
class AssignmentGroup:
    """An assignment group with its weight and drop rules."""

    id: int
    course_id: int
    name: str
    position: int
    group_weight: float
    drop_lowest: int
    drop_highest: int
    never_drop: tuple[int, ...]
    sis_source_id: str | None


@dataclass(slots=True, eq=False)
class Assignment:
    """An assignment; `hidden_grades` means a manual post policy (grades stay unposted)."""

    id: int
    course_id: int
    assignment_group_id: int
    name: str
    position: int
    points_possible: float
    grading_type: str
    submission_types: tuple[str, ...]
    due_at: int | None
    created_at: int
    updated_at: int
    published: bool
    omit_from_final_grade: bool
    hidden_grades: bool
    quiz_id: int | None


@dataclass(slots=True, eq=False)
class Submission:
    """One student's submission of one assignment (placeholders included).

    `entered_score`, `grade`, `entered_grade`, `late` and `attempt` are derived when serialised.
    """

    id: int
    assignment: Assignment
    user_id: int
    workflow_state: str
    score: float | None
    points_deducted: float | None
    submitted_at: int | None
    graded_at: int | None
    posted_at: int | None
    grader_id: int | None
    excused: bool
    missing: bool
    late_policy_status: str | None
    seconds_late: int
    submission_type: str | None
    custom_grade_status_id: int | None = None


@dataclass(slots=True, eq=False)
class Enrollment:
    """An enrollment of a user in a course section."""

    id: int
    course_id: int
    section: Section
    user: User
    type: str
    state: str
    created_at: int
    updated_at: int
    last_activity_at: int | None
    last_attended_at: int | None
    total_activity_time: int
    limit_privileges_to_course_section: bool
    associated_user_id: int | None

    @property
    def role_id(self) -> int:
        """The base role id of this enrollment type."""
        return ROLE_IDS[self.type]


@dataclass(slots=True, eq=False)
class Course:
    """A course and everything that hangs off it, with caches rebuilt after `advance()`."""

    id: int
    name: str
    course_code: str
    sis_course_id: str | None
    integration_id: str | None
    account_id: int
    enrollment_term_id: int
    workflow_state: str
    start_at: int | None
    end_at: int | None
    created_at: int
    apply_assignment_group_weights: bool
    default_view: str
    is_public: bool
    uuid: str
    late_policy_pct: float  # late deduction per day as a fraction of points possible (0 = no policy)
    missing_policy_pct: float | None  # score given to missing work as a fraction of points (None = no policy)
    # Final Grade Override: enrollment id -> override score (percent); docs/grade-calculation.md A.8
    override_scores: dict[int, float] = field(default_factory=dict)
    sections: list[Section] = field(default_factory=list)
    enrollments: list[Enrollment] = field(default_factory=list)
    groups: list[AssignmentGroup] = field(default_factory=list)
    assignments: list[Assignment] = field(default_factory=list)
    submissions: list[Submission] = field(default_factory=list)
    # Derived views, rebuilt lazily (None = stale).
    served_cache: list[Submission] | None = None
    grades_cache: dict[int, Any] | None = None  # enrollment id -> CourseScores | None
    enrollment_order_cache: list[Enrollment] | None = None
    calculator_cache: Any = None  # grading period id (None: the course) -> grades.CourseCalculator
    work_index_cache: dict[int, list[Submission]] | None = None  # user id -> submissions

    def invalidate(self) -> None:
        """Forget every derived view after a change to this course."""
        self.served_cache = None
        self.grades_cache = None
        self.enrollment_order_cache = None
        self.calculator_cache = None
        self.work_index_cache = None


@dataclass(slots=True, eq=False)
class GradingPeriod:
    """A grading period: assignments due in (start_date, end_date] count in it."""

    id: int
    title: str
    start_date: int
    end_date: int
    close_date: int
    weight: float | None


@dataclass(slots=True, eq=False)
class GradingPeriodSet:
    """A set of grading periods attached to enrollment terms; `weighted` builds the course score
    from the period scores (docs/grade-calculation.md A.7)."""

    id: int
    title: str
    weighted: bool
    display_totals_for_all_grading_periods: bool
    term_ids: tuple[int, ...]
    periods: list[GradingPeriod]
    created_at: int


@dataclass(slots=True, eq=False)
class CustomGradeStatus:
    """A root account's custom grade status (a label on a submission; it does not change scores)."""

    id: int
    name: str
    color: str
