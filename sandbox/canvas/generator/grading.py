"""Grading setup on top of a generated institution: grading period sets (one weighted, one not),
Final Grade Overrides, and the root account's custom grade statuses on a few submissions.

It draws from its own seeded stream, after everything else is built, so the rest of the institution
(and every count the tests compare with) is the same bit for bit as without it.
"""

from __future__ import annotations

import random

from ..institution import Institution
from ..model import CustomGradeStatus, GradingPeriod, GradingPeriodSet
from ..timestamps import DAY

# (name, colour) of the root account's custom statuses (Canvas allows up to 3 per account)
CUSTOM_STATUSES = (("Incomplete", "#E0061F"), ("Medical leave", "#0B874B"))
# weights of the weighted set's two periods: they add up to 90, so Canvas scales the total up
# (docs/grade-calculation.md A.7)
PERIOD_WEIGHTS = (40.0, 50.0)
OVERRIDE_SHARE = 0.15  # student enrollments with a Final Grade Override
STATUS_SHARE = 0.01  # graded submissions labelled with a custom status


def build_grading(inst: Institution) -> None:
    """Add period sets, overrides and custom statuses to a built (not yet indexed) institution."""
    rng = random.Random(f"canvas-sandbox-grading:{inst.size}:{inst.seed}")
    inst.custom_grade_statuses = [
        CustomGradeStatus(i, name, color) for i, (name, color) in enumerate(CUSTOM_STATUSES, start=1)
    ]
    dated = [t for t in inst.terms if t.start_at is not None and t.end_at is not None]
    # Spring: weighted periods; Summer: periods that do not weigh (the course score ignores them)
    plans = [(dated[0], True), (dated[1], False)] if len(dated) >= 2 else []
    next_period = 1
    for set_id, (term, weighted) in enumerate(plans, start=1):
        start, end = term.start_at, term.end_at
        assert start is not None and end is not None
        middle = start + (end - start) // 2
        middle -= middle % DAY
        periods = []
        for n, (p_start, p_end) in enumerate(((start - DAY, middle), (middle, end)), start=1):
            periods.append(
                GradingPeriod(
                    next_period,
                    f"{term.name} period {n}",
                    p_start,
                    p_end,
                    p_end + 7 * DAY,
                    PERIOD_WEIGHTS[n - 1] if weighted else None,
                )
            )
            next_period += 1
        inst.grading_period_sets.append(
            GradingPeriodSet(
                set_id,
                f"{term.name} ({'weighted' if weighted else 'unweighted'})",
                weighted,
                True,
                (term.id,),
                periods,
                term.created_at,
            )
        )
    for course in inst.courses:
        for e in course.enrollments:
            if (
                e.type == "StudentEnrollment"
                and e.state in ("active", "completed")
                and rng.random() < OVERRIDE_SHARE
            ):
                course.override_scores[e.id] = round(rng.uniform(55.0, 100.0), 2)
        for s in course.submissions:
            if s.workflow_state == "graded" and rng.random() < STATUS_SHARE:
                s.custom_grade_status_id = rng.choice(inst.custom_grade_statuses).id
