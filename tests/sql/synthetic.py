"""Small synthetic gradebooks loaded with dlt, with the course scores the reference calculators give.

The LMS-reported scores written into the tables are computed by the sandboxes' ports of each LMS's
calculation (sandbox/canvas/grades.py follows lib/grade_calculator.rb; sandbox/brightspace/grades.py
follows docs/grade-calculation.md Part B), so `course_grade_agreement` checks the SQL against them on
cases the generated institutions rarely hold: drop_highest, never_drop, ties, zero-point rows,
excused and hidden work, weights off 100, bonus items, caps.
"""

from __future__ import annotations

import dataclasses
import random
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import dlt

from sandbox.brightspace.grades import CategorySpec, GradeBook, ItemSpec, Score
from sandbox.canvas.grades import AssignmentFacts, CourseCalculator, GroupFacts, WorkFacts
from sources.brightspace.settings import COLUMNS as BRIGHTSPACE_COLUMNS
from sources.canvas.settings import COLUMNS as CANVAS_COLUMNS

POSTED_AT = "2026-10-01T12:00:00Z"


@dataclass
class CanvasCourse:
    """One synthetic Canvas course: groups, assignments, and per student their submissions."""

    course_id: int
    weighted: bool
    groups: list[GroupFacts]
    assignments: list[AssignmentFacts]
    # student id -> (enrollment state, {assignment id: WorkFacts})
    students: dict[int, tuple[str, dict[int, WorkFacts]]] = field(default_factory=dict)


def canvas_rows(courses: list[CanvasCourse]) -> dict[str, list[dict[str, Any]]]:
    """Canvas tables for `courses`, enrollments carrying the scores the calculator gives."""
    tables: dict[str, list[dict[str, Any]]] = {
        k: [] for k in ("courses", "users", "enrollments", "assignment_groups", "assignments", "submissions")
    }
    users: set[int] = set()
    for c in courses:
        tables["courses"].append(
            {
                "id": c.course_id,
                "name": f"Course {c.course_id}",
                "sis_course_id": f"SIS-{c.course_id}",
                "workflow_state": "available",
                "apply_assignment_group_weights": c.weighted,
            }
        )
        for g in c.groups:
            tables["assignment_groups"].append(
                {
                    "id": g.id,
                    "course_id": c.course_id,
                    "name": f"Group {g.id}",
                    "group_weight": g.weight,
                    "drop_lowest": g.drop_lowest,
                    "drop_highest": g.drop_highest,
                    "never_drop": sorted(g.never_drop),
                }
            )
        for a in c.assignments:
            tables["assignments"].append(
                {
                    "id": a.id,
                    "course_id": c.course_id,
                    "assignment_group_id": a.group_id,
                    "name": f"Assignment {a.id}",
                    "points_possible": a.points_possible,
                    "published": True,
                    "omit_from_final_grade": a.omit_from_final_grade,
                    "submission_types": ["online_upload"],
                }
            )
        calculator = CourseCalculator(c.groups, c.assignments, weighted=c.weighted)
        for student_id, (state, work) in sorted(c.students.items()):
            users.add(student_id)
            scores = calculator.scores(work, concluded=state == "completed")
            tables["enrollments"].append(
                {
                    "id": c.course_id * 1000 + student_id,
                    "course_id": c.course_id,
                    "user_id": student_id,
                    "type": "StudentEnrollment",
                    "enrollment_state": state,
                    "sis_user_id": f"S{student_id}",
                    "grades__current_score": scores.current_score,
                    "grades__final_score": scores.final_score,
                    "grades__unposted_current_score": scores.unposted_current_score,
                    "grades__unposted_final_score": scores.unposted_final_score,
                }
            )
            for a in c.assignments:
                w = work[a.id]
                tables["submissions"].append(
                    {
                        "course_id": c.course_id,
                        "assignment_id": a.id,
                        "user_id": student_id,
                        "score": w.score,
                        "excused": w.excused,
                        "workflow_state": (
                            "pending_review"
                            if w.pending_review
                            else "graded"
                            if w.score is not None
                            else "unsubmitted"
                        ),
                        "posted_at": POSTED_AT if w.posted else None,
                    }
                )
    tables["users"] = [{"id": u, "name": f"Student {u}", "sis_user_id": f"S{u}"} for u in sorted(users)]
    return tables


