"""Brightspace's Final Calculated Grade for Points and Weighted books (docs/grade-calculation.md Part B).

Computed in floats for speed, and again in exact `fractions.Fraction` arithmetic whenever the
displayed value sits at a rounding tie, so the displayed grade is always exact half to even (B.6).

Choices where Part B says UNCONFIRMED (each is the most plausible reading, used consistently):

- Drops (B.3): candidates are the counted, non-bonus, non-exempt items of the category (under
  "treat as 0" that includes ungraded items as 0). The N lowest percentages are dropped first, then
  the M highest of what is left; ties go to the item earlier in sort order. A drop may empty a
  category (D2L warns that under "drop ungraded" the first grades entered get dropped); an empty
  category is left out of the final grade like any category with nothing counted.
- Bonus items (B.3/B.4): never dropped, never part of a maximum. Inside a Weighted category a bonus
  item adds `w_b * pct_b` to the numerator only (w_b = its manual weight, 1 under even distribution,
  its MaxPoints under distribution by points); a top-level bonus item adds `W_b * pct_b / sum(W_e)`.
  In a Points book bonus points are added to the earned points only. An ungraded bonus item is
  never treated as 0 (it would add nothing anyway). A category holding only graded bonus items has no
  denominator and is left out.
- Caps: an item above MaxPoints is capped unless CanExceedMaxPoints (B.2); a category is capped at
  100 % of what it counts unless CanExceedMax (B.3); the final grade is capped at 100 % (the sandbox's
  Final Calculated Grade item never has Can Exceed set).
- Weighted top level (B.4): entries are non-empty categories and counted uncategorized items with a
  weight > 0; their weights are re-normalised both ways (sum of counted weights as denominator).
- Weight 0 or ExcludeFromFinalGradeCalculation: either removes an item (or category) from the final
  grade, in both grading systems.
- WeightedNumerator / WeightedDenominator of an item (B.5): the static configured share of the final
  grade, `W_cat * w_i / sum(w)` over the category's non-bonus items (or the item's own weight when
  uncategorized); it does not follow drops or dropped ungraded items. NULL in Points books.
- The Final Calculated Grade value: PointsNumerator/PointsDenominator are earned/possible points in a
  Points book and `percent`/100 in a Weighted book; WeightedNumerator/WeightedDenominator are
  `percent`/100 in both.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Context, Decimal
from fractions import Fraction
from typing import Any

POINTS = "Points"
WEIGHTED = "Weighted"

MANUAL = "manual"
EVEN = "even"
BY_POINTS = "points"

_ZERO = Fraction(0)
_DECIMAL_CONTEXT = Context(prec=60)


@dataclass(frozen=True, slots=True)
class CategorySpec:
    """A grade category as the calculation sees it.

    Attributes:
        category_id: the category's grade object id.
        weight: its share of the final grade in a Weighted book (ignored in Points).
        distribution: "manual", "even" or "points" (how item weights inside it are set).
        drop_lowest: NumberOfLowestToDrop.
        drop_highest: NumberOfHighestToDrop.
        can_exceed: CanExceedMax.
        excluded: ExcludeFromFinalGrade.
    """

    category_id: int
    weight: Fraction = _ZERO
    distribution: str = EVEN
    drop_lowest: int = 0
    drop_highest: int = 0
    can_exceed: bool = False
    excluded: bool = False


@dataclass(frozen=True, slots=True)
class ItemSpec:
    """A computable grade item (Numeric or PassFail) as the calculation sees it.

    Attributes:
        item_id: GradeObjectId.
        max_points: MaxPoints.
        category_id: CategoryId, or None when the item sits at the top level.
        weight: its manual weight inside its category, or its share of the final grade when
            uncategorized in a Weighted book.
        sort_order: position in the grade book (breaks drop ties).
        is_bonus: IsBonus.
        excluded: ExcludeFromFinalGradeCalculation.
        can_exceed: CanExceedMaxPoints.
    """

    item_id: int
    max_points: Fraction
    category_id: int | None = None
    weight: Fraction = _ZERO
    sort_order: int = 0
    is_bonus: bool = False
    excluded: bool = False
    can_exceed: bool = False


@dataclass(frozen=True, slots=True)
class Score:
    """One student's value on one item: points (None = ungraded) and the exemption flag."""

    points: Fraction | float | None
    exempt: bool = False


