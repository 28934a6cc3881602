"""Grading setup routes: grading period sets and periods, a course's late policy, custom grade
statuses (Canvas serves those through GraphQL only), and a course's `search_users`.

Sources: Canvas LMS REST API docs, Grading Period Sets (`GET /accounts/:id/grading_period_sets`),
Grading Periods (`GET /courses/:id/grading_periods` -> `{"grading_periods": [...]}`), Late Policy
(`GET /courses/:id/late_policy` -> `{"late_policy": {...}}`; a course without a policy is served
one with both deductions off: UNCONFIRMED against hosted Canvas, the source also takes a 404), Courses (`GET /courses/:id/search_users`, the path
canvasapi's `Course.get_users` calls). Custom grade statuses: the GraphQL field
`account(id:) { customGradeStatusesConnection { nodes { _id name color } } }`, also reachable
through `course(id:)`, as Canvas's gradebook and mobile apps query it.
"""

from __future__ import annotations

from typing import Any

from ..http import Ctx, Reply
from ..pagination import paginate_numbered
from ..payloads import grading_period_json, grading_period_set_json, late_policy_json
from . import Room
from .courses import CourseRoutes


class GradingRoutes(Room):
    ROUTES = (
        ("GET", "/accounts/<account_id>/grading_period_sets", "grading_period_sets"),
        ("GET", "/courses/<course_id>/grading_periods", "course_grading_periods"),
        ("GET", "/courses/<course_id>/late_policy", "late_policy"),
        ("GET", "/courses/<course_id>/search_users", "search_users"),
    )
    SITE_ROUTES = (("POST", "/api/graphql", "graphql"),)

    def grading_period_sets(self, ctx: Ctx, account_id: str) -> Reply:
        """GET /accounts/:id/grading_period_sets: `{"grading_period_sets": [...]}`, numbered pages."""
        self.find.account(ctx, account_id)
        page, link = paginate_numbered(self.inst.grading_period_sets, ctx.args, ctx.link_base)
        now = self.inst.clock
        return Reply(
            {"grading_period_sets": [grading_period_set_json(g, now) for g in page]}, len(page), link
        )

    def course_grading_periods(self, ctx: Ctx, course_id: str) -> Reply:
        """GET /courses/:id/grading_periods: the periods of the course's term's set."""
        course = self.find.course(ctx, course_id)
        period_set = self.inst.period_set(course)
        periods = period_set.periods if period_set else []
        page, link = paginate_numbered(periods, ctx.args, ctx.link_base)
        now = self.inst.clock
        return Reply({"grading_periods": [grading_period_json(p, now) for p in page]}, len(page), link)

    def late_policy(self, ctx: Ctx, course_id: str) -> Reply:
        """GET /courses/:id/late_policy."""
        return Reply({"late_policy": late_policy_json(self.find.course(ctx, course_id))})

    def search_users(self, ctx: Ctx, course_id: str) -> Reply:
        """GET /courses/:id/search_users: the same list as /courses/:id/users."""
        return CourseRoutes.course_users(self, ctx, course_id)  # type: ignore[arg-type]

    def graphql(self, ctx: Ctx) -> Reply:
        """POST /api/graphql: only the custom grade statuses query is answered."""
        body: Any = ctx.request.get_json(silent=True) or {}
        query = str(body.get("query") or "")
        if "customGradeStatusesConnection" not in query:
            return Reply({"errors": [{"message": "this sandbox answers only customGradeStatusesConnection"}]})
        nodes = [
            {"_id": str(s.id), "name": s.name, "color": s.color} for s in self.inst.custom_grade_statuses
        ]
        owner = "course" if "course(" in query else "account"
        return Reply({"data": {owner: {"customGradeStatusesConnection": {"nodes": nodes}}}})