def random_canvas_courses(rng: random.Random, count: int, students: int = 6) -> list[CanvasCourse]:
    """Random courses that exercise every rule of docs/grade-calculation.md A.2-A.5."""
    courses = []
    ids = iter(range(1, 10**6))
    for n in range(count):
        course_id = 900 + n
        groups: list[GroupFacts] = []
        assignments: list[AssignmentFacts] = []
        for _ in range(rng.randint(1, 4)):
            group_id = 10_000 + next(ids)
            members = []
            for _ in range(rng.randint(1, 6)):
                points = rng.choice((0.0, 1.0, 5.0, 10.0, 10.0, 20.0, 100.0, None))
                a = AssignmentFacts(10_000 + next(ids), group_id, points, rng.random() < 0.06)
                members.append(a)
            assignments.extend(members)
            never = frozenset(a.id for a in members if rng.random() < 0.15)
            groups.append(
                GroupFacts(
                    group_id,
                    rng.choice((0.0, 10.0, 25.0, 30.0, 40.0, 60.0, None)),
                    rng.choice((0, 0, 1, 1, 2, 3)),
                    rng.choice((0, 0, 0, 1, 2)),
                    never,
                )
            )
        course = CanvasCourse(course_id, rng.random() < 0.6, groups, assignments)
        for s in range(students):
            work: dict[int, WorkFacts] = {}
            for a in assignments:
                possible = a.points_possible or 0.0
                r = rng.random()
                if r < 0.2:
                    score = None
                elif r < 0.3:
                    score = float(rng.choice((0, 1, 2)))  # small scores: ties
                else:
                    score = round(rng.uniform(0, 1.1) * max(possible, 2.0) * 2) / 2
                work[a.id] = WorkFacts(
                    score,
                    posted=rng.random() > 0.1,
                    excused=rng.random() < 0.05,
                    pending_review=score is not None and rng.random() < 0.05,
                )
            state = rng.choice(("active", "active", "active", "completed", "invited"))
            course.students[100 + s] = (state, work)
        courses.append(course)
    return courses


