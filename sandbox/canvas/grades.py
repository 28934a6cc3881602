"""Canvas course scores (current/final, posted/unposted) as lib/grade_calculator.rb computes them."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from itertools import combinations
from typing import NamedTuple

ZERO = Fraction(0)
_HALF = Fraction(1, 2)
_exact_cache: dict[float, Fraction] = {}
_scaled_cache: dict[float, Fraction | int] = {}


class WorkFacts(NamedTuple):
    """What the calculator needs from one submission (see docs/grade-calculation.md A.3)."""

    score: float | None
    posted: bool = True
    excused: bool = False
    pending_review: bool = False


class AssignmentFacts(NamedTuple):
    """A published, gradeable assignment assigned to the student."""

    id: int
    group_id: int
    points_possible: float | None
    omit_from_final_grade: bool = False


class GroupFacts(NamedTuple):
    """An assignment group's weight and drop rules."""

    id: int
    weight: float | None
    drop_lowest: int = 0
    drop_highest: int = 0
    never_drop: frozenset[int] = frozenset()


@dataclass(frozen=True, slots=True)
class CourseScores:
    """The four stored course scores (percentages rounded to 2 dp, or None)."""

    current_score: float | None
    final_score: float | None
    unposted_current_score: float | None
    unposted_final_score: float | None


class _Row(NamedTuple):
    id: int
    score: Fraction | int
    possible: Fraction | int


def exact(value: float | int | None) -> Fraction:
    """The decimal value a float was written as, exactly (None counts as 0), like BigDecimal.

    Args:
        value: A score or points value.

    Returns:
        The exact fraction of its shortest decimal representation.
    """
    if value is None:
        return ZERO
    cached = _exact_cache.get(value)
    if cached is None:
        cached = Fraction(repr(float(value)))
        _exact_cache[value] = cached
    return cached


def scaled(value: float | int | None) -> Fraction | int:
    """`exact(value) * 100`, as an int when the value has at most 2 decimals (the common case)."""
    if value is None:
        return 0
    cached = _scaled_cache.get(value)
    if cached is None:
        hundred = exact(value) * 100
        cached = int(hundred) if hundred.denominator == 1 else hundred
        _scaled_cache[value] = cached
    return cached


def round2(value: Fraction) -> float:
    """Round half away from zero to 2 decimals, on the exact value (matches big.js ROUND_HALF_UP).

    Args:
        value: An exact percentage.

    Returns:
        The rounded float.
    """
    scaled = abs(value) * 100
    rounded = math.floor(scaled + _HALF)
    return float(Fraction(rounded if value >= 0 else -rounded, 100))


Number = Fraction | int


def _ratio(score: Number, possible: Number) -> Fraction | float:
    if possible:
        return Fraction(score) / possible
    # Only reachable when a candidate subset is all zero-point rows; extra credit ranks highest.
    return math.inf if score > 0 else (-math.inf if score < 0 else 0.0)


def _exceeds(num: Number, den: Number, best_num: Number, best_den: Number) -> bool:
    """num/den > best_num/best_den, by cross-multiplication when both denominators are positive."""
    if den > 0 and best_den > 0:
        return num * best_den > best_num * den
    return _ratio(num, den) > _ratio(best_num, best_den)


def _best_subset(rows: Sequence[_Row], k: int, base: tuple[Number, Number], maximise: bool) -> list[_Row]:
    """Brute-force the size-k subset with the best (or worst) overall ratio, never-drop rows included.

    `rows` are in ascending assignment id, so `combinations` meets subsets in lexicographic id order
    and keeping the first of equal ratios keeps the lower ids (the JS tie rule).
    """
    if k >= len(rows):
        return list(rows)
    base_score, base_possible = base
    best: tuple[_Row, ...] | None = None
    best_num: Number = 0
    best_den: Number = 0
    for combo in combinations(rows, k):
        num = base_score
        den = base_possible
        for r in combo:
            num += r.score
            den += r.possible
        if best is None or (
            _exceeds(num, den, best_num, best_den) if maximise else _exceeds(best_num, best_den, num, den)
        ):
            best, best_num, best_den = combo, num, den
    return list(best or ())


