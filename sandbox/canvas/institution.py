"""The synthetic institution: size presets, the seeded generator, and derived per-course views."""

from __future__ import annotations

import logging
import math
import random
import string
import threading
from collections import defaultdict
from dataclasses import dataclass

from .catalog import (
    COLLEGES,
    FIRST_NAMES,
    GROUP_KINDS,
    LAST_NAMES,
    NO_SUBMISSION_TYPES,
    SUBMISSION_TYPE_FOR,
    GroupKind,
)
from .grades import AssignmentFacts, CourseCalculator, CourseScores, GroupFacts, WorkFacts
from .model import Account, Assignment, AssignmentGroup, Course, Enrollment, Section, Submission, Term, User
from .timestamps import ANCHOR_NOW, DAY, HOUR, epoch

log = logging.getLogger(__name__)

_ALNUM = string.ascii_letters + string.digits
# Course due times are 23:59 America/Chicago (CDT, UTC-5) -> 04:59 UTC the next day.
_DUE_OFFSET = 4 * HOUR + 59 * 60


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

    def calculator(self, course: Course) -> CourseCalculator:
        """The course's grade calculator (rebuilt when its assignments change)."""
        calc = course.calculator_cache
        if calc is None:
            groups = [
                GroupFacts(g.id, g.group_weight, g.drop_lowest, g.drop_highest, frozenset(g.never_drop))
                for g in course.groups
            ]
            assignments = [
                AssignmentFacts(a.id, a.assignment_group_id, a.points_possible, a.omit_from_final_grade)
                for a in course.assignments
                if a.published and gradeable(a)
            ]
            calc = CourseCalculator(groups, assignments, weighted=course.apply_assignment_group_weights)
            course.calculator_cache = calc
        return calc

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


# ---- generation ------------------------------------------------------------------------------


