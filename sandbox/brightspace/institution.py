"""The synthetic institution: org units, users, course offerings, sections, enrollments and the clock.

Everything is a pure function of (size, seed) through `random.Random` with string seeds; wall-clock
time never enters the data. The skeleton (org structure, users, enrollments) is built eagerly; each
course's grade book and attendance register are built on first use from a generator seeded by the
course alone, so the order in which courses are touched never changes what they hold.
"""

from __future__ import annotations

import logging
import math
import random
import threading
from bisect import insort
from collections.abc import Iterator
from dataclasses import dataclass, field, replace

from .attendance import CourseAttendance, build_attendance
from .gradebook import Gradebook, build_gradebook
from .names import COURSE_NUMBERS, COURSE_TITLES, FIRST_NAMES, LAST_NAMES, MIDDLE_INITIALS, SUBJECTS
from .timestamps import epoch

log = logging.getLogger(__name__)

SANDBOX_START = epoch(2025, 3, 14, 17, 0, 0)
ROOT_ORG_UNIT_ID = 6606
ORGANIZATION_NAME = "Sandbox State University"
EMAIL_DOMAIN = "example.edu"
DAY = 86_400


@dataclass(frozen=True, slots=True)
class OrgUnitType:
    """An org unit type (`outypes/`); ids other than 1-3 are instance-specific in Brightspace."""

    id: int
    code: str
    name: str


ORGANIZATION = OrgUnitType(1, "Organization", "Organization")
COURSE_TEMPLATE = OrgUnitType(2, "Course Template", "Course Template")
COURSE_OFFERING = OrgUnitType(3, "Course Offering", "Course Offering")
SECTION = OrgUnitType(4, "Section", "Section")
SEMESTER = OrgUnitType(5, "Semester", "Semester")
DEPARTMENT = OrgUnitType(101, "Department", "Department")
ORG_UNIT_TYPES: dict[int, OrgUnitType] = {
    t.id: t for t in (ORGANIZATION, COURSE_TEMPLATE, COURSE_OFFERING, SECTION, SEMESTER, DEPARTMENT)
}


@dataclass(frozen=True, slots=True)
class Role:
    """A role (`RoleInfo`); role ids are instance-specific in Brightspace."""

    id: int
    code: str
    name: str


ADMINISTRATOR = Role(101, "Administrator", "Administrator")
INSTRUCTOR = Role(109, "Instructor", "Instructor")
STUDENT = Role(110, "Student", "Student")
TA = Role(111, "TA", "Teaching Assistant")
ROLES: dict[int, Role] = {r.id: r for r in (ADMINISTRATOR, INSTRUCTOR, STUDENT, TA)}


@dataclass(frozen=True, slots=True)
class SizeSpec:
    """How big an institution is."""

    name: str
    departments: int
    offerings: int
    students: int
    instructors: int
    tas: int
    class_size: int


SIZES: dict[str, SizeSpec] = {
    "small": SizeSpec(
        "small", departments=3, offerings=10, students=120, instructors=12, tas=6, class_size=26
    ),
    "medium": SizeSpec(
        "medium", departments=12, offerings=200, students=5_000, instructors=240, tas=100, class_size=58
    ),
    "large": SizeSpec(
        "large", departments=40, offerings=2_000, students=50_000, instructors=2_400, tas=1_000, class_size=58
    ),
}


@dataclass(slots=True)
class OrgUnit:
    """An org unit (organization, department, semester, template, offering or section)."""

    id: int
    type: OrgUnitType
    name: str
    code: str
    parent_ids: tuple[int, ...]
    created: int
    start: int | None = None
    end: int | None = None
    is_active: bool = True

    @property
    def path(self) -> str:
        """The org unit's content path, as Brightspace shows it."""
        return f"/content/{self.code.lower()}/" if self.type is not ORGANIZATION else "/content/"


@dataclass(slots=True)
class User:
    """A user (`UserData`)."""

    id: int
    user_name: str
    org_defined_id: str | None
    first_name: str
    middle_name: str | None
    last_name: str
    email: str | None
    is_active: bool
    signup: int
    first_login: int | None
    last_accessed: int | None
    org_role: Role

    @property
    def display_name(self) -> str:
        """ "First Last"."""
        return f"{self.first_name} {self.last_name}"


@dataclass(slots=True)
class Enrollment:
    """One user's enrollment in one course offering."""

    org_unit_id: int
    user_id: int
    role: Role
    enrolled_at: int
    section_id: int | None
    last_accessed: int | None


