"""Courses with their sections and enrollments; each course's gradebook is built as it is made."""

from __future__ import annotations

from collections import defaultdict

from ..institution import FALL_WINDOW
from ..model import Course, Enrollment, Section, User
from ..timestamps import DAY, HOUR
from .gradebook import GradebookGenerator
from .people import PeopleGenerator
from .seeded import GeneratorPart, Seeded


class CourseGenerator(GeneratorPart):
    """Courses in the leaf accounts, their sections, and staff, student and observer enrollments."""

    def __init__(self, seeded: Seeded, people: PeopleGenerator, gradebook: GradebookGenerator) -> None:
        super().__init__(seeded)
        self.people = people
        self.gradebook = gradebook

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
                self.people.leaves[c_idx % len(self.people.leaves)]
                if c_idx < len(self.people.leaves)
                else rng.choice(self.people.leaves)
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
            self.gradebook.build_gradebook(course, window, teacher_ids, force)

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
            teacher = rng.choice(self.people.teachers)
            if teacher.id in teacher_ids:
                continue
            teacher_ids.append(teacher.id)
            self._enroll(course, first, teacher, "TeacherEnrollment", staff_state, window)
        if rng.random() < 0.35:
            self._enroll(course, first, rng.choice(self.people.tas), "TaEnrollment", staff_state, window)
        if rng.random() < 0.1:
            self._enroll(
                course, first, rng.choice(self.people.designers), "DesignerEnrollment", "active", window
            )
        students = self.people.pick_students(rng.randint(*self.spec.class_size))
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
                observer = rng.choice(self.people.observers)
                obs_state = "completed" if course.workflow_state == "completed" else "active"
                self._enroll(
                    course, section, observer, "ObserverEnrollment", obs_state, window, associated=student.id
                )
        return teacher_ids
