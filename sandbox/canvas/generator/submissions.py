"""Submissions and their grades: on time, late, missing, excused, quizzes and Roll Call."""

from __future__ import annotations

import math

from ..catalog import SUBMISSION_TYPE_FOR
from ..institution import expects_submission
from ..model import Assignment, Course, Enrollment, Submission
from ..timestamps import DAY, HOUR
from .people import PeopleGenerator
from .seeded import GeneratorPart, Seeded


class SubmissionGenerator(GeneratorPart):
    """One submission per student and published assignment, as far as the clock has come."""

    def __init__(self, seeded: Seeded, people: PeopleGenerator) -> None:
        super().__init__(seeded)
        self.people = people

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
        ability = self.people.abilities.get(uid, 0.8)
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