@dataclass(frozen=True, slots=True)
class FinalGrade:
    """The Final Calculated Grade of one student.

    Attributes:
        percent: 0..100, or None when nothing counts (no computable grade).
        points_numerator: PointsNumerator of the final grade value.
        points_denominator: PointsDenominator of the final grade value.
        dropped: ids of the items dropped by category drop rules (Grade Results IsDropped).
        display: DisplayedGrade, e.g. "88.12 %", rounded half to even from the exact value.
    """

    percent: float | None
    points_numerator: float | None = None
    points_denominator: float | None = None
    dropped: frozenset[int] = field(default_factory=frozenset)
    display: str | None = None


def round_half_even(value: Fraction, places: int = 2) -> Decimal:
    """Round an exact value to `places` decimals, half to even (B.6).

    Args:
        value: the exact value.
        places: decimals to keep.

    Returns:
        The rounded Decimal, e.g. 88.125 -> Decimal("88.12").
    """
    exact = _DECIMAL_CONTEXT.divide(Decimal(value.numerator), Decimal(value.denominator))
    return exact.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_EVEN)


def displayed_percent(percent: Fraction) -> str:
    """The displayed final grade string, e.g. "88.12 %"."""
    return f"{round_half_even(percent)} %"


def _near_tie(percent: float) -> bool:
    # Float results can sit a hair either side of a half-way point (88.125); decide those exactly.
    scaled = percent * 100
    return abs(scaled - math.floor(scaled) - 0.5) < 1e-6


class _Numbers:
    """The book's constants in one number type (exact Fractions or fast floats)."""

    def __init__(self, book: GradeBook, kind: type) -> None:
        self.kind = kind
        self.zero = kind(0)
        self.one = kind(1)
        self.hundred = kind(100)
        self.max_points = {i.item_id: kind(i.max_points) for i in book.items}
        self.item_weight = {i.item_id: kind(i.weight) for i in book.items}
        self.category_weight = {c.category_id: kind(c.weight) for c in book.categories.values()}


_Entries = dict[int | None, list[tuple[ItemSpec, Any]]]


