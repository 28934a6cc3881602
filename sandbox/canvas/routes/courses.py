"""Course routes: a course, its sections, users, enrollments, assignment groups, assignments and
analytics (docs/canvas-api.md 4.1, 4.2, 4.4, 4.7)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..analytics import SORT_COLUMNS, analytics_of
from ..http import NOT_FOUND, ApiError, Ctx, Reply, int_or_404
from ..model import Course, Enrollment, Section
from ..pagination import paginate_bookmarked, paginate_numbered
from ..payloads import assignment_json, course_json, enrollment_json, group_json, section_json, user_json
from . import Room

ENROLLMENT_TYPE_ALIASES = {
    "student": "StudentEnrollment",
    "teacher": "TeacherEnrollment",
    "ta": "TaEnrollment",
    "observer": "ObserverEnrollment",
    "designer": "DesignerEnrollment",
}


class CourseRoutes(Room):
    ROUTES = (
        ("GET", "/courses/<course_id>", "course_show"),
        ("GET", "/courses/<course_id>/sections", "sections"),
        ("GET", "/courses/<course_id>/users", "course_users"),
        ("GET", "/courses/<course_id>/enrollments", "course_enrollments"),
        ("GET", "/sections/<section_id>/enrollments", "section_enrollments"),
        ("GET", "/courses/<course_id>/assignment_groups", "assignment_groups"),
        ("GET", "/courses/<course_id>/assignments", "assignments"),
        ("GET", "/courses/<course_id>/analytics/student_summaries", "analytics_student_summaries"),
        ("GET", "/courses/<course_id>/analytics/activity", "analytics_activity"),
    )

    def course_show(self, ctx: Ctx, course_id: str) -> Reply:
        """GET /courses/:id (`include[]=term`)."""
        course = self.find.course(ctx, course_id)
        return Reply(course_json(course, self.inst, "term" in ctx.values("include")))

    def sections(self, ctx: Ctx, course_id: str) -> Reply:
        """GET /courses/:id/sections (`include[]=total_students`)."""
        course = self.find.course(ctx, course_id)
        page, link = paginate_numbered(course.sections, ctx.args, ctx.link_base)
        out = [section_json(s, course) for s in page]
        if "total_students" in ctx.values("include"):
            for row in out:
                row["total_students"] = sum(
                    1
                    for e in course.enrollments
                    if e.type == "StudentEnrollment"
                    and e.section.id == row["id"]
                    and e.state in ("active", "invited")
                )
        return Reply(out, len(page), link)

    def course_users(self, ctx: Ctx, course_id: str) -> Reply:
        """GET /courses/:id/users: distinct users with active/invited enrollments (filters by type/state)."""
        course = self.find.course(ctx, course_id)
        types = {ENROLLMENT_TYPE_ALIASES.get(t, t) for t in ctx.values("enrollment_type")}
        states = set(ctx.values("enrollment_state")) or {"active", "invited"}
        seen: dict[int, Any] = {}
        for e in course.enrollments:
            if (not types or e.type in types) and e.state in states:
                seen.setdefault(e.user.id, e.user)
        rows = sorted(seen.values(), key=lambda u: (u.sortable_name, u.id))
        include = frozenset(ctx.values("include"))
        page, link = paginate_numbered(rows, ctx.args, ctx.link_base)
        return Reply([user_json(u, include) for u in page], len(page), link)

    def course_enrollments(self, ctx: Ctx, course_id: str) -> Reply:
        """GET /courses/:id/enrollments (bookmark pages)."""
        return self._enrollments(ctx, self.find.course(ctx, course_id), None)

    def section_enrollments(self, ctx: Ctx, section_id: str) -> Reply:
        """GET /sections/:id/enrollments (bookmark pages)."""
        course, section = self.find.section(ctx, section_id)
        return self._enrollments(ctx, course, section)

    def _enrollments(self, ctx: Ctx, course: Course, section: Section | None) -> Reply:
        inst = self.inst
        states = set(ctx.values("state"))
        if not states:
            # "active and invited"; course scope with an admin caller also gets inactive.
            states = (
                {"active", "invited", "inactive"}
                if section is None and ctx.token.admin
                else {"active", "invited"}
            )
        types = set(ctx.values("type")) | set(ctx.values("role"))
        user_ids = ctx.values("user_id")
        wanted_user = None
        if user_ids:
            raw = user_ids[0]
            wanted_user = ctx.token.user_id if raw == "self" else int_or_404(raw)
        rows: list[Enrollment] = [
            e
            for e in inst.ordered_enrollments(course)
            if e.state in states
            and (section is None or e.section.id == section.id)
            and (not types or e.type in types)
            and (wanted_user is None or e.user.id == wanted_user)
        ]
        page, link = paginate_bookmarked(rows, _enrollment_key, ctx.args, ctx.link_base)
        # grading_period_id: "Return grades for the given grading_period" (Enrollments API)
        period = None
        raw_period = ctx.args.get("grading_period_id")
        if raw_period:
            period_set = inst.period_set(course)
            period = next(
                (p for p in (period_set.periods if period_set else []) if str(p.id) == raw_period), None
            )
            if period is None:
                raise ApiError(404, NOT_FOUND)
        students = any(e.type == "StudentEnrollment" for e in page)
        if period is not None:
            grades = {
                e.id: inst.period_scores(course, period, e) for e in page if e.type == "StudentEnrollment"
            }
        else:
            grades = inst.grades(course) if students else {}
        points = "current_points" in ctx.values("include")
        return Reply(
            [
                enrollment_json(e, course, inst, grades.get(e.id), current_points=points, period=period)
                for e in page
            ],
            len(page),
            link,
        )

    def assignment_groups(self, ctx: Ctx, course_id: str) -> Reply:
        """GET /courses/:id/assignment_groups (`include[]=assignments`), by position."""
        course = self.find.course(ctx, course_id)
        rows = sorted(course.groups, key=lambda g: (g.position, g.id))
        with_assignments = "assignments" in ctx.values("include")
        page, link = paginate_numbered(rows, ctx.args, ctx.link_base)
        out = []
        for g in page:
            embedded = None
            if with_assignments:
                embedded = [
                    assignment_json(a)
                    for a in sorted(course.assignments, key=lambda a: (a.position, a.id))
                    if a.assignment_group_id == g.id
                ]
            out.append(group_json(g, embedded))
        return Reply(out, len(page), link)

    def assignments(self, ctx: Ctx, course_id: str) -> Reply:
        """GET /courses/:id/assignments (admin: unpublished too), ordered by group and position."""
        course = self.find.course(ctx, course_id)
        group_pos = {g.id: g.position for g in course.groups}
        order_by = ctx.args.get("order_by") or "position"
        if order_by == "name":
            key: Callable[[Any], Any] = lambda a: (a.name, a.id)  # noqa: E731
        elif order_by == "due_at":
            key = lambda a: (a.due_at is None, a.due_at or 0, a.id)  # noqa: E731
        else:
            key = lambda a: (group_pos.get(a.assignment_group_id, 0), a.position, a.id)  # noqa: E731
        rows = sorted(course.assignments, key=key)
        ids = ctx.values("assignment_ids")
        if ids:
            wanted = {int(i) for i in ids if i.isdigit()}
            rows = [a for a in rows if a.id in wanted]
        page, link = paginate_numbered(rows, ctx.args, ctx.link_base)
        return Reply([assignment_json(a) for a in page], len(page), link)

    # ---- analytics (analytics.py) --------------------------------------------------------------
    def _analytics_course(self, ctx: Ctx, course_id: str) -> Course:
        course = self.find.course(ctx, course_id)
        if course.id in analytics_of(self.inst).disabled_courses:
            raise ApiError(404, NOT_FOUND)  # Analytics is not enabled for this course
        return course

    def analytics_student_summaries(self, ctx: Ctx, course_id: str) -> Reply:
        """GET /courses/:id/analytics/student_summaries (`sort_column`, `student_id`), numbered pages."""
        course = self._analytics_course(ctx, course_id)
        sort_column = ctx.args.get("sort_column")
        if sort_column is not None and sort_column not in SORT_COLUMNS:
            raise ApiError(400, {"errors": [{"message": f"invalid sort_column {sort_column}"}]})
        raw_student = ctx.args.get("student_id")
        rows = analytics_of(self.inst).summaries(
            course, sort_column, int_or_404(raw_student) if raw_student else None
        )
        page, link = paginate_numbered(rows, ctx.args, ctx.link_base)
        return Reply(list(page), len(page), link)

    def analytics_activity(self, ctx: Ctx, course_id: str) -> Reply:
        """GET /courses/:id/analytics/activity: [{date, participations, views}] per day, unpaginated."""
        course = self._analytics_course(ctx, course_id)
        rows = analytics_of(self.inst).activity(course)
        return Reply(rows, len(rows))


def _enrollment_key(e: Enrollment) -> tuple[str, str, int]:
    return (e.type, e.user.sortable_name, e.id)
