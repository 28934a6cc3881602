"""One course's grade book: setup, categories, items, compact per-student values and final grades."""

from __future__ import annotations

import copy
import random
from array import array
from dataclasses import dataclass
from fractions import Fraction
from typing import TYPE_CHECKING

from .grades import (
    BY_POINTS,
    EVEN,
    MANUAL,
    POINTS,
    WEIGHTED,
    CategorySpec,
    FinalGrade,
    GradeBook,
    ItemSpec,
    Score,
)
from .names import COMMENTS

if TYPE_CHECKING:
    from .institution import Course

DAY = 86_400
GRADE_OBJECT_BASE = 100_000
GRADE_OBJECTS_PER_COURSE = 100
DEFAULT_SCHEME_ID = 1

NUMERIC = 1
PASS_FAIL = 2
FINAL_CALCULATED = 7
CATEGORY = 9
TYPE_NAMES = {
    NUMERIC: "Numeric",
    PASS_FAIL: "PassFail",
    FINAL_CALCULATED: "Final Calculated",
    CATEGORY: "Category",
}

# Value states, one byte per (item, student).
NO_VALUE = 0  # nothing entered: not served by the bulk route, not in Grade Results
GRADED = 1
EXEMPT = 2
BLANK = 3  # a value record without points (comment only, or a cleared grade)


@dataclass(slots=True)
class GradeCategory:
    """A grade category (`Grade.GradeObjectCategory`)."""

    id: int
    name: str
    short_name: str
    weight: float
    max_points: float
    distribution: str
    drop_lowest: int
    drop_highest: int
    can_exceed: bool
    excluded: bool
    sort_order: int
    created: int


@dataclass(slots=True)
class GradeItem:
    """A Numeric or PassFail grade item (`Grade.GradeObject`)."""

    id: int
    name: str
    short_name: str
    type_id: int
    category_id: int | None
    max_points: float
    weight: float
    served_weight: float
    is_bonus: bool
    excluded: bool
    can_exceed: bool
    sort_order: int
    due: int
    created: int
    tool: str | None

    @property
    def type_name(self) -> str:
        """ "Numeric" or "PassFail"."""
        return TYPE_NAMES[self.type_id]


