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


class WorkFacts(NamedTuple):
    """What the calculator needs from one submission (see grade-calculation.md A.3)."""

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
    score: Fraction
    possible: Fraction


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


def _ratio(score: Fraction, possible: Fraction) -> Fraction | float:
    if possible:
        return score / possible
    # Only reachable when a candidate subset is all zero-point rows; extra credit ranks highest.
    return math.inf if score > 0 else (-math.inf if score < 0 else 0.0)


def _best_subset(rows: Sequence[_Row], k: int, base: tuple[Fraction, Fraction], maximise: bool) -> list[_Row]:
    """Brute-force the size-k subset with the best (or worst) overall ratio, never-drop rows included.

    `rows` are in ascending assignment id, so `combinations` meets subsets in lexicographic id order
    and keeping the first of equal ratios keeps the lower ids (the JS tie rule).
    """
    if k >= len(rows):
        return list(rows)
    base_score, base_possible = base
    best: tuple[_Row, ...] | None = None
    best_ratio: Fraction | float = 0.0
    for combo in combinations(rows, k):
        score = base_score + sum((r.score for r in combo), ZERO)
        possible = base_possible + sum((r.possible for r in combo), ZERO)
        ratio = _ratio(score, possible)
        if best is None or (ratio > best_ratio if maximise else ratio < best_ratio):
            best, best_ratio = combo, ratio
    return list(best or ())


def drop_assignments(
    rows: Iterable[tuple[int, Fraction, Fraction]], drop_lowest: int, drop_highest: int, never_drop: Iterable[int]
) -> list[tuple[int, Fraction, Fraction]]:
    """Apply a group's drop rules by Canvas's best-subset method (grade-calculation.md A.4).

    Args:
        rows: (assignment id, score, points possible) rows that survived the A.3 filters.
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
        base = (sum((r.score for r in fixed), ZERO), sum((r.possible for r in fixed), ZERO))
        kept = _best_subset(droppable, keep_high, base, maximise=True)
        kept = _best_subset(kept, keep_low, base, maximise=False)
    else:  # every row is worth 0 points
        by_score = sorted(droppable, key=lambda r: r.score)
        kept = by_score[n - keep_high :][:keep_low]
    return [tuple(r) for r in kept + fixed]  # type: ignore[misc]


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
    by_group: dict[int, list[tuple[int, Fraction, Fraction]]] = {g.id: [] for g in groups}
    for a in assignments:
        if a.group_id not in by_group:
            continue  # assignment in a deleted/unknown group: never counts
        s = work.get(a.id)
        if posted_only and s is not None and not s.posted:
            s = None  # A.3 a: hidden grades are absent in the posted variants
        if not include_ungraded and s is not None and s.pending_review:
            s = None  # A.3 b
        if concluded and s is None:
            continue  # A.3 c
        score = None if s is None else s.score
        if score is None and not include_ungraded:
            continue  # A.3 d
        if s is not None and s.excused:
            continue  # A.3 e
        if a.omit_from_final_grade:
            continue  # A.3 f
        by_group[a.group_id].append((a.id, exact(score), exact(a.points_possible)))  # A.3 g: None -> 0

    total_score = total_possible = ZERO
    weighted_sum = ZERO
    weight_sum = ZERO
    for g in groups:
        kept = drop_assignments(by_group[g.id], g.drop_lowest, g.drop_highest, g.never_drop)
        score = sum((r[1] for r in kept), ZERO)
        possible = sum((r[2] for r in kept), ZERO)
        if weighted:
            if possible > 0:
                weight = exact(g.weight)
                weighted_sum += score / possible * weight
                weight_sum += weight
        else:
            total_score += score
            total_possible += possible
    if weighted:
        if weight_sum == 0:
            return None
        value = weighted_sum * 100 / weight_sum if weight_sum < 100 else weighted_sum
        return round2(value)
    if total_possible <= 0:
        return None
    return round2(total_score / total_possible * 100)


def course_scores(
    groups: Sequence[GroupFacts],
    assignments: Sequence[AssignmentFacts],
    work: Mapping[int, WorkFacts | None],
    *,
    weighted: bool,
    concluded: bool = False,
) -> CourseScores:
    """All four stored course scores for one student (grade-calculation.md A.1-A.6).

    Args:
        groups: The course's active assignment groups.
        assignments: Published, gradeable assignments assigned to the student.
        work: The student's submission per assignment id.
        weighted: The course's `apply_assignment_group_weights`.
        concluded: True when every enrollment of the student in the course is `completed`.

    Returns:
        current/final (posted) and unposted current/final scores.
    """

    def variant(posted_only: bool, include_ungraded: bool) -> float | None:
        return score_variant(
            groups,
            assignments,
            work,
            weighted=weighted,
            posted_only=posted_only,
            include_ungraded=include_ungraded,
            concluded=concluded,
        )

    return CourseScores(
        current_score=variant(True, False),
        final_score=variant(True, True),
        unposted_current_score=variant(False, False),
        unposted_final_score=variant(False, True),
    )