class _Generator:
    """Builds an Institution from one seeded random stream (never the global `random`)."""

    def __init__(self, size: str, seed: int) -> None:
        if size not in SIZES:
            raise ValueError(f"unknown size {size!r}; use one of {sorted(SIZES)}")
        self.spec = SIZES[size]
        self.rng = random.Random(f"canvas-sandbox:{size}:{seed}")
        self.inst = Institution(size, seed)
        self.now = ANCHOR_NOW
        self.ids = {
            "account": 1,
            "term": 1,
            "user": 10_001,
            "course": 101,
            "section": 3_001,
            "group": 100_001,
            "assignment": 200_001,
            "enrollment": 500_001,
            "submission": 10_000_001,
            "quiz": 1,
        }
        self.floats: dict[float, float] = {}

    def shared(self, value: float) -> float:
        """One float object per distinct score (scores repeat a lot; saves memory at large size)."""
        return self.floats.setdefault(value, value)

    def next_id(self, kind: str) -> int:
        value = self.ids[kind]
        self.ids[kind] = value + 1
        return value

    def token(self, length: int) -> str:
        return "".join(self.rng.choices(_ALNUM, k=length))

    def between(self, start: int, end: int) -> int:
        """A whole-second time in [start, end], never after now (end wins when the range is empty)."""
        end = min(end, self.now)
        return end if end <= start else self.rng.randint(start, end)

    # -- accounts, terms, users ----------------------------------------------------------------
    def build_accounts(self) -> list[Account]:
        """Root, colleges and (for medium/large) departments; returns the leaf accounts."""
        inst, spec = self.inst, self.spec
        created = epoch(2019, 7, 1, 15)
        root = Account(
            self.next_id("account"), "Sandbox State University", None, None, None, self.token(40), created
        )
        inst.accounts.append(root)
        leaves: list[tuple[Account, tuple]] = []
        for c_idx, college in enumerate(COLLEGES[: spec.colleges]):
            acc = Account(
                self.next_id("account"),
                college.name,
                root.id,
                root.id,
                f"COL-{college.code}",
                self.token(40),
                created + (c_idx + 1) * DAY,
            )
            inst.accounts.append(acc)
            if spec.departments_per_college == 0:
                leaves.append((acc, college.departments))
                continue
            for d_idx, dept in enumerate(college.departments[: spec.departments_per_college]):
                sub = Account(
                    self.next_id("account"),
                    f"Department of {dept.name}",
                    acc.id,
                    root.id,
                    f"DEPT-{dept.subject}",
                    self.token(40),
                    created + (c_idx + 1) * DAY + (d_idx + 1) * HOUR,
                )
                inst.accounts.append(sub)
                leaves.append((sub, (dept,)))
        self.leaves = leaves
        return [leaf for leaf, _ in leaves]

    def build_terms(self) -> None:
        inst = self.inst
        inst.terms.append(Term(self.next_id("term"), "Default Term", None, None, None, epoch(2019, 7, 1, 15)))
        for name, sis, start, end in TERMS:
            inst.terms.append(Term(self.next_id("term"), name, sis, start, end, start - 120 * DAY))

    def make_user(self, first: str, last: str, sis: str | None, domain: str, created: int) -> User:
        uid = self.next_id("user")
        login = f"{first[0]}{last}{uid % 100_000:05d}".lower()
        integration = f"INT-{uid}" if sis and self.rng.random() < 0.03 else None
        last_login = self.between(self.now - 20 * DAY, self.now - 60) if self.rng.random() < 0.9 else None
        user = User(
            uid,
            f"{first} {last}",
            f"{last}, {first}",
            f"{first} {last}",
            sis,
            integration,
            login,
            f"{login}@{domain}",
            created,
            last_login,
        )
        self.inst.users.append(user)
        return user

    def build_users(self) -> None:
        rng, spec = self.rng, self.spec
        early, late = epoch(2024, 5, 1), epoch(2025, 12, 1)

        def name() -> tuple[str, str]:
            return rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)

        admin = self.make_user("Sandbox", "Admin", None, "sandbox.test", epoch(2019, 7, 1, 16))
        api = self.make_user("Integration", "Tester", None, "sandbox.test", epoch(2024, 1, 8, 16))
        self.inst.admin_user_id, self.inst.api_user_id = admin.id, api.id
        self.teachers = [
            self.make_user(*name(), f"T{100_000 + i:06d}", "faculty.sandbox.test", rng.randint(early, late))
            for i in range(spec.teachers)
        ]
        self.tas = [
            self.make_user(
                *name(), f"S{9_000_000 + i:07d}", "students.sandbox.test", rng.randint(early, late)
            )
            for i in range(max(2, spec.courses // 3))
        ]
        self.designers = [
            self.make_user(*name(), f"E{200_000 + i:06d}", "staff.sandbox.test", rng.randint(early, late))
            for i in range(max(1, spec.courses // 20))
        ]
        self.observers = [
            self.make_user(*name(), None, "parents.sandbox.test", rng.randint(early, late))
            for _ in range(max(2, spec.students // 50))
        ]
        self.students = []
        for i in range(spec.students):
            sis = f"S{1_000 + i * 7:07d}" if rng.random() >= 0.02 else None  # a few without SIS id
            self.students.append(
                self.make_user(*name(), sis, "students.sandbox.test", rng.randint(early, late))
            )
        self.abilities = {u.id: 0.55 + 0.45 * math.sqrt(rng.random()) for u in self.students}
        order = self.students[:]
        rng.shuffle(order)
        self.student_cycle = order
        self.cycle_pos = 0

    # -- courses ------------------------------------------------------------------------------
    def pick_students(self, k: int) -> list[User]:
        """The next k distinct students from a shuffled cycle (so nearly everyone is enrolled)."""
        picked: dict[int, User] = {}
        n = len(self.student_cycle)
        while len(picked) < min(k, n):
            user = self.student_cycle[self.cycle_pos % n]
            self.cycle_pos += 1
            picked.setdefault(user.id, user)
        return list(picked.values())

    def forced_features(self, c_idx: int) -> frozenset[str]:
        """Features pinned to fixed courses so every institution, even a small one, shows each case."""
        n = self.spec.courses
        pinned = {
            0: {"fall", "roll_call", "drop_rule"},
            1: {"fall", "extra_credit", "weighted"},
            2: {"fall", "weighted", "weights_off_100"},
            3: {"fall", "omit"},
            n - 2: {"unpublished"},
            n - 1: {"sandbox_shell"},
        }
        return frozenset(pinned.get(c_idx, ()))

    def build_courses(self) -> None:
        rng, inst, spec = self.rng, self.inst, self.spec
        sis_counter: dict[str, int] = defaultdict(int)
        for c_idx in range(spec.courses):
            force = self.forced_features(c_idx)
            # the first courses visit every leaf sub-account once, so none is empty
            leaf, depts = (
                self.leaves[c_idx % len(self.leaves)] if c_idx < len(self.leaves) else rng.choice(self.leaves)
            )
            dept = rng.choice(depts)
            number, title = rng.choice(dept.titles)
            r = rng.random()
            if "sandbox_shell" in force or (r >= 0.96 and not force):
                term = inst.terms[0]
            elif r < 0.25 and not force:
                term = inst.terms[1]
            elif r < 0.35 and not force:
                term = inst.terms[2]
            else:
                term = inst.terms[3]
            if term.sis_term_id:
                state = (
                    "completed"
                    if term.end_at and term.end_at < self.now
                    else ("unpublished" if rng.random() < 0.06 or "unpublished" in force else "available")
                )
                key = f"{term.sis_term_id}-{dept.subject}-{number}"
                sis_counter[key] += 1
                sis = f"{key}-{sis_counter[key]:02d}"
                start, end = term.start_at, term.end_at
                created = start - rng.randint(20, 60) * DAY  # type: ignore[operator]
                code = f"{dept.subject}-{number}-{sis_counter[key]:02d}"
                name = f"{dept.subject} {number}: {title} ({term.name}, Section {sis_counter[key]:02d})"
            else:  # sandbox / development shells in the default term, no SIS id
                state = rng.choice(("unpublished", "available"))
                sis, start, end = None, None, None
                created = FALL_WINDOW[0] - rng.randint(30, 90) * DAY
                code = f"{dept.subject}-{number}-SANDBOX"
                name = f"Sandbox: {dept.subject} {number} {title}"
            course = Course(
                id=self.next_id("course"),
                name=name,
                course_code=code,
                sis_course_id=sis,
                integration_id=None,
                account_id=leaf.id,
                enrollment_term_id=term.id,
                workflow_state=state,
                start_at=start,
                end_at=end,
                created_at=created,
                apply_assignment_group_weights=rng.random() < 0.5 or "weighted" in force,
                default_view=rng.choice(("modules", "modules", "assignments", "syllabus", "wiki", "feed")),
                is_public=rng.random() < 0.05,
                uuid=self.token(40),
                late_policy_pct=0.1 if rng.random() < 0.5 else 0.0,
                missing_policy_pct=rng.choice((0.0, 0.5)) if rng.random() < 0.3 else None,
            )
            inst.courses.append(course)
            window = (start, end) if start and end else FALL_WINDOW
            self.build_sections(course, window)
            teacher_ids = self.build_enrollments(course, window)
            self.build_gradebook(course, window, teacher_ids, force)

    def build_sections(self, course: Course, window: tuple[int, int]) -> None:
        for j in range(1, self.rng.choice((1, 1, 2, 2, 3)) + 1):
            course.sections.append(
                Section(
                    self.next_id("section"),
                    course.id,
                    f"{course.course_code} Section {j:03d}",
                    f"{course.sis_course_id}-{j:03d}" if course.sis_course_id else None,
                    None,
                    window[0] if self.rng.random() < 0.2 else None,
                    window[1] if self.rng.random() < 0.2 else None,
                    course.created_at + self.rng.randint(0, HOUR),
                )
            )

    def _enroll(
        self,
        course: Course,
        section: Section,
        user: User,
        etype: str,
        state: str,
        window: tuple[int, int],
        associated: int | None = None,
    ) -> Enrollment:
        rng = self.rng
        created = self.between(max(course.created_at, user.created_at) + HOUR, window[0] + 14 * DAY)
        active_end = min(window[1], self.now) - 60
        if state in ("invited",):
            last_activity, activity_time = None, 0
        else:
            last_activity = self.between(max(window[0], created), active_end)
            activity_time = rng.randint(600, 250_000)
        updated = self.between(created, created + 3 * DAY)
        if state in ("deleted", "inactive"):
            updated = self.between(max(created, window[0]), active_end)
            if last_activity is not None:
                last_activity = min(last_activity, updated)
        enrollment = Enrollment(
            id=self.next_id("enrollment"),
            course_id=course.id,
            section=section,
            user=user,
            type=etype,
            state=state,
            created_at=created,
            updated_at=updated,
            last_activity_at=last_activity,
            last_attended_at=None,
            total_activity_time=activity_time,
            limit_privileges_to_course_section=etype == "TaEnrollment" and rng.random() < 0.5,
            associated_user_id=associated,
        )
        course.enrollments.append(enrollment)
        return enrollment

    def build_enrollments(self, course: Course, window: tuple[int, int]) -> list[int]:
        rng = self.rng
        staff_state = "completed" if course.workflow_state == "completed" else "active"
        first = course.sections[0]
        teacher_ids: list[int] = []
        for _ in range(2 if rng.random() < 0.15 else 1):
            teacher = rng.choice(self.teachers)
            if teacher.id in teacher_ids:
                continue
            teacher_ids.append(teacher.id)
            self._enroll(course, first, teacher, "TeacherEnrollment", staff_state, window)
        if rng.random() < 0.35:
            self._enroll(course, first, rng.choice(self.tas), "TaEnrollment", staff_state, window)
        if rng.random() < 0.1:
            self._enroll(course, first, rng.choice(self.designers), "DesignerEnrollment", "active", window)
        students = self.pick_students(rng.randint(*self.spec.class_size))
        students.sort(key=lambda u: u.id)
        for student in students:
            r = rng.random()
            if course.workflow_state == "completed":
                state = "completed" if r < 0.93 else ("deleted" if r < 0.96 else "inactive")
            elif course.workflow_state == "unpublished":
                state = "invited" if r < 0.8 else ("active" if r < 0.97 else "deleted")
            else:
                state = (
                    "active" if r < 0.88 else "invited" if r < 0.92 else "inactive" if r < 0.96 else "deleted"
                )
            section = course.sections[rng.randrange(len(course.sections))]
            enrollment = self._enroll(course, section, student, "StudentEnrollment", state, window)
            if state in ("active", "completed") and rng.random() < 0.15:
                enrollment.last_attended_at = self.between(
                    max(window[0], enrollment.created_at), min(window[1], self.now) - 60
                )
            if rng.random() < 0.05:
                observer = rng.choice(self.observers)
                obs_state = "completed" if course.workflow_state == "completed" else "active"
                self._enroll(
                    course, section, observer, "ObserverEnrollment", obs_state, window, associated=student.id
                )
        return teacher_ids

    # -- gradebook ----------------------------------------------------------------------------
    def build_gradebook(
        self, course: Course, window: tuple[int, int], teacher_ids: list[int], force: frozenset[str]
    ) -> None:
        rng = self.rng
        n_groups = rng.randint(2, 5)
        kinds = rng.sample(GROUP_KINDS, n_groups)
        weights = self.group_weights(
            n_groups, course.apply_assignment_group_weights, "weights_off_100" in force
        )
        n_assign = rng.randint(*self.spec.assignments)
        shares = [k.share for k in kinds]
        counts = [1] * n_groups
        for _ in range(max(n_assign - n_groups, 0)):
            counts[rng.choices(range(n_groups), weights=shares)[0]] += 1
        plans: list[tuple[AssignmentGroup, list[Assignment]]] = []
        for pos, (kind, weight, count) in enumerate(zip(kinds, weights, counts, strict=True), start=1):
            group = AssignmentGroup(
                self.next_id("group"),
                course.id,
                kind.name,
                pos,
                weight,
                0,
                0,
                (),
                f"AG-{course.sis_course_id}-{pos}" if course.sis_course_id and rng.random() < 0.1 else None,
            )
            course.groups.append(group)
            items = [self.make_assignment(course, group, kind, j, count, window) for j in range(count)]
            plans.append((group, items))
        roll_call = extra_credit = None
        if rng.random() < 1 / 3 or "roll_call" in force:
            roll_call = self.make_special(course, course.groups[0], "Roll Call Attendance", window)
            plans[0][1].append(roll_call)
        if rng.random() < 1 / 8 or "extra_credit" in force:
            extra_credit = self.make_special(course, course.groups[-1], "Extra Credit", window)
            plans[-1][1].append(extra_credit)
        for group, items in plans:
            graded_items = [a for a in items if a is not roll_call and a is not extra_credit]
            if len(graded_items) >= 3 and extra_credit not in items and rng.random() < 0.3:
                group.drop_lowest = 1
                if rng.random() < 0.15:
                    group.drop_highest = 1
                if rng.random() < 0.3:
                    group.never_drop = (graded_items[-1].id,)
        if "drop_rule" in force and not any(g.drop_lowest for g in course.groups):
            group, items = max(plans, key=lambda p: len([a for a in p[1] if a is not roll_call]))
            if extra_credit not in items and len(items) >= 2:
                group.drop_lowest = 1
        if "omit" in force:
            plans[0][1][0].omit_from_final_grade = True
        for _, items in plans:
            for position, a in enumerate(items, start=1):  # specials go last in their group
                a.position = position
            course.assignments.extend(items)
        course.assignments.sort(key=lambda a: a.id)
        self.build_submissions(course, window, teacher_ids, roll_call)

    def group_weights(self, n: int, weighted: bool, off_100: bool = False) -> list[float]:
        """Weights in steps of 5 adding up to 100 (occasionally not); mostly 0 in unweighted courses."""
        rng = self.rng
        if not weighted and rng.random() < 0.7:
            return [0.0] * n
        cuts = sorted(rng.sample(range(1, 20), n - 1))
        parts = [b - a for a, b in zip([0, *cuts], [*cuts, 20], strict=True)]
        weights = [5.0 * p for p in parts]
        if weighted and (rng.random() < 0.12 or off_100):  # weights that do not add up to 100
            weights[rng.randrange(n)] += rng.choice((-5.0, 10.0))
        return weights

    def make_assignment(
        self,
        course: Course,
        group: AssignmentGroup,
        kind: GroupKind,
        j: int,
        count: int,
        window: tuple[int, int],
    ) -> Assignment:
        rng = self.rng
        start, end = window
        frac = (j + 1) / (count + 1)
        due_day = start + int(frac * (end - start - 7 * DAY)) + rng.randint(-2, 2) * DAY
        due = None if rng.random() < 0.04 else due_day - due_day % DAY + _DUE_OFFSET
        created = self.between(course.created_at + DAY, course.created_at + 12 * DAY)
        updated = self.between(created, created + 30 * DAY)
        published = not (
            course.workflow_state != "completed"
            and due is not None
            and due > self.now
            and rng.random() < 0.12
        )
        points = rng.choice(kind.points)
        label = kind.item if kind.item != "Exam" else ("Midterm Exam" if j < count - 1 else "Final Exam")
        name = f"{label} {j + 1}" if label not in ("Midterm Exam", "Final Exam") or count > 2 else label
        quiz_id = None
        if "online_quiz" in kind.submission_types:
            quiz_id = self.next_id("quiz")
        types = (
            kind.submission_types
            if len(kind.submission_types) == 1 or rng.random() < 0.5
            else kind.submission_types[:1]
        )
        return Assignment(
            id=self.next_id("assignment"),
            course_id=course.id,
            assignment_group_id=group.id,
            name=name,
            position=j + 1,
            points_possible=points,
            grading_type="points",
            submission_types=tuple(types),
            due_at=due,
            created_at=created,
            updated_at=updated,
            published=published,
            omit_from_final_grade=rng.random() < 0.03,
            hidden_grades=rng.random() < 0.04,
            quiz_id=quiz_id,
        )

    def make_special(
        self, course: Course, group: AssignmentGroup, name: str, window: tuple[int, int]
    ) -> Assignment:
        rng = self.rng
        created = self.between(course.created_at + DAY, window[0] + 2 * DAY)
        if name == "Roll Call Attendance":
            points, grading, types, due = 100.0, "percent", ("external_tool",), None
            omit = rng.random() < 0.3
        else:
            points, grading, types = 0.0, "points", ("online_text_entry",)
            due = window[0] + (window[1] - window[0]) // 2
            due = due - due % DAY + _DUE_OFFSET
            omit = False
        return Assignment(
            id=self.next_id("assignment"),
            course_id=course.id,
            assignment_group_id=group.id,
            name=name,
            position=0,
            points_possible=points,
            grading_type=grading,
            submission_types=types,
            due_at=due,
            created_at=created,
            updated_at=self.between(created, created + DAY),
            published=True,
            omit_from_final_grade=omit,
            hidden_grades=False,
            quiz_id=None,
        )

    def build_submissions(
        self, course: Course, window: tuple[int, int], teacher_ids: list[int], roll_call: Assignment | None
    ) -> None:
        students = sorted(
            (e for e in course.enrollments if e.type == "StudentEnrollment"), key=lambda e: e.user.id
        )
        grader = teacher_ids[0] if teacher_ids else None
        for a in course.assignments:
            if not a.published:
                continue
            for e in students:
                course.submissions.append(self.make_submission(course, a, e, window, grader, a is roll_call))

    def make_submission(
        self,
        course: Course,
        a: Assignment,
        e: Enrollment,
        window: tuple[int, int],
        grader: int | None,
        is_roll_call: bool,
    ) -> Submission:
        rng, now = self.rng, self.now
        sid = self.next_id("submission")
        uid = e.user.id
        due = a.due_at
        points = a.points_possible
        s = Submission(
            sid, a, uid, "unsubmitted", None, None, None, None, None, None, False, False, None, 0, None
        )
        if e.state == "invited":
            s.missing = due is not None and due < now and expects_submission(a)
            return s
        ability = self.abilities.get(uid, 0.8)
        active_end = min(window[1], now) - 60
        if is_roll_call:
            rate = min(max(rng.gauss(0.88 + 0.1 * (ability - 0.8), 0.08), 0.4), 1.0)
            s.workflow_state, s.score = "graded", self.shared(round(rate * 100, 2))
            s.graded_at = self.between(active_end - 3 * DAY, active_end)
            s.posted_at, s.grader_id = s.graded_at, grader
            return s
        past = due is None or due < now
        if not past:
            if rng.random() < 0.08:  # early submission, not graded yet
                s.workflow_state = "submitted"
                s.submitted_at = self.between(max(a.created_at, now - 3 * DAY), now - 60)
                s.submission_type = SUBMISSION_TYPE_FOR.get(a.submission_types[0])
            return s
        reference = due if due is not None else a.created_at + 14 * DAY
        hidden = a.hidden_grades
        if not expects_submission(a):  # graded on paper / in class, no submitted_at
            if rng.random() < 0.95:
                s.graded_at = self.between(reference + HOUR, reference + 7 * DAY)
                self._grade(s, points, ability, grader, hidden)
            return s
        r = rng.random()
        if r < 0.01:
            s.workflow_state, s.excused = "graded", True
            s.graded_at = self.between(reference + HOUR, reference + 5 * DAY)
            s.grader_id, s.posted_at = grader, None if hidden else s.graded_at
            return s
        if r < 0.6 + 0.38 * ability:
            late = rng.random() < 0.08 and due is not None
            if late:
                s.submitted_at = self.between(reference + 600, reference + 4 * DAY)
            else:
                s.submitted_at = self.between(max(a.created_at + HOUR, reference - 5 * DAY), reference - 60)
            if due is not None and s.submitted_at > due:
                s.seconds_late = s.submitted_at - due
                s.points_deducted = 0.0
            s.submission_type = SUBMISSION_TYPE_FOR.get(a.submission_types[0])
            s.workflow_state = "submitted"
            if a.quiz_id is not None:  # auto-graded quiz; some wait for manual review
                s.graded_at = min(s.submitted_at + rng.randint(1, 30), now)
                self._grade(s, points, ability, -a.quiz_id, hidden, course.late_policy_pct)
                if rng.random() < 0.08:
                    s.workflow_state = "pending_review"
                return s
            if rng.random() < 0.97:
                graded_at = s.submitted_at + rng.randint(HOUR, 7 * DAY)
                if graded_at <= now - 60:
                    s.graded_at = graded_at
                    self._grade(s, points, ability, grader, hidden, course.late_policy_pct)
            return s
        s.missing = True
        if rng.random() < 0.2:
            s.late_policy_status = "missing"
        if course.missing_policy_pct is not None:  # missing-submission policy writes a score
            s.graded_at = self.between(reference + HOUR, reference + DAY)
            s.workflow_state, s.score = "graded", self.shared(round(points * course.missing_policy_pct, 2))
            s.posted_at = None if hidden else s.graded_at
        return s

    def _grade(
        self,
        s: Submission,
        points: float,
        ability: float,
        grader: int | None,
        hidden: bool,
        late_pct: float = 0.0,
    ) -> None:
        rng = self.rng
        perf = min(max(rng.gauss(ability, 0.1), 0.0), 1.08)
        raw = round(points * perf * 2) / 2
        if s.seconds_late and late_pct:
            days = math.ceil(s.seconds_late / DAY)
            deducted = round(min(raw, points * late_pct * days), 2)
            s.points_deducted = self.shared(deducted)
            s.score = self.shared(round(raw - deducted, 2))
        else:
            s.score = self.shared(raw)
        s.workflow_state = "graded"
        s.grader_id = grader
        s.posted_at = None if hidden else s.graded_at


def build_institution(size: str = "small", seed: int = 7) -> Institution:
    """Generate the institution for (size, seed) deterministically.

    Args:
        size: "small", "medium" or "large".
        seed: Any integer; the same (size, seed) always gives the same institution.

    Returns:
        The indexed institution.
    """
    gen = _Generator(size, seed)
    gen.build_accounts()
    gen.build_terms()
    gen.build_users()
    gen.build_courses()
    inst = gen.inst
    inst.next_assignment_id = gen.ids["assignment"]
    inst.next_submission_id = gen.ids["submission"]
    inst.index()
    log.info(
        "built %s institution seed=%s: %d courses, %d users", size, seed, len(inst.courses), len(inst.users)
    )
    return inst