class Gradebook:
    """A course's grade book with values held as arrays aligned with its student axis."""

    def __init__(
        self,
        ou: int,
        grading_system: str,
        null_is_zero: bool,
        categories: list[GradeCategory],
        items: list[GradeItem],
        students: tuple[int, ...],
        graders: tuple[int, ...],
        created: int,
        final_object_id: int,
    ) -> None:
        """Create an empty book; values are filled by `build_gradebook` and `set_value`."""
        self.ou = ou
        self.grading_system = grading_system
        self.null_is_zero = null_is_zero
        self.scheme_id = DEFAULT_SCHEME_ID
        self.categories = categories
        self.items = items
        self.item_ids = [i.id for i in items]
        self.item_pos = {i.id: k for k, i in enumerate(items)}
        self.students = students
        self.student_pos = {uid: k for k, uid in enumerate(students)}
        self.graders = graders
        self.created = created
        self.final_object_id = final_object_id
        n = len(students)
        self.enrolled = bytearray(b"\x01" * n)
        self.state = [bytearray(n) for _ in items]
        self.points = [array("d", bytes(8 * n)) for _ in items]
        self.modified = [array("q", bytes(8 * n)) for _ in items]
        self.book = GradeBook(
            grading_system,
            null_is_zero,
            [
                CategorySpec(
                    c.id,
                    Fraction(c.weight),
                    c.distribution,
                    c.drop_lowest,
                    c.drop_highest,
                    c.can_exceed,
                    c.excluded,
                )
                for c in categories
            ],
            [
                ItemSpec(
                    i.id,
                    Fraction(i.max_points),
                    i.category_id,
                    Fraction(i.weight),
                    i.sort_order,
                    i.is_bonus,
                    i.excluded,
                    i.can_exceed,
                )
                for i in items
            ],
        )
        shares = [self.book.weighted_share(i.id) for i in items]
        self.shares: list[float | None] = [float(s) if s is not None else None for s in shares]
        self._finals: list[FinalGrade | None] = [None] * n
        self.final_modified = array("q", bytes(8 * n))

    # -- values ----------------------------------------------------------------------------

    def has_value(self, k: int, s: int) -> bool:
        """Whether (item k, student s) has a value record a client can see."""
        return self.state[k][s] != NO_VALUE and self.enrolled[s] == 1

    def value_count(self) -> int:
        """Value records served for enrolled students."""
        enrolled = [s for s in range(len(self.students)) if self.enrolled[s]]
        return sum(1 for states in self.state for s in enrolled if states[s] != NO_VALUE)

    def points_of(self, k: int, s: int) -> float | None:
        """PointsNumerator of a value (None unless graded)."""
        return self.points[k][s] if self.state[k][s] == GRADED else None

    def grader(self, k: int, s: int) -> int:
        """LastModifiedBy of a value (derived, so it needs no storage)."""
        return self.graders[(k + s) % len(self.graders)]

    def comment(self, k: int, s: int) -> str:
        """Comments text of a value (derived from its key)."""
        state = self.state[k][s]
        if state == BLANK:
            return "Resubmission requested."
        if state == EXEMPT:
            return "Exempted: documented absence."
        key = self.items[k].id * 7 + self.students[s]
        return COMMENTS[key % len(COMMENTS)] if key % 4 == 0 else ""

    def is_released(self, k: int, s: int) -> bool:
        """Whether a graded value has been released to the student."""
        return self.state[k][s] == GRADED and (self.items[k].id + 3 * self.students[s]) % 10 != 0

    def set_value(self, k: int, s: int, points: float, when: int) -> None:
        """Enter or change a grade (LastModified moves to `when`) and forget the cached final grade."""
        self.state[k][s] = GRADED
        self.points[k][s] = points
        self.modified[k][s] = when
        self._finals[s] = None

    def snapshot(self) -> Gradebook:
        """A copy whose values no later change touches (for building extracts without the lock)."""
        frozen = copy.copy(self)
        frozen.enrolled = bytearray(self.enrolled)
        frozen.state = [bytearray(a) for a in self.state]
        frozen.points = [array("d", a) for a in self.points]
        frozen.modified = [array("q", a) for a in self.modified]
        frozen._finals = list(self._finals)
        frozen.final_modified = array("q", self.final_modified)
        return frozen

    def unenroll(self, user_id: int) -> None:
        """Hide a dropped student's values and final grade."""
        s = self.student_pos.get(user_id)
        if s is not None:
            self.enrolled[s] = 0

    # -- final grades ----------------------------------------------------------------------

    def scores(self, s: int) -> dict[int, Score]:
        """One student's scores for the calculation."""
        out: dict[int, Score] = {}
        for k, item in enumerate(self.items):
            state = self.state[k][s]
            if state == GRADED:
                out[item.id] = Score(self.points[k][s])
            elif state == EXEMPT:
                out[item.id] = Score(None, exempt=True)
            elif state == BLANK:
                out[item.id] = Score(None)
        return out

    def final(self, s: int) -> FinalGrade:
        """One student's Final Calculated Grade (cached until a value changes)."""
        cached = self._finals[s]
        if cached is None:
            cached = self._finals[s] = self.book.final_grade(self.scores(s))
        return cached

    def refresh_final(self, s: int, previous: FinalGrade, when: int) -> bool:
        """Recompute after changes; move the final grade's LastModified if its numbers changed."""
        current = self.final(s)
        changed = (current.percent, current.points_numerator, current.points_denominator) != (
            previous.percent,
            previous.points_numerator,
            previous.points_denominator,
        )
        if changed:
            self.final_modified[s] = when
        return changed