def drop_assignments(
    rows: Iterable[tuple[int, Number, Number]], drop_lowest: int, drop_highest: int, never_drop: Iterable[int]
) -> list[tuple[int, Number, Number]]:
    """Apply a group's drop rules by Canvas's best-subset method (docs/grade-calculation.md A.4).

    Args:
        rows: (assignment id, score, points possible) rows that survived the A.3 filters; exact
            numbers (ints or Fractions, any common scale).
        drop_lowest: The group's `drop_lowest` rule.
        drop_highest: The group's `drop_highest` rule.
        never_drop: Assignment ids that are always kept.

    Returns:
        The rows kept, as (assignment id, score, points possible).
    """
    all_rows = [_Row(*r) for r in rows]
    if drop_lowest == 0 and drop_highest == 0:
        return [tuple(r) for r in all_rows]  # type: ignore[misc]
    keep_always = set(never_drop)
    fixed = [r for r in all_rows if r.id in keep_always]
    droppable = sorted((r for r in all_rows if r.id not in keep_always), key=lambda r: r.id)
    if not droppable:
        return [tuple(r) for r in fixed]  # type: ignore[misc]
    n = len(droppable)
    lowest = min(drop_lowest, n - 1)
    highest = 0 if lowest + drop_highest >= n else drop_highest
    keep_high = n - lowest
    keep_low = keep_high - highest
    if any(r.possible > 0 for r in droppable) or any(r.possible > 0 for r in fixed):
        base = (sum(r.score for r in fixed), sum(r.possible for r in fixed))
        kept = _best_subset(droppable, keep_high, base, maximise=True)
        kept = _best_subset(kept, keep_low, base, maximise=False)
    else:  # every row is worth 0 points
        by_score = sorted(droppable, key=lambda r: r.score)
        kept = by_score[n - keep_high :][:keep_low]
    return [tuple(r) for r in kept + fixed]  # type: ignore[misc]


class CourseCalculator:
    """Scores students of one course; the assignment/group plan is prepared once per course.

    Values are kept as exact decimals scaled by 100 (ints when the input has at most 2 decimals,
    Fractions otherwise), so sums are exact like Ruby's BigDecimal and fast.
    """

    def __init__(
        self, groups: Sequence[GroupFacts], assignments: Sequence[AssignmentFacts], *, weighted: bool
    ) -> None:
        known = {g.id for g in groups}
        self.weighted = weighted
        self.plan: list[tuple[GroupFacts, list[tuple[int, Fraction | int]], bool, Fraction | int]] = []
        for g in groups:
            items = [
                (a.id, scaled(a.points_possible))
                for a in assignments
                if a.group_id == g.id and a.group_id in known and not a.omit_from_final_grade  # A.3 f
            ]
            has_rules = bool(g.drop_lowest or g.drop_highest)
            self.plan.append((g, items, has_rules, exact(g.weight)))

    def score(
        self,
        work: Mapping[int, WorkFacts | None],
        *,
        posted_only: bool,
        include_ungraded: bool,
        concluded: bool = False,
        points: bool = False,
    ) -> float | None:
        """One of the four variants for one student (see `score_variant`); with `points`, the
        stored points column instead: the point total in points mode, the percentage when weighted."""
        total_score: Number = 0
        total_possible: Number = 0
        weighted_sum: Number = 0
        weight_sum: Number = 0
        for group, items, has_rules, weight in self.plan:
            g_score: Number = 0
            g_possible: Number = 0
            rows: list[tuple[int, Number, Number]] = []
            for aid, possible in items:
                s = work.get(aid)
                if s is not None:
                    if posted_only and not s.posted:
                        s = None  # A.3 a: hidden grades are absent in the posted variants
                    elif not include_ungraded and s.pending_review:
                        s = None  # A.3 b
                if s is None:
                    if concluded or not include_ungraded:
                        continue  # A.3 c / d
                    value: Number = 0  # A.3 g
                else:
                    if s.excused:
                        continue  # A.3 e
                    if s.score is None:
                        if not include_ungraded:
                            continue  # A.3 d
                        value = 0  # A.3 g
                    else:
                        value = scaled(s.score)
                if has_rules:
                    rows.append((aid, value, possible))
                else:
                    g_score += value
                    g_possible += possible
            if has_rules:
                kept = drop_assignments(rows, group.drop_lowest, group.drop_highest, group.never_drop)
                g_score = sum(r[1] for r in kept)
                g_possible = sum(r[2] for r in kept)
            if self.weighted:
                if g_possible > 0:
                    weighted_sum += Fraction(g_score) / g_possible * weight
                    weight_sum += weight
            else:
                total_score += g_score
                total_possible += g_possible
        if self.weighted:
            if weight_sum == 0:
                return None
            value = weighted_sum * 100 / weight_sum if weight_sum < 100 else weighted_sum
            return round2(Fraction(value))
        if total_possible <= 0:
            return None
        if points:
            return round2(Fraction(total_score) / 100)  # values are kept scaled by 100
        return round2(Fraction(total_score) / total_possible * 100)

    def scores(self, work: Mapping[int, WorkFacts | None], *, concluded: bool = False) -> CourseScores:
        """All four stored course scores for one student."""
        current = self.score(work, posted_only=True, include_ungraded=False, concluded=concluded)
        final = self.score(work, posted_only=True, include_ungraded=True, concluded=concluded)
        # Hiding a row only matters if it has a score, is excused or pending review, or the student is
        # concluded (A.3 c); otherwise the unposted variants equal the posted ones.
        if concluded or any(
            s is not None and not s.posted and (s.score is not None or s.excused or s.pending_review)
            for s in work.values()
        ):
            unposted_current = self.score(
                work, posted_only=False, include_ungraded=False, concluded=concluded
            )
            unposted_final = self.score(work, posted_only=False, include_ungraded=True, concluded=concluded)
        else:
            unposted_current, unposted_final = current, final
        return CourseScores(current, final, unposted_current, unposted_final)


