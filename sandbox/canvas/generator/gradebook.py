"""A course's assignment groups (weights, drop rules) and assignments, then their submissions."""

from __future__ import annotations

from ..catalog import GROUP_KINDS, GroupKind
from ..model import Assignment, AssignmentGroup, Course
from ..timestamps import DAY, HOUR
from .seeded import GeneratorPart, Seeded
from .submissions import SubmissionGenerator

# Course due times are 23:59 America/Chicago (CDT, UTC-5) -> 04:59 UTC the next day.
DUE_OFFSET = 4 * HOUR + 59 * 60


class GradebookGenerator(GeneratorPart):
    """Assignment groups and assignments, including Roll Call and extra-credit items."""

    def __init__(self, seeded: Seeded, submissions: SubmissionGenerator) -> None:
        super().__init__(seeded)
        self.submissions = submissions

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
        self.submissions.build_submissions(course, window, teacher_ids, roll_call)

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
        due = None if rng.random() < 0.04 else due_day - due_day % DAY + DUE_OFFSET
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
            due = due - due % DAY + DUE_OFFSET
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
