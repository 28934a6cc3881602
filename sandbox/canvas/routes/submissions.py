"""Submission routes: a course's or a section's students/submissions, bookmark-paged (docs/canvas-api.md 4.5)."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from ..http import ApiError, Ctx, Reply
from ..model import Course, Section, Submission
from ..pagination import paginate_bookmarked
from ..payloads import submission_json
from ..timestamps import parse_strict_iso
from . import Room


class SubmissionRoutes(Room):
    ROUTES = (
        ("GET", "/courses/<course_id>/students/submissions", "course_submissions"),
        ("GET", "/sections/<section_id>/students/submissions", "section_submissions"),
    )

    def course_submissions(self, ctx: Ctx, course_id: str) -> Reply:
        """GET /courses/:id/students/submissions (bookmark pages)."""
        return self._submissions(ctx, self.find.course(ctx, course_id), None)

    def section_submissions(self, ctx: Ctx, section_id: str) -> Reply:
        """GET /sections/:id/students/submissions (bookmark pages)."""
        course, section = self.find.section(ctx, section_id)
        return self._submissions(ctx, course, section)

    def _submissions(self, ctx: Ctx, course: Course, section: Section | None) -> Reply:
        inst = self.inst
        if ctx.flag("grouped"):
            raise ApiError(400, {"errors": [{"message": "grouped=true is not simulated by the sandbox"}]})
        live = inst.live_students(course)
        student_ids = ctx.values("student_ids")
        if not student_ids:
            wanted: set[int] | None = {ctx.token.user_id}  # omitted: the caller's own submissions
        elif "all" in student_ids:
            wanted = None
        else:
            if len(student_ids) > 100:
                raise ApiError(400, {"error": "too many students"})
            wanted = {int(s) for s in student_ids if s.isdigit()}
        published = {a.id for a in course.assignments if a.published}
        assignment_ids = ctx.values("assignment_ids")
        only_assignments: set[int] | None = None
        if assignment_ids:
            only_assignments = {int(a) for a in assignment_ids if a.isdigit()}
            if len(only_assignments) != len(set(assignment_ids)) or not only_assignments <= published:
                raise ApiError(403, {"error": "invalid assignment ids requested"})
        since: dict[str, int] = {}
        for name in ("submitted_since", "graded_since"):
            raw = ctx.args.get(name)
            if raw is not None:
                parsed = parse_strict_iso(raw)
                if parsed is None:
                    raise ApiError(400, {"errors": {name: f"Invalid datetime for {name}"}})
                since[name] = parsed
        workflow = ctx.args.get("workflow_state")
        enrollment_state = ctx.args.get("enrollment_state")
        allowed_states = {"active": {"active"}, "concluded": {"completed"}}.get(enrollment_state or "")
        rows: Iterable[Submission] = inst.served_submissions(course)
        if section is not None or allowed_states is not None or wanted is not None:
            ok_users = {
                uid
                for uid, e in live.items()
                if (section is None or e.section.id == section.id)
                and (allowed_states is None or e.state in allowed_states)
                and (wanted is None or uid in wanted)
            }
            rows = (s for s in rows if s.user_id in ok_users)
        if only_assignments is not None:
            rows = (s for s in rows if s.assignment.id in only_assignments)
        if "submitted_since" in since:
            cut = since["submitted_since"]
            rows = (s for s in rows if s.submitted_at is not None and s.submitted_at > cut)
        if "graded_since" in since:
            cut = since["graded_since"]
            rows = (s for s in rows if s.graded_at is not None and s.graded_at > cut)
        if workflow:
            rows = (s for s in rows if s.workflow_state == workflow)
        selected = rows if isinstance(rows, list) else list(rows)
        key = _submission_key(ctx.args.get("order"), ctx.args.get("order_direction") == "descending")
        if key is not _by_assignment_user:
            selected = sorted(selected, key=key)
        include = frozenset(ctx.values("include"))
        page, link = paginate_bookmarked(selected, key, ctx.args, ctx.link_base)
        return Reply([submission_json(s, inst, include) for s in page], len(page), link)


def _by_assignment_user(s: Submission) -> tuple[int, int]:
    return (s.assignment.id, s.user_id)


def _by_id(s: Submission) -> tuple[int]:
    return (s.id,)


def _by_id_desc(s: Submission) -> tuple[int]:
    return (-s.id,)


def _by_graded_at(s: Submission) -> tuple[int, int, int]:
    return (0, s.graded_at, s.id) if s.graded_at is not None else (1, 0, s.id)


def _by_graded_at_desc(s: Submission) -> tuple[int, int, int]:
    return (0, -s.graded_at, -s.id) if s.graded_at is not None else (-1, 0, -s.id)


def _submission_key(order: str | None, descending: bool) -> Callable[[Submission], tuple[int, ...]]:
    """The sort (and bookmark) key for students/submissions; nulls last ascending, first descending."""
    if order == "id":
        return _by_id_desc if descending else _by_id
    if order == "graded_at":
        return _by_graded_at_desc if descending else _by_graded_at
    return _by_assignment_user