def _a9_course(course_id: int, weighted: bool, offset: int) -> CanvasCourse:
    groups = [
        GroupFacts(offset + 1, 30.0, 1, 0),
        GroupFacts(offset + 2, 50.0),
        GroupFacts(offset + 3, 20.0),
    ]
    points = {11: 10.0, 12: 10.0, 13: 10.0, 14: 10.0, 21: 50.0, 22: 100.0, 31: 20.0}
    assignments = [AssignmentFacts(offset + a, offset + a // 10, p) for a, p in points.items()]
    work = {
        11: WorkFacts(8.0),
        12: WorkFacts(5.0),
        13: WorkFacts(None),
        14: WorkFacts(None, excused=True),
        21: WorkFacts(45.0),
        22: WorkFacts(None),
        31: WorkFacts(None),
    }
    return CanvasCourse(
        course_id, weighted, groups, assignments, {1: ("active", {offset + a: w for a, w in work.items()})}
    )


def worked_example_courses() -> list[CanvasCourse]:
    """docs/grade-calculation.md A.9 (weighted: 86.25 / 34.50; points: 88.33 / 30.53) and the A.4
    Kane & Kane example (drop_lowest 1 keeps A 9/10 and C 0/1, drops B 80/100)."""
    kane_groups = [GroupFacts(400, 100.0, 1, 0)]
    kane_assignments = [
        AssignmentFacts(441, 400, 10.0),
        AssignmentFacts(442, 400, 100.0),
        AssignmentFacts(443, 400, 1.0),
    ]
    kane_work = {441: WorkFacts(9.0), 442: WorkFacts(80.0), 443: WorkFacts(0.0)}
    return [
        _a9_course(801, True, 100),
        _a9_course(802, False, 200),
        CanvasCourse(803, False, kane_groups, kane_assignments, {1: ("active", kane_work)}),
    ]


# Brightspace ------------------------------------------------------------------------------------

DISTRIBUTION_CODES = {"manual": 0, "even": 1, "points": 2}


@dataclass
class BrightspaceCourse:
    """One synthetic Brightspace course: a grade book and per student their values."""

    org_unit_id: int
    book: GradeBook
    # student id -> {item id: Score}
    students: dict[int, dict[int, Score]] = field(default_factory=dict)


def brightspace_rows(courses: list[BrightspaceCourse]) -> dict[str, list[dict[str, Any]]]:
    """Brightspace tables for `courses`, final grades carrying the calculated grade."""
    tables: dict[str, list[dict[str, Any]]] = {
        k: []
        for k in (
            "courses",
            "users",
            "enrollments",
            "grade_setup",
            "grade_categories",
            "grade_objects",
            "grade_values",
            "grade_results",
            "final_grades",
        )
    }
    users: set[int] = set()
    for c in courses:
        ou, book = c.org_unit_id, c.book
        tables["courses"].append({"org_unit_id": ou, "name": f"Course {ou}", "code": f"C{ou}"})
        tables["grade_setup"].append(
            {
                "org_unit_id": ou,
                "grading_system": book.grading_system,
                "is_null_grade_zero": book.null_is_zero,
            }
        )
        for cat in book.categories.values():
            tables["grade_categories"].append(
                {
                    "org_unit_id": ou,
                    "category_id": cat.category_id,
                    "name": f"Category {cat.category_id}",
                    "weight": float(cat.weight),
                    "weight_distribution_type": DISTRIBUTION_CODES[cat.distribution],
                    "number_of_lowest_to_drop": cat.drop_lowest,
                    "number_of_highest_to_drop": cat.drop_highest,
                    "can_exceed_max": cat.can_exceed,
                    "exclude_from_final_grade": cat.excluded,
                }
            )
        for item in book.items:
            tables["grade_objects"].append(
                {
                    "org_unit_id": ou,
                    "grade_object_id": item.item_id,
                    "name": f"Item {item.item_id}",
                    "grade_type": "Numeric",
                    "category_id": item.category_id,
                    "max_points": float(item.max_points),
                    "weight": float(item.weight),
                    "is_bonus": item.is_bonus,
                    "exclude_from_final_grade_calculation": item.excluded,
                    "can_exceed_max_points": item.can_exceed,
                }
            )
        for student_id, scores in sorted(c.students.items()):
            users.add(student_id)
            tables["enrollments"].append(
                {
                    "org_unit_id": ou,
                    "user_id": student_id,
                    "org_defined_id": f"S{student_id}",
                    "role_name": "Student",
                }
            )
            for item_id, score in scores.items():
                points = None if score.points is None else float(score.points)
                tables["grade_values"].append(
                    {
                        "org_unit_id": ou,
                        "grade_object_id": item_id,
                        "user_id": student_id,
                        "points_numerator": points,
                    }
                )
                tables["grade_results"].append(
                    {
                        "org_unit_id": ou,
                        "grade_object_id": item_id,
                        "user_id": student_id,
                        "is_exempt": score.exempt,
                    }
                )
            final = book.final_grade(scores)
            tables["final_grades"].append(
                {
                    "org_unit_id": ou,
                    "user_id": student_id,
                    "has_grade": final.percent is not None,
                    "points_numerator": final.percent,
                    "points_denominator": 100.0 if final.percent is not None else None,
                    "displayed_grade": final.display,
                }
            )
    tables["users"] = [{"user_id": u, "org_defined_id": f"S{u}"} for u in sorted(users)]
    return tables


def random_brightspace_courses(rng: random.Random, count: int, students: int = 6) -> list[BrightspaceCourse]:
    """Random Points and Weighted books with drops (lowest and highest), bonus, exempt and caps."""
    courses = []
    ids = iter(range(1, 10**6))
    for n in range(count):
        weighted = rng.random() < 0.5
        categories: list[CategorySpec] = []
        items: list[ItemSpec] = []
        for _ in range(rng.randint(1, 3)):
            distribution = rng.choice(("manual", "even", "points"))
            drops = distribution == "even"
            category = CategorySpec(
                50_000 + next(ids),
                Fraction(rng.choice((0, 20, 30, 50))) if weighted else Fraction(0),
                distribution,
                rng.choice((0, 1, 2)) if drops else 0,
                rng.choice((0, 0, 1)) if drops else 0,
                rng.random() < 0.2,
                rng.random() < 0.1,
            )
            categories.append(category)
            for _ in range(rng.randint(1, 5)):
                items.append(
                    ItemSpec(
                        50_000 + next(ids),
                        Fraction(rng.choice((5, 10, 20))),
                        category.category_id,
                        Fraction(rng.choice((10, 20, 30))),
                        is_bonus=rng.random() < 0.1,
                        excluded=rng.random() < 0.05,
                        can_exceed=rng.random() < 0.2,
                    )
                )
        for _ in range(rng.randint(0, 3)):
            items.append(
                ItemSpec(
                    50_000 + next(ids),
                    Fraction(rng.choice((50, 100))),
                    None,
                    Fraction(rng.choice((0, 10, 20))) if weighted else Fraction(0),
                    is_bonus=rng.random() < 0.15,
                    can_exceed=rng.random() < 0.2,
                )
            )
        # grade book order follows the ids (the SQL breaks drop ties by id; sort_order is not loaded)
        items = [dataclasses.replace(i, sort_order=i.item_id) for i in items]
        book = GradeBook("Weighted" if weighted else "Points", rng.random() < 0.5, categories, items)
        course = BrightspaceCourse(7000 + n, book)
        for s in range(students):
            scores: dict[int, Score] = {}
            for item in items:
                r = rng.random()
                if r < 0.15:
                    continue  # no value entered
                if r < 0.22:
                    scores[item.item_id] = Score(None, exempt=True)
                elif r < 0.28:
                    scores[item.item_id] = Score(None)  # a value record without points
                elif r < 0.35:
                    scores[item.item_id] = Score(float(rng.choice((0, 5))))  # ties
                else:
                    scores[item.item_id] = Score(round(rng.uniform(0, 1.15) * float(item.max_points) * 2) / 2)
            course.students[300 + s] = scores
        courses.append(course)
    return courses


def load_tables(
    pipeline: dlt.Pipeline, tables: dict[str, list[dict[str, Any]]], hints: dict[str, Any]
) -> None:
    """Load `tables` in one run, with the source's column hints (replacing earlier rows)."""
    resources = []
    for name, rows in tables.items():
        if not rows:
            continue
        columns = {k: v for k, v in hints.get(name, {}).items() if not v.get("hard_delete")}
        if name == "assignment_groups":
            columns["never_drop"] = {"data_type": "json", "nullable": True}
        resources.append(dlt.resource(rows, name=name, write_disposition="replace", columns=columns))
    info = pipeline.run(resources)
    assert not info.has_failed_jobs


def load_canvas_courses(pipeline: dlt.Pipeline, courses: list[CanvasCourse]) -> None:
    """Load synthetic Canvas courses into the pipeline's dataset."""
    load_tables(pipeline, canvas_rows(courses), CANVAS_COLUMNS)


def load_brightspace_courses(pipeline: dlt.Pipeline, courses: list[BrightspaceCourse]) -> None:
    """Load synthetic Brightspace courses into the pipeline's dataset."""
    load_tables(pipeline, brightspace_rows(courses), BRIGHTSPACE_COLUMNS)


def b7_courses() -> list[BrightspaceCourse]:
    """docs/grade-calculation.md B.7: weighted 88.125 (shown 88.12) / 41.00; points 88.57 / 29.57."""
    courses = []
    for n, (system, null_is_zero) in enumerate(
        (("Weighted", False), ("Weighted", True), ("Points", False), ("Points", True))
    ):
        base = 60_000 + 100 * n
        weighted = system == "Weighted"
        quizzes = CategorySpec(base + 1, Fraction(30 if weighted else 0), "even", drop_lowest=1)
        assignments = CategorySpec(base + 2, Fraction(50 if weighted else 0), "manual")
        items = [
            *(
                ItemSpec(base + 10 + q, Fraction(10), quizzes.category_id, sort_order=base + 10 + q)
                for q in range(1, 5)
            ),
            ItemSpec(base + 21, Fraction(50), assignments.category_id, Fraction(40), sort_order=base + 21),
            ItemSpec(base + 22, Fraction(50), assignments.category_id, Fraction(60), sort_order=base + 22),
            ItemSpec(base + 31, Fraction(100), None, Fraction(20 if weighted else 0), sort_order=base + 31),
        ]
        book = GradeBook(system, null_is_zero, [quizzes, assignments], items)
        scores = {base + 11: Score(8.0), base + 12: Score(6.0), base + 13: Score(9.0), base + 21: Score(45.0)}
        courses.append(BrightspaceCourse(6900 + n, book, {1: scores}))
    return courses