@dataclass(slots=True)
class Course:
    """A course offering with its sections and enrollments."""

    index: int
    ou: OrgUnit
    template: OrgUnit
    semester: OrgUnit
    department: OrgUnit
    sections: list[OrgUnit]
    enrollments: dict[int, Enrollment]
    students: tuple[int, ...]
    instructors: tuple[int, ...]
    tas: tuple[int, ...]
    gradebook_: Gradebook | None = field(default=None, repr=False)
    attendance_: CourseAttendance | None = field(default=None, repr=False)

    @property
    def term_start(self) -> int:
        """First day of the semester (epoch seconds)."""
        assert self.semester.start is not None
        return self.semester.start

    @property
    def term_end(self) -> int:
        """Last instant of the semester (epoch seconds)."""
        assert self.semester.end is not None
        return self.semester.end

    def enrolled_user_ids(self) -> list[int]:
        """Every enrolled user, sorted by id."""
        return sorted(self.enrollments)

    def section_members(self, section_id: int) -> list[int]:
        """Students currently enrolled in a section, sorted by id."""
        return sorted(
            e.user_id for e in self.enrollments.values() if e.section_id == section_id and e.role is STUDENT
        )


class Institution:
    """The institution's data, one lock guarding every read and every change."""

    def __init__(self, size: str = "small", seed: int = 11) -> None:
        """Build the skeleton deterministically.

        Args:
            size: "small", "medium" or "large".
            seed: any integer; the same (size, seed) always gives the same institution.
        """
        if size not in SIZES:
            raise ValueError(f"unknown size {size!r}; choose one of {', '.join(SIZES)}")
        self.size = SIZES[size]
        self.seed = seed
        self.seed_key = f"brightspace:{size}:{seed}"
        self.lock = threading.RLock()
        self.now = SANDBOX_START
        self.advances = 0
        self.org_units: dict[int, OrgUnit] = {}
        self.children: dict[int, list[int]] = {}
        self.users: dict[int, User] = {}
        self.courses: dict[int, Course] = {}
        self.user_courses: dict[int, list[int]] = {}
        self.admin_id = 0
        _SkeletonBuilder(self).build(random.Random(f"{self.seed_key}:skeleton"))
        self.org_unit_ids = sorted(self.org_units)
        self.user_ids = sorted(self.users)
        self.course_ids = sorted(self.courses)

    # -- lazily built per-course parts ---------------------------------------------------------

    def gradebook(self, course: Course) -> Gradebook:
        """The course's grade book, built on first use."""
        if course.gradebook_ is not None:
            return course.gradebook_
        with self.lock:
            if course.gradebook_ is None:
                course.gradebook_ = build_gradebook(
                    course, random.Random(f"{self.seed_key}:grades:{course.ou.id}"), SANDBOX_START
                )
            return course.gradebook_

    def attendance(self, course: Course) -> CourseAttendance:
        """The course's attendance register, built on first use."""
        if course.attendance_ is not None:
            return course.attendance_
        with self.lock:
            if course.attendance_ is None:
                course.attendance_ = build_attendance(
                    course, random.Random(f"{self.seed_key}:attendance:{course.ou.id}"), SANDBOX_START
                )
            return course.attendance_

    def materialize(self) -> None:
        """Build every course's grade book and attendance (for counts over the whole institution)."""
        with self.lock:
            for ou in self.course_ids:
                course = self.courses[ou]
                self.gradebook(course)
                self.attendance(course)

    def frozen(self, courses: list[Course]) -> list[Course]:
        """Copies of courses (enrollments, grade book, attendance) that later changes leave alone."""
        with self.lock:
            return [
                replace(
                    course,
                    enrollments=dict(course.enrollments),
                    gradebook_=self.gradebook(course).snapshot(),
                    attendance_=self.attendance(course).snapshot(),
                )
                for course in courses
            ]

    # -- lookups -------------------------------------------------------------------------------

    def descendants(self, ou_id: int) -> list[int]:
        """Ids of every org unit below `ou_id` (each once), sorted."""
        seen: set[int] = set()
        stack = list(self.children.get(ou_id, ()))
        while stack:
            child = stack.pop()
            if child not in seen:
                seen.add(child)
                stack.extend(self.children.get(child, ()))
        return sorted(seen)

    def ancestors(self, ou_id: int) -> list[int]:
        """Ids of every org unit above `ou_id`, sorted."""
        seen: set[int] = set()
        stack = list(self.org_units[ou_id].parent_ids)
        while stack:
            parent = stack.pop()
            if parent not in seen:
                seen.add(parent)
                stack.extend(self.org_units[parent].parent_ids)
        return sorted(seen)

    def courses_under(self, ou_id: int) -> list[Course]:
        """Course offerings at or below `ou_id`, by id."""
        ids = [ou_id, *self.descendants(ou_id)] if ou_id in self.org_units else []
        return [self.courses[i] for i in sorted(ids) if i in self.courses]

    def current_courses(self) -> list[Course]:
        """Offerings whose semester is under way at the sandbox clock (the ones that change)."""
        return [
            c for c in (self.courses[i] for i in self.course_ids) if c.term_start <= self.now <= c.term_end
        ]

    def drop_enrollment(self, course: Course, user_id: int) -> None:
        """Remove a student's enrollment (grade values and final grade leave the API with it)."""
        with self.lock:
            del course.enrollments[user_id]
            self.user_courses[user_id].remove(course.ou.id)
            self.gradebook(course).unenroll(user_id)


