"""Canvas grading setup: grading period sets and their periods (weights), per-period enrollment
grades, each course's late policy, and the account's custom grade statuses.

Sources (Canvas LMS REST API docs): Grading Period Sets (`GET /accounts/:id/grading_period_sets`,
sets with `weighted` and their `grading_periods`), Enrollments (`grading_period_id`: "Return grades
for the given grading_period"), Late Policy (`GET /courses/:id/late_policy` -> `{"late_policy":
{...}}`). Custom grade statuses have no REST listing: Canvas serves them through GraphQL
(`account(id:) { customGradeStatusesConnection { nodes { _id name color } } }`), as Canvas's own
gradebook and mobile apps read them.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from ..lms_http.errors import LmsApiError, LmsNotFoundError, LmsPermissionError
from .helpers import CanvasApi
from .settings import ENROLLMENT_STATES, GRADE_SCORES, GRADE_TEXTS

CUSTOM_STATUSES_QUERY = (
    "query CustomGradeStatuses($accountId: ID!) { account(id: $accountId) "
    "{ customGradeStatusesConnection { nodes { _id name color } } } }"
)


class GradingPeriodSets:
    """The account's grading period sets, read once per run and shared by the resources that need them."""

    def __init__(
        self, api: CanvasApi, account_id: str, on_unreadable: Callable[[str, LmsApiError], None]
    ) -> None:
        """Read lazily.

        Args:
            api: the client.
            account_id: the account whose sets apply (the root account, or `self`).
            on_unreadable: called with (scope, error) when the token may not read an account-level
                listing (it raises in strict mode, else records the skip); the listing reads as empty.
        """
        self.api = api
        self.account_id = account_id
        self.on_unreadable = on_unreadable
        self._lock = threading.Lock()
        self._sets: list[dict[str, Any]] | None = None

    def sets(self) -> list[dict[str, Any]]:
        with self._lock:
            if self._sets is None:
                try:
                    self._sets = self.api.rows(
                        f"accounts/{self.account_id}/grading_period_sets", data_selector="grading_period_sets"
                    )
                except (LmsPermissionError, LmsNotFoundError) as exc:
                    self._sets = []
                    self.on_unreadable("grading_period_sets", exc)
            return self._sets

    def periods_of_term(self, term_id: Any) -> list[dict[str, Any]]:
        """The grading periods that apply to courses of an enrollment term (none: the course has none)."""
        for period_set in self.sets():
            if term_id is not None and int(term_id) in {
                int(t) for t in period_set.get("enrollment_term_ids") or []
            }:
                return list(period_set.get("grading_periods") or [])
        return []


def shape_period_set(row: dict[str, Any]) -> dict[str, Any]:
    """A set without its embedded periods (they are their own table)."""
    return {k: v for k, v in row.items() if k != "grading_periods"}


def shape_periods(period_set: dict[str, Any]) -> list[dict[str, Any]]:
    """A set's periods, each with the set id it belongs to."""
    return [p | {"grading_period_set_id": period_set["id"]} for p in period_set.get("grading_periods") or []]


def shape_period_grade(row: dict[str, Any], course_id: int, period_id: int) -> dict[str, Any]:
    """One enrollment's `grades` in one grading period, keyed (enrollment_id, grading_period_id)."""
    grades = row.get("grades") or {}
    out: dict[str, Any] = {
        "enrollment_id": row["id"],
        "grading_period_id": period_id,
        "course_id": course_id,
        "user_id": row["user_id"],
    }
    for key in (*GRADE_SCORES, *GRADE_TEXTS):
        out[key] = grades.get(key)
    return out


def period_grades(
    api: CanvasApi, course: dict[str, Any], periods: list[dict[str, Any]]
) -> list[tuple[int, list[dict[str, Any]]]]:
    """Student enrollments of a course with their `grades` per grading period, as (period id, rows)."""
    out = []
    for period in periods:
        rows = api.rows(
            f"courses/{int(course['id'])}/enrollments",
            {
                "type[]": "StudentEnrollment",
                "state[]": ENROLLMENT_STATES,
                "grading_period_id": int(period["id"]),
                "include[]": ["current_points"],
            },
        )
        out.append((int(period["id"]), rows))
    return out


def late_policy(api: CanvasApi, course_id: int) -> list[dict[str, Any]]:
    """The course's late policy as one row, or none when the course has none (404)."""
    try:
        reply = api.get(f"courses/{course_id}/late_policy")
    except LmsNotFoundError:
        return []
    policy = (reply or {}).get("late_policy")
    if not policy:
        return []
    return [policy | {"course_id": policy.get("course_id") or course_id}]


def custom_grade_statuses(
    api: CanvasApi, account_id: str, root_id: Callable[[], int]
) -> list[dict[str, Any]]:
    """The root account's custom grade statuses (id, name, color), read through GraphQL."""
    account = account_id if account_id.isdigit() else str(root_id())
    reply = api.graphql(CUSTOM_STATUSES_QUERY, {"accountId": account})
    nodes = (((reply.get("data") or {}).get("account") or {}).get("customGradeStatusesConnection") or {}).get(
        "nodes"
    ) or []
    return [{"id": n.get("_id"), "name": n.get("name"), "color": n.get("color")} for n in nodes]