def build_gradebook(course: Course, rng: random.Random, now: int) -> Gradebook:
    """Generate a course's grade book and every value, deterministically from `rng`.

    Args:
        course: the offering (its term, students and staff).
        rng: the course's own generator.
        now: the sandbox clock at build time; nothing is dated later.

    Returns:
        The filled grade book.
    """
    ids = iter(range(GRADE_OBJECT_BASE + course.index * GRADE_OBJECTS_PER_COURSE, 10**9))
    weighted = rng.random() < 0.6
    null_is_zero = rng.random() < 0.3
    system = WEIGHTED if weighted else POINTS
    start, end = course.term_start, course.term_end
    created = course.ou.created + DAY
    sort_order = iter(range(1, 1000))

    def due(fraction: float) -> int:
        day = start + int(fraction * (end - start)) // DAY * DAY
        return day - day % DAY + 23 * 3600 + 59 * 60

    categories: list[GradeCategory] = []
    items: list[GradeItem] = []

    def category(name: str, short: str, weight: float, distribution: str, drop: int = 0) -> GradeCategory:
        cat = GradeCategory(
            next(ids),
            name,
            short,
            weight if weighted else 0.0,
            0.0,
            distribution,
            drop,
            0,
            rng.random() < 0.1,
            False,
            next(sort_order),
            created,
        )
        categories.append(cat)
        return cat

    def item(
        name: str,
        short: str,
        max_points: float,
        at: float,
        cat: GradeCategory | None = None,
        weight: float = 0.0,
        type_id: int = NUMERIC,
        bonus: bool = False,
        excluded: bool = False,
        can_exceed: bool = False,
        tool: str | None = None,
    ) -> GradeItem:
        obj = GradeItem(
            next(ids),
            name,
            short,
            type_id,
            cat.id if cat else None,
            max_points,
            weight,
            0.0,
            bonus,
            excluded,
            can_exceed or bonus,
            next(sort_order),
            due(at),
            created,
            tool,
        )
        items.append(obj)
        return obj

    w_quiz = rng.choice((15, 20, 25))
    w_assign = rng.choice((25, 30, 35))
    has_participation = rng.random() < 0.7
    w_part = rng.choice((5, 10)) if has_participation else 0
    w_mid = rng.choice((15, 20))
    w_final = 100 - w_quiz - w_assign - w_part - w_mid

    n_quiz = rng.randint(3, 6)
    quizzes = category("Quizzes", "QZ", w_quiz, EVEN, drop=1 if rng.random() < 0.5 else 0)
    for q in range(n_quiz):
        item(f"Quiz {q + 1}", f"Q{q + 1}", 10.0, (q + 0.7) / (n_quiz + 1), quizzes, tool="Quizzes")
    if rng.random() < 0.4:
        item("Bonus Quiz", "QB", 10.0, 0.55, quizzes, bonus=True, tool="Quizzes")

    n_assign = rng.randint(2, 4)
    assignments = category("Assignments", "ASG", w_assign, MANUAL if weighted else BY_POINTS)
    if rng.random() < 0.7:
        cuts = sorted(rng.sample(range(10, 100, 5), n_assign - 1))
        manual = [float(b - a) for a, b in zip([0, *cuts], [*cuts, 100], strict=True)]
    else:  # weights that do not total 100: Brightspace rescales them proportionally (B.3)
        manual = [30.0] * n_assign
    for a in range(n_assign):
        item(
            f"Assignment {a + 1}",
            f"A{a + 1}",
            float(rng.choice((20, 50, 100))),
            (a + 1) / (n_assign + 1),
            assignments,
            weight=float(manual[a]),
            can_exceed=rng.random() < 0.1,
            tool="Dropbox",
        )

    if has_participation:
        part = category("Participation", "PART", w_part, BY_POINTS)
        for p in range(rng.randint(1, 2)):
            item(f"Discussion {p + 1}", f"D{p + 1}", 10.0, (p + 1) / 3, part, tool="Discussions")
        item("Lab check-in", "LAB", 10.0, 0.3, part, type_id=PASS_FAIL)

    item("Midterm Exam", "MID", 100.0, 0.5, weight=float(w_mid))
    item("Final Exam", "FIN", float(rng.choice((100, 150))), 0.97, weight=float(w_final))
    if rng.random() < 0.4:  # practice work that does not count: excluded (Points) or weight 0 (Weighted)
        item("Practice Quiz", "PQ", 10.0, 0.1, weight=0.0, excluded=not weighted, tool="Quizzes")
    if rng.random() < 0.3:
        item("Extra Credit", "XC", 5.0, 0.9, weight=5.0 if weighted else 0.0, bonus=True)

    for cat in categories:
        members = [i for i in items if i.category_id == cat.id and not i.is_bonus]
        cat.max_points = sum(i.max_points for i in members)
        for member in (i for i in items if i.category_id == cat.id):
            member.served_weight = _served_weight(weighted, cat, member, members)
    for it in items:
        if it.category_id is None:
            it.served_weight = it.weight if weighted else 0.0

    graders = course.instructors + course.tas
    final_object_id = (
        GRADE_OBJECT_BASE + course.index * GRADE_OBJECTS_PER_COURSE + GRADE_OBJECTS_PER_COURSE - 1
    )
    book = Gradebook(
        course.ou.id,
        system,
        null_is_zero,
        categories,
        items,
        course.students,
        graders,
        created,
        final_object_id,
    )
    _fill_values(book, rng, now, start)
    return book