class GradeBook:
    """One course's grading setup, ready to compute final grades for many students."""

    def __init__(
        self,
        grading_system: str,
        null_is_zero: bool,
        categories: Sequence[CategorySpec],
        items: Sequence[ItemSpec],
    ) -> None:
        """Prepare a book.

        Args:
            grading_system: "Points" or "Weighted" (GradingSystem of grades/setup).
            null_is_zero: IsNullGradeZero (True = treat ungraded items as 0).
            categories: the categories.
            items: the computable items (Numeric, PassFail), excluded and bonus ones included.
        """
        if grading_system not in (POINTS, WEIGHTED):
            raise ValueError(f"grading system {grading_system!r} is not computed here (Points or Weighted)")
        self.grading_system = grading_system
        self.null_is_zero = null_is_zero
        self.categories = {c.category_id: c for c in categories}
        self.items = tuple(sorted(items, key=lambda i: (i.sort_order, i.item_id)))
        for item in self.items:
            if item.category_id is not None and item.category_id not in self.categories:
                raise ValueError(f"item {item.item_id} names unknown category {item.category_id}")
        self._exact = _Numbers(self, Fraction)
        self._fast = _Numbers(self, float)
        self._shares = self._static_shares()

    def weighted_share(self, item_id: int) -> Fraction | None:
        """The item's static share of the final grade (B.5 WeightedDenominator); None in Points."""
        return self._shares.get(item_id) if self.grading_system == WEIGHTED else None

    def _static_shares(self) -> dict[int, Fraction]:
        shares: dict[int, Fraction] = {}
        for item in self.items:
            if item.category_id is None:
                shares[item.item_id] = item.weight
                continue
            category = self.categories[item.category_id]
            siblings = [i for i in self.items if i.category_id == item.category_id and not i.is_bonus]
            total = sum((self._inner_weight(category, i, self._exact) for i in siblings), _ZERO)
            shares[item.item_id] = (
                category.weight * self._inner_weight(category, item, self._exact) / total if total else _ZERO
            )
        return shares

    @staticmethod
    def _inner_weight(category: CategorySpec, item: ItemSpec, num: _Numbers) -> Any:
        if category.distribution == MANUAL:
            return num.item_weight[item.item_id]
        if category.distribution == BY_POINTS:
            return num.max_points[item.item_id]
        return num.one

    def final_grade(self, scores: Mapping[int, Score]) -> FinalGrade:
        """Compute one student's Final Calculated Grade.

        Floats are used for speed; when the result sits at a rounding tie the displayed grade is
        decided by an exact recomputation, so DisplayedGrade is always exact half-to-even.

        Args:
            scores: the student's values by item id; a missing item is ungraded.

        Returns:
            The final grade; `percent` is None when nothing counts.
        """
        percent, numerator, denominator, dropped = self._compute(scores, self._fast)
        if percent is None:
            return FinalGrade(None, dropped=dropped)
        if _near_tie(percent):
            exact = self._compute(scores, self._exact)[0]
            display = displayed_percent(exact)
        else:
            display = f"{percent:.2f} %"
        return FinalGrade(percent, numerator, denominator, dropped, display)

    def _compute(self, scores: Mapping[int, Score], num: _Numbers) -> tuple[Any, Any, Any, frozenset[int]]:
        counted: _Entries = {}
        for item in self.items:
            if item.excluded:
                continue
            category = self.categories.get(item.category_id) if item.category_id is not None else None
            if category is not None and category.excluded:
                continue
            score = scores.get(item.item_id)
            if score is not None and score.exempt:
                continue  # exempt: as if the item did not exist, before any drop
            points = num.kind(score.points) if score is not None and score.points is not None else None
            if points is None:
                if not self.null_is_zero or item.is_bonus:
                    continue
                points = num.zero
            maximum = num.max_points[item.item_id]
            if not item.can_exceed and points > maximum:
                points = maximum
            counted.setdefault(item.category_id, []).append((item, points))

        dropped: set[int] = set()
        for category_id, entries in counted.items():
            if category_id is not None:
                dropped.update(self._drops(self.categories[category_id], entries, num))

        if self.grading_system == POINTS:
            result = self._points_final(counted, dropped, num)
        else:
            result = self._weighted_final(counted, dropped, num)
        return (*result, frozenset(dropped))

    @staticmethod
    def _drops(category: CategorySpec, entries: list[tuple[ItemSpec, Any]], num: _Numbers) -> set[int]:
        if not (category.drop_lowest or category.drop_highest):
            return set()
        candidates = [(p / num.max_points[i.item_id], i) for i, p in entries if not i.is_bonus]
        low = sorted(candidates, key=lambda c: (c[0], c[1].sort_order, c[1].item_id))
        dropped = {item.item_id for _, item in low[: category.drop_lowest]}
        rest = [c for c in candidates if c[1].item_id not in dropped]
        high = sorted(rest, key=lambda c: (-c[0], c[1].sort_order, c[1].item_id))
        dropped.update(item.item_id for _, item in high[: category.drop_highest])
        return dropped

    def _points_final(self, counted: _Entries, dropped: set[int], num: _Numbers) -> tuple[Any, Any, Any]:
        earned = possible = num.zero
        for category_id, entries in counted.items():
            regular = [(i, p) for i, p in entries if not i.is_bonus and i.item_id not in dropped]
            bonus = sum((p for i, p in entries if i.is_bonus), num.zero)
            regular_possible = sum((num.max_points[i.item_id] for i, _ in regular), num.zero)
            regular_earned = sum((p for _, p in regular), num.zero)
            if category_id is None:
                earned += regular_earned + bonus
                possible += regular_possible
                continue
            if not regular:
                continue
            cat_earned = regular_earned + bonus
            if not self.categories[category_id].can_exceed:
                cat_earned = min(cat_earned, regular_possible)
            earned += cat_earned
            possible += regular_possible
        if not possible:
            return None, None, None
        earned = min(earned, possible)
        return earned / possible * num.hundred, earned, possible

    def _weighted_final(self, counted: _Entries, dropped: set[int], num: _Numbers) -> tuple[Any, Any, Any]:
        numerator = denominator = bonus_numerator = num.zero
        for category_id, entries in counted.items():
            if category_id is None:
                for item, points in entries:
                    weight = num.item_weight[item.item_id]
                    pct = points / num.max_points[item.item_id]
                    if item.is_bonus:
                        bonus_numerator += weight * pct
                    elif weight > 0:
                        numerator += weight * pct
                        denominator += weight
                continue
            category = self.categories[category_id]
            cat_weight = num.category_weight[category_id]
            if cat_weight <= 0:
                continue
            cat_num = cat_den = num.zero
            for item, points in entries:
                if item.item_id in dropped:
                    continue
                weight = self._inner_weight(category, item, num)
                cat_num += weight * points / num.max_points[item.item_id]
                if not item.is_bonus:
                    cat_den += weight
            if not cat_den:
                continue
            pct = cat_num / cat_den
            if not category.can_exceed:
                pct = min(pct, num.one)
            numerator += cat_weight * pct
            denominator += cat_weight
        if not denominator:
            return None, None, None
        percent = min((numerator + bonus_numerator) / denominator, num.one) * num.hundred
        return percent, percent, num.hundred