class _SkeletonBuilder:
    """Builds an institution's skeleton: org structure, users, course offerings, sections, enrollments."""

    def __init__(self, inst: Institution) -> None:
        self.inst = inst

    def _add_org_unit(self, unit: OrgUnit) -> OrgUnit:
        self.inst.org_units[unit.id] = unit
        for parent in unit.parent_ids:
            self.inst.children.setdefault(parent, []).append(unit.id)
        return unit

    def build(self, rng: random.Random) -> None:
        """Org units, users, offerings and enrollments, drawn from `rng` in a fixed order."""
        spec = self.inst.size
        next_ou = iter(range(ROOT_ORG_UNIT_ID + 1, 10**9))
        created = epoch(2019, 7, 1, 9)
        root = self._add_org_unit(
            OrgUnit(ROOT_ORG_UNIT_ID, ORGANIZATION, ORGANIZATION_NAME, "SSU", (), created)
        )
        subjects = rng.sample(SUBJECTS, spec.departments)
        departments = [
            self._add_org_unit(
                OrgUnit(next(next_ou), DEPARTMENT, name, code, (root.id,), created + (i + 1) * DAY)
            )
            for i, (name, code) in enumerate(subjects)
        ]
        terms = [
            ("Fall 2024", "F24", epoch(2024, 8, 26, 13), epoch(2024, 12, 20, 23, 59, 59)),
            ("Spring 2025", "S25", epoch(2025, 1, 13, 13), epoch(2025, 5, 9, 23, 59, 59)),
        ]
        semesters = [
            self._add_org_unit(
                OrgUnit(next(next_ou), SEMESTER, name, code, (root.id,), start - 120 * DAY, start, end)
            )
            for name, code, start, end in terms
        ]

        template_count = math.ceil(spec.offerings / len(semesters))
        templates: list[OrgUnit] = []
        per_department = [0] * len(departments)
        for t in range(template_count):
            d = t % len(departments)
            dept = departments[d]
            k = per_department[d]
            per_department[d] += 1
            number = COURSE_NUMBERS[k % len(COURSE_NUMBERS)] + 5 * (k // len(COURSE_NUMBERS))
            title = rng.choice(COURSE_TITLES).format(dept.name)
            templates.append(
                self._add_org_unit(
                    OrgUnit(
                        next(next_ou),
                        COURSE_TEMPLATE,
                        f"{dept.code} {number} - {title}",
                        f"{dept.code}{number}",
                        (dept.id,),
                        epoch(2020, 1, 6, 9) + t * 3600,
                    )
                )
            )

        self._build_users(rng)
        staff_by_department = self._staff_pools(len(departments))
        students = [u.id for u in self.inst.users.values() if u.org_role is STUDENT]
        for uid in self.inst.users:
            self.inst.user_courses[uid] = []

        index = 0
        for template_index, template in enumerate(templates):
            d = template_index % len(departments)
            for semester in semesters:
                if index >= spec.offerings:
                    break
                self._build_offering(
                    rng, index, template, semester, departments[d], staff_by_department[d], students, next_ou
                )
                index += 1

    def _build_users(self, rng: random.Random) -> None:
        spec = self.inst.size
        next_id = iter(range(100, 10**9))
        self.inst.admin_id = next(next_id)
        self.inst.users[self.inst.admin_id] = User(
            self.inst.admin_id,
            "sandbox.api",
            None,
            "Sandbox",
            None,
            "Integration",
            f"sandbox.api@{EMAIL_DOMAIN}",
            True,
            epoch(2019, 7, 1, 9),
            epoch(2019, 7, 1, 10),
            SANDBOX_START - 3600,
            ADMINISTRATOR,
        )
        people = (
            [(INSTRUCTOR, "E", 400_000 + i) for i in range(spec.instructors)]
            + [(TA, "G", 700_000 + i) for i in range(spec.tas)]
            + [(STUDENT, "S", 2_000_000 + i * 7) for i in range(spec.students)]
        )
        for role, prefix, number in people:
            uid = next(next_id)
            first = rng.choice(FIRST_NAMES)
            last = rng.choice(LAST_NAMES)
            middle = rng.choice(MIDDLE_INITIALS) if rng.random() < 0.3 else None
            user_name = f"{first[0]}{last}{uid}".lower()
            org_defined_id = f"{prefix}{number:07d}" if rng.random() >= 0.03 else None
            if role is STUDENT:
                signup = epoch(2020, 8, 1) + rng.randint(0, 4 * 365) * DAY + rng.randint(0, DAY - 1)
            else:
                signup = epoch(2019, 7, 2) + rng.randint(0, 5 * 365) * DAY + rng.randint(0, DAY - 1)
            signup = min(signup, epoch(2024, 8, 20))
            never = rng.random() < 0.04
            first_login = None if never else signup + rng.randint(3600, 20 * DAY)
            last_accessed = None if never else SANDBOX_START - rng.randint(600, 40 * DAY)
            email = f"{user_name}@{EMAIL_DOMAIN}" if rng.random() >= 0.02 else None
            self.inst.users[uid] = User(
                uid,
                user_name,
                org_defined_id,
                first,
                middle,
                last,
                email,
                rng.random() >= 0.03,
                signup,
                first_login,
                last_accessed,
                role,
            )

    def _staff_pools(self, departments: int) -> list[tuple[list[int], list[int]]]:
        pools: list[tuple[list[int], list[int]]] = [([], []) for _ in range(departments)]
        instructors = [u.id for u in self.inst.users.values() if u.org_role is INSTRUCTOR]
        tas = [u.id for u in self.inst.users.values() if u.org_role is TA]
        for i, uid in enumerate(instructors):
            pools[i % departments][0].append(uid)
        for i, uid in enumerate(tas):
            pools[i % departments][1].append(uid)
        return pools

    def _build_offering(
        self,
        rng: random.Random,
        index: int,
        template: OrgUnit,
        semester: OrgUnit,
        department: OrgUnit,
        staff: tuple[list[int], list[int]],
        students: list[int],
        next_ou: Iterator[int],
    ) -> None:
        assert semester.start is not None and semester.end is not None
        created = semester.start - rng.randint(40, 80) * DAY
        is_active = rng.random() >= 0.1 or semester.end >= SANDBOX_START
        ou = self._add_org_unit(
            OrgUnit(
                next(next_ou),
                COURSE_OFFERING,
                f"{template.name} ({semester.name})",
                f"{template.code}_{semester.code}",
                (template.id, semester.id),
                created,
                semester.start,
                semester.end,
                is_active,
            )
        )
        sections = [
            self._add_org_unit(
                OrgUnit(
                    next(next_ou),
                    SECTION,
                    f"Section {s + 1:03d}",
                    f"{ou.code}_{s + 1:03d}",
                    (ou.id,),
                    created + 60,
                )
            )
            for s in range(2 if rng.random() < 0.35 else 1)
        ]
        mean = self.inst.size.class_size
        size = min(len(students), rng.randint(round(mean * 0.6), round(mean * 1.4)))
        roster = sorted(rng.sample(students, size))
        instructors_pool, tas_pool = staff
        instructors = sorted(rng.sample(instructors_pool, 2 if rng.random() < 0.15 else 1))
        tas = sorted(rng.sample(tas_pool, min(len(tas_pool), rng.randint(0, 2))))
        enrollments: dict[int, Enrollment] = {}
        for uid in instructors + tas:
            role = INSTRUCTOR if uid in instructors else TA
            enrollments[uid] = Enrollment(
                ou.id,
                uid,
                role,
                created + DAY + rng.randint(0, 3600),
                None,
                semester.end if semester.end < SANDBOX_START else SANDBOX_START - rng.randint(600, 3 * DAY),
            )
        for uid in roster:
            section = sections[rng.randrange(len(sections))]
            enrolled_at = semester.start - rng.randint(1, 35) * DAY - rng.randint(0, DAY - 1)
            user = self.inst.users[uid]
            last_accessed = None
            if user.last_accessed is not None and rng.random() >= 0.05:
                last_accessed = min(user.last_accessed, semester.end - rng.randint(0, 5 * DAY))
                last_accessed = max(last_accessed, enrolled_at + 3600)
            enrollments[uid] = Enrollment(ou.id, uid, STUDENT, enrolled_at, section.id, last_accessed)
        for uid in enrollments:
            insort(self.inst.user_courses[uid], ou.id)
        self.inst.courses[ou.id] = Course(
            index,
            ou,
            template,
            semester,
            department,
            sections,
            enrollments,
            tuple(roster),
            tuple(instructors),
            tuple(tas),
        )