def _served_weight(weighted: bool, cat: GradeCategory, item: GradeItem, members: list[GradeItem]) -> float:
    # Weight served for a categorized item: its weight inside the category, in percent (UNCONFIRMED).
    if not weighted:
        return 0.0
    if cat.distribution == MANUAL:
        return item.weight
    if cat.distribution == BY_POINTS:
        total = sum(m.max_points for m in members)
        return 100.0 * item.max_points / total if total else 0.0
    return 100.0 / len(members) if members else 0.0


def _fill_values(book: Gradebook, rng: random.Random, now: int, term_start: int) -> None:
    ability = [rng.uniform(0.55, 0.98) for _ in book.students]
    n = len(book.students)
    for k, item in enumerate(book.items):
        states, points, modified = book.state[k], book.points[k], book.modified[k]
        recent = 0 <= now - item.due < 4 * DAY
        for s in range(n):
            r = rng.random()
            if item.due > now:
                if r < 0.01:
                    states[s] = EXEMPT
                    modified[s] = min(now - 60, term_start + rng.randint(DAY, 30 * DAY))
                continue
            if item.is_bonus:
                if r >= 0.45:
                    continue
            elif r < 0.02:
                states[s] = EXEMPT
                modified[s] = min(now - 60, max(term_start, item.due - rng.randint(DAY, 5 * DAY)))
                continue
            elif r < 0.06 or (recent and r < 0.6):
                continue  # not graded (yet)
            elif r < 0.07:
                states[s] = BLANK
                modified[s] = min(now - 60, item.due + rng.randint(3600, 5 * DAY))
                continue
            states[s] = GRADED
            points[s] = _score(rng, item, ability[s])
            modified[s] = min(now - 60, item.due + rng.randint(2 * 3600, 9 * DAY))
    for s in range(n):
        latest = max((book.modified[k][s] for k in range(len(book.items))), default=0)
        book.final_modified[s] = latest


def _score(rng: random.Random, item: GradeItem, ability: float) -> float:
    if item.type_id == PASS_FAIL:
        return item.max_points if rng.random() < ability + 0.1 else 0.0
    top = 1.1 if item.can_exceed and not item.is_bonus else 1.0
    pct = min(top, max(0.0, rng.gauss(ability, 0.12)))
    return round(pct * item.max_points * 2) / 2


def regrade_points(rng: random.Random, item: GradeItem, old: float) -> float:
    """A different score for a regrade, within the item's range."""
    if item.type_id == PASS_FAIL:
        return 0.0 if old else item.max_points
    step = max(0.5, round(item.max_points * rng.uniform(0.05, 0.2) * 2) / 2)
    up = old + step <= item.max_points
    return old + step if up else max(0.0, old - step)


def new_points(rng: random.Random, item: GradeItem) -> float:
    """A score for a newly entered grade."""
    return _score(rng, item, rng.uniform(0.55, 0.98))