def score_variant(
    groups: Sequence[GroupFacts],
    assignments: Sequence[AssignmentFacts],
    work: Mapping[int, WorkFacts | None],
    *,
    weighted: bool,
    posted_only: bool,
    include_ungraded: bool,
    concluded: bool = False,
) -> float | None:
    """One of the four course scores for one student.

    Args:
        groups: The course's active assignment groups.
        assignments: Published, gradeable assignments assigned to the student.
        work: The student's submission per assignment id (absent/None = no submission).
        weighted: The course's `apply_assignment_group_weights`.
        posted_only: True for the posted variant (`current_score`/`final_score`).
        include_ungraded: False for `current` (ungraded work left out), True for `final` (counts as 0).
        concluded: True when every enrollment of the student in the course is `completed`.

    Returns:
        The course percentage rounded to 2 dp, or None when nothing counts.
    """
    calc = CourseCalculator(groups, assignments, weighted=weighted)
    return calc.score(work, posted_only=posted_only, include_ungraded=include_ungraded, concluded=concluded)


def course_scores(
    groups: Sequence[GroupFacts],
    assignments: Sequence[AssignmentFacts],
    work: Mapping[int, WorkFacts | None],
    *,
    weighted: bool,
    concluded: bool = False,
) -> CourseScores:
    """All four stored course scores for one student (docs/grade-calculation.md A.1-A.6).

    Args:
        groups: The course's active assignment groups.
        assignments: Published, gradeable assignments assigned to the student.
        work: The student's submission per assignment id.
        weighted: The course's `apply_assignment_group_weights`.
        concluded: True when every enrollment of the student in the course is `completed`.

    Returns:
        current/final (posted) and unposted current/final scores.
    """
    return CourseCalculator(groups, assignments, weighted=weighted).scores(work, concluded=concluded)


def weighted_period_total(
    periods: Sequence[tuple[float | None, float | None]], *, final: bool
) -> float | None:
    """A course score from its weighted grading periods' stored, rounded scores (docs/grade-calculation.md
    A.7, Canvas `calculate_total_from_weighted_grading_periods`).

    Args:
        periods: (the period's score, its weight) for every period of the set.
        final: True for a `final` variant (an empty period counts as 0 with its weight), False for
            `current` (only periods with a score count, and none gives None).

    Returns:
        The course percentage rounded to 2 dp, or None.
    """
    total = ZERO
    weight_sum = ZERO
    any_score = False
    for score, weight in periods:
        w = exact(weight)
        if score is not None:
            any_score = True
        elif not final:
            continue
        total += exact(score) * w / 100
        weight_sum += w
    if not final and not any_score:
        return None
    if weight_sum < 100:
        total = total * 100 / weight_sum if weight_sum else ZERO
    return round2(total)


def weighted_course_scores(periods: Sequence[tuple[CourseScores | None, float | None]]) -> CourseScores:
    """All four course scores from the period scores of a weighted set (each variant on its own)."""

    def variant(name: str, final: bool) -> float | None:
        return weighted_period_total(
            [(getattr(p, name) if p is not None else None, w) for p, w in periods], final=final
        )

    return CourseScores(
        variant("current_score", False),
        variant("final_score", True),
        variant("unposted_current_score", False),
        variant("unposted_final_score", True),
    )
