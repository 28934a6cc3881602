"""The WSGI app: Canvas routes, auth, throttling, pagination and JSON replies over an Institution."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from werkzeug.datastructures import Headers, MultiDict
from werkzeug.exceptions import HTTPException
from werkzeug.http import HTTP_STATUS_CODES
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from .analytics import SORT_COLUMNS, analytics_of
from .institution import Institution
from .model import Account, Course, Enrollment, Section, Submission
from .pagination import InvalidPage, LinkBase, paginate_bookmarked, paginate_numbered
from .payloads import (
    account_json,
    assignment_json,
    course_json,
    enrollment_json,
    group_json,
    section_json,
    submission_json,
    term_json,
    user_json,
)
from .stats import StatsRecorder
from .throttle import RequestThrottle, throttled_reply
from .timestamps import parse_strict_iso
from .tokens import TokenInfo, TokenStore

try:  # orjson ships with dlt; fall back to the stdlib when absent
    import orjson

    def _dumps(obj: Any) -> bytes:
        return orjson.dumps(obj)

except ImportError:  # pragma: no cover
    import json

    def _dumps(obj: Any) -> bytes:
        return json.dumps(obj, separators=(",", ":")).encode()


log = logging.getLogger(__name__)

NOT_FOUND = {"errors": [{"message": "The specified resource does not exist."}]}
UNAUTHORIZED = {
    "status": "unauthorized",
    "errors": [{"message": "user not authorized to perform that action"}],
}
INVALID_TOKEN = {"errors": [{"message": "Invalid access token."}]}
UNAUTHENTICATED = {"status": "unauthenticated", "errors": [{"message": "user authorization required"}]}
WWW_AUTHENTICATE = ("www-authenticate", 'Bearer realm="canvas-lms"')

COURSE_STATE_ALIASES = {"created": "unpublished", "claimed": "unpublished"}
ENROLLMENT_TYPE_ALIASES = {
    "student": "StudentEnrollment",
    "teacher": "TeacherEnrollment",
    "ta": "TaEnrollment",
    "observer": "ObserverEnrollment",
    "designer": "DesignerEnrollment",
}

# Endpoints as data: (path under /api/v1, handler method). Route names in stats use Canvas's `:id` style.
ROUTES: tuple[tuple[str, str], ...] = (
    ("/accounts", "accounts_index"),
    ("/accounts/<account_id>", "account_show"),
    ("/accounts/<account_id>/sub_accounts", "sub_accounts"),
    ("/accounts/<account_id>/terms", "terms"),
    ("/accounts/<account_id>/courses", "account_courses"),
    ("/accounts/<account_id>/users", "account_users"),
    ("/users/self", "user_self"),
    ("/courses/<course_id>", "course_show"),
    ("/courses/<course_id>/sections", "sections"),
    ("/courses/<course_id>/users", "course_users"),
    ("/courses/<course_id>/enrollments", "course_enrollments"),
    ("/sections/<section_id>/enrollments", "section_enrollments"),
    ("/courses/<course_id>/assignment_groups", "assignment_groups"),
    ("/courses/<course_id>/assignments", "assignments"),
    ("/courses/<course_id>/students/submissions", "course_submissions"),
    ("/sections/<section_id>/students/submissions", "section_submissions"),
    ("/courses/<course_id>/analytics/student_summaries", "analytics_student_summaries"),
    ("/courses/<course_id>/analytics/activity", "analytics_activity"),
)
API_PREFIX = "/api/v1"


class _LowerCaseResponse(Response):
    # Response.set_data would add a capitalised "Content-Length"; we send our own lower-case one.
    automatically_set_content_length = False


class ApiError(Exception):
    """An error reply with a JSON body."""

    def __init__(self, status: int, payload: Any, headers: Iterable[tuple[str, str]] = ()) -> None:
        super().__init__(status)
        self.status = status
        self.payload = payload
        self.headers = list(headers)


@dataclass
class Reply:
    """What a handler produced: JSON payload, number of objects (for cost) and pagination links."""

    payload: Any
    items: int = 1
    link: str | None = None
    status: int = 200
    headers: list[tuple[str, str]] = field(default_factory=list)
    content_type: str | None = None  # a non-JSON reply (bytes payload), e.g. a file download


@dataclass
class Ctx:
    """Per-request facts handlers need."""

    request: Request
    args: MultiDict[str, str]
    token: TokenInfo
    link_base: LinkBase

    def values(self, name: str) -> list[str]:
        """All values of an array param, accepting `name[]` and bare `name`."""
        return self.args.getlist(f"{name}[]") + self.args.getlist(name)

    def flag(self, name: str) -> bool:
        """A boolean param as Canvas's value_to_boolean reads it."""
        return (self.args.get(name) or "").lower() in ("1", "true", "t", "yes", "y", "on")


def _int(value: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise ApiError(404, NOT_FOUND) from None


class CanvasApp:
    """A Canvas-like API over one institution.

    Args:
        inst: The institution to serve.
        tokens: Accepted access tokens.
        throttle: The request throttle.
        stats: Where request outcomes are counted.
        latency: Seconds to sleep per admitted request (emulates a remote server).
    """

    def __init__(
        self,
        inst: Institution,
        tokens: TokenStore,
        throttle: RequestThrottle,
        stats: StatsRecorder,
        latency: float = 0.0,
    ) -> None:
        self.inst = inst
        self.tokens = tokens
        self.throttle = throttle
        self.stats = stats
        self.latency = latency
        self.forbidden_courses: set[int] = set()
        self.url_map = Map([Rule(API_PREFIX + path, endpoint=name, methods=["GET"]) for path, name in ROUTES])
        # the write path (SIS imports, enrollment writes, reports, Progress, files): write_endpoints.py
        self.writes = WriteEndpoints(self)
        self.route_names = {
            name: API_PREFIX + path.replace("<", ":").replace(">", "") for path, name in ROUTES
        }
        self.route_names.update(self.writes.route_names(API_PREFIX))

    # ---- WSGI -----------------------------------------------------------------------------------
    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        request = Request(environ)
        endpoint: str | None = None
        view_args: dict[str, str] = {}
        try:
            endpoint, view_args = self.url_map.bind_to_environ(environ).match()
            route = self.route_names[endpoint]
        except HTTPException:
            matched = self.writes.match(environ)  # the write path's routes, by method
            endpoint, view_args = matched if matched else (None, {})
            route = self.route_names[endpoint] if endpoint else "(unmatched)"
        token = self._token_from(request)
        identifier = f"token:{token}" if token else f"ip:{request.remote_addr}"
        reservation = self.throttle.admit(identifier)
        if reservation is None:
            status, headers, body = throttled_reply(self.throttle.status)
            self.stats.record(route, status, 0.0, throttled=True)
            return self._respond(start_response, status, headers, body, environ)
        if self.latency > 0:
            time.sleep(self.latency)
        try:
            reply = self._dispatch(request, endpoint, view_args, token)
        except ApiError as err:
            reply = Reply(err.payload, items=0, status=err.status, headers=err.headers)
        except Exception:  # a sandbox bug must still answer like a server would
            log.exception("unhandled error serving %s", request.full_path)
            reply = Reply({"errors": [{"message": "An error occurred."}]}, items=0, status=500)
        cost = self.throttle.settings.cost(reply.items)
        remaining = self.throttle.finish(reservation, cost)
        body = reply.payload if isinstance(reply.payload, bytes) else _dumps(reply.payload)
        headers = [("content-type", reply.content_type or "application/json; charset=utf-8")]
        if reply.link:
            headers.append(("link", reply.link))
        headers.extend(reply.headers)
        headers.append(("x-request-cost", repr(cost)))
        headers.append(("x-rate-limit-remaining", repr(round(remaining, 6))))
        self.stats.record(route, reply.status, cost, throttled=False)
        return self._respond(start_response, reply.status, headers, body, environ)

    @staticmethod
    def _respond(
        start_response: Callable[..., Any],
        status: int,
        headers: list[tuple[str, str]],
        body: bytes,
        environ: dict[str, Any],
    ) -> Iterable[bytes]:
        # Header names stay lower-case on the wire, as hosted Canvas sends them since 2024.
        headers = [*headers, ("content-length", str(len(body)))]
        response = _LowerCaseResponse(
            body, status=f"{status} {HTTP_STATUS_CODES.get(status, '')}", headers=Headers(headers)
        )
        return response(environ, start_response)

    @staticmethod
    def _token_from(request: Request) -> str | None:
        auth = request.headers.get("Authorization", "")
        if auth[:7].lower() == "bearer ":
            return auth[7:].strip() or None
        return request.args.get("access_token") or None

    def _dispatch(
        self, request: Request, endpoint: str | None, view_args: dict[str, str], token: str | None
    ) -> Reply:
        if endpoint is None:
            raise ApiError(404, NOT_FOUND)
        if token is None:
            raise ApiError(401, UNAUTHENTICATED)
        info = self.tokens.lookup(token)
        if info is None:
            raise ApiError(401, INVALID_TOKEN, [WWW_AUTHENTICATE])
        ctx = Ctx(
            request, request.args, info, LinkBase.from_request(request.host_url, request.path, request.args)
        )
        handler = getattr(self, endpoint, None) or getattr(self.writes, endpoint)
        try:
            with self.inst.lock:
                self.writes.settle()  # async jobs whose time has come take effect first
                return handler(ctx, **view_args)
        except InvalidPage:
            raise ApiError(404, NOT_FOUND) from None

    # ---- lookups and authorisation -------------------------------------------------------------
    def _account(self, ctx: Ctx, ident: str) -> Account:
        inst = self.inst
        if ident in ("self", "default"):
            account = inst.root
        elif ident.startswith("sis_account_id:"):
            sis = ident.split(":", 1)[1]
            account = next((a for a in inst.accounts if a.sis_account_id == sis), None)  # type: ignore[assignment]
        else:
            account = inst.accounts_by_id.get(_int(ident))  # type: ignore[assignment]
        if account is None:
            raise ApiError(404, NOT_FOUND)
        if not ctx.token.admin:
            raise ApiError(401, UNAUTHORIZED)
        return account

    def _course(self, ctx: Ctx, ident: str) -> Course:
        inst = self.inst
        if ident.startswith("sis_course_id:"):
            course = inst.courses_by_sis.get(ident.split(":", 1)[1])
        else:
            course = inst.courses_by_id.get(_int(ident))
        if course is None:
            raise ApiError(404, NOT_FOUND)
        if not ctx.token.admin or course.id in self.forbidden_courses:
            raise ApiError(401, UNAUTHORIZED)
        return course

    def _section(self, ctx: Ctx, ident: str) -> tuple[Course, Section]:
        inst = self.inst
        if ident.startswith("sis_section_id:"):
            section_id = inst.sections_by_sis.get(ident.split(":", 1)[1], -1)
        else:
            section_id = _int(ident)
        found = inst.sections_by_id.get(section_id)
        if found is None:
            raise ApiError(404, NOT_FOUND)
        course, section = found
        if not ctx.token.admin or course.id in self.forbidden_courses:
            raise ApiError(401, UNAUTHORIZED)
        return course, section

    # ---- accounts ------------------------------------------------------------------------------
    def accounts_index(self, ctx: Ctx) -> Reply:
        """GET /accounts: the accounts the caller administers (the root for an admin)."""
        rows = [self.inst.root] if ctx.token.admin else []
        page, link = paginate_numbered(rows, ctx.args, ctx.link_base)
        return Reply([account_json(a) for a in page], len(page), link)

    def account_show(self, ctx: Ctx, account_id: str) -> Reply:
        """GET /accounts/:id."""
        return Reply(account_json(self._account(ctx, account_id)))

    def sub_accounts(self, ctx: Ctx, account_id: str) -> Reply:
        """GET /accounts/:id/sub_accounts (`recursive=true` for all levels); no rel=last."""
        account = self._account(ctx, account_id)
        if ctx.flag("recursive"):
            rows = self.inst.descendants(account.id)
        else:
            rows = sorted(self.inst.children.get(account.id, []), key=lambda a: a.id)
        page, link = paginate_numbered(rows, ctx.args, ctx.link_base, total_known=False)
        return Reply([account_json(a) for a in page], len(page), link)

    def terms(self, ctx: Ctx, account_id: str) -> Reply:
        """GET /accounts/:id/terms, wrapped in {"enrollment_terms": [...]}; terms belong to the root."""
        account = self._account(ctx, account_id)
        states = set(ctx.values("workflow_state")) or {"active"}
        rows = self.inst.terms if account.id == self.inst.root.id and states & {"active", "all"} else []
        name = ctx.args.get("term_name")
        if name:
            rows = [t for t in rows if name.lower() in t.name.lower()]
        page, link = paginate_numbered(rows, ctx.args, ctx.link_base)
        return Reply({"enrollment_terms": [term_json(t) for t in page]}, len(page), link)

    def account_courses(self, ctx: Ctx, account_id: str) -> Reply:
        """GET /accounts/:id/courses (sub-accounts' courses included); ordered by id; no rel=last."""
        inst = self.inst
        account = self._account(ctx, account_id)
        rows: list[Course] = inst.account_courses[account.id]
        states = {COURSE_STATE_ALIASES.get(s, s) for s in ctx.values("state")}
        if states and "all" not in states:
            rows = [c for c in rows if c.workflow_state in states]
        elif not states:  # the default is all but deleted (SIS imports can delete courses)
            rows = [c for c in rows if c.workflow_state != "deleted"]
        term = ctx.args.get("enrollment_term_id")
        if term:
            term_id = _term_id(inst, term)
            rows = [c for c in rows if c.enrollment_term_id == term_id]
        subs = ctx.values("by_subaccounts")
        if subs:
            allowed = {
                c.id
                for s in subs
                if s.isdigit() and int(s) in inst.account_courses
                for c in inst.account_courses[int(s)]
            }
            rows = [c for c in rows if c.id in allowed]
        if ctx.args.get("published") is not None:
            want = ctx.flag("published")
            rows = [c for c in rows if (c.workflow_state != "unpublished") == want]
        search = ctx.args.get("search_term")
        if search and len(search) >= 3:
            needle = search.lower()
            rows = [
                c
                for c in rows
                if needle in c.name.lower()
                or needle in c.course_code.lower()
                or needle in (c.sis_course_id or "").lower()
            ]
        include_term = "term" in ctx.values("include")
        page, link = paginate_numbered(rows, ctx.args, ctx.link_base, total_known=False)
        return Reply([course_json(c, inst, include_term) for c in page], len(page), link)

    def account_users(self, ctx: Ctx, account_id: str) -> Reply:
        """GET /accounts/:id/users (sort=username|id|sis_id|email|last_login, order); no rel=last."""
        inst = self.inst
        account = self._account(ctx, account_id)
        sort = ctx.args.get("sort") or "username"
        rows = inst.users_by_sortable_name
        if account.id != inst.root.id:  # a sub-account's users are those enrolled in its courses
            ids = {e.user.id for c in inst.account_courses[account.id] for e in c.enrollments}
            rows = [u for u in rows if u.id in ids]
        if sort == "id":
            rows = sorted(rows, key=lambda u: u.id)
        elif sort == "sis_id":
            rows = sorted(rows, key=lambda u: (u.sis_user_id is None, u.sis_user_id or "", u.id))
        elif sort == "email":
            rows = sorted(rows, key=lambda u: (u.email, u.id))
        elif sort == "last_login":
            rows = sorted(rows, key=lambda u: (u.last_login is None, u.last_login or 0, u.id))
        search = ctx.args.get("search_term")
        if search and len(search) >= 3:
            needle = search.lower()
            rows = [
                u
                for u in rows
                if needle in u.name.lower()
                or needle in u.login_id
                or needle in (u.sis_user_id or "").lower()
                or needle in u.email
            ]
        if (ctx.args.get("order") or "asc") == "desc":
            rows = rows[::-1]
        include = frozenset(ctx.values("include"))
        page, link = paginate_numbered(rows, ctx.args, ctx.link_base, total_known=False)
        return Reply([user_json(u, include) for u in page], len(page), link)

    def user_self(self, ctx: Ctx) -> Reply:
        """GET /users/self: the token's user."""
        return Reply(user_json(self.inst.users_by_id[ctx.token.user_id]))

    # ---- courses -------------------------------------------------------------------------------
    def course_show(self, ctx: Ctx, course_id: str) -> Reply:
        """GET /courses/:id (`include[]=term`)."""
        course = self._course(ctx, course_id)
        return Reply(course_json(course, self.inst, "term" in ctx.values("include")))

    def sections(self, ctx: Ctx, course_id: str) -> Reply:
        """GET /courses/:id/sections (`include[]=total_students`)."""
        course = self._course(ctx, course_id)
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
        course = self._course(ctx, course_id)
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
        return self._enrollments(ctx, self._course(ctx, course_id), None)

    def section_enrollments(self, ctx: Ctx, section_id: str) -> Reply:
        """GET /sections/:id/enrollments (bookmark pages)."""
        course, section = self._section(ctx, section_id)
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
            wanted_user = ctx.token.user_id if raw == "self" else _int(raw)
        rows: list[Enrollment] = [
            e
            for e in inst.ordered_enrollments(course)
            if e.state in states
            and (section is None or e.section.id == section.id)
            and (not types or e.type in types)
            and (wanted_user is None or e.user.id == wanted_user)
        ]
        page, link = paginate_bookmarked(rows, _enrollment_key, ctx.args, ctx.link_base)
        grades = inst.grades(course) if any(e.type == "StudentEnrollment" for e in page) else {}
        return Reply([enrollment_json(e, course, inst, grades.get(e.id)) for e in page], len(page), link)

    def assignment_groups(self, ctx: Ctx, course_id: str) -> Reply:
        """GET /courses/:id/assignment_groups (`include[]=assignments`), by position."""
        course = self._course(ctx, course_id)
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
        course = self._course(ctx, course_id)
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
        course = self._course(ctx, course_id)
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
            course, sort_column, _int(raw_student) if raw_student else None
        )
        page, link = paginate_numbered(rows, ctx.args, ctx.link_base)
        return Reply(list(page), len(page), link)

    def analytics_activity(self, ctx: Ctx, course_id: str) -> Reply:
        """GET /courses/:id/analytics/activity: [{date, participations, views}] per day, unpaginated."""
        course = self._analytics_course(ctx, course_id)
        rows = analytics_of(self.inst).activity(course)
        return Reply(rows, len(rows))

    # ---- submissions ---------------------------------------------------------------------------
    def course_submissions(self, ctx: Ctx, course_id: str) -> Reply:
        """GET /courses/:id/students/submissions (bookmark pages)."""
        return self._submissions(ctx, self._course(ctx, course_id), None)

    def section_submissions(self, ctx: Ctx, section_id: str) -> Reply:
        """GET /sections/:id/students/submissions (bookmark pages)."""
        course, section = self._section(ctx, section_id)
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


def _term_id(inst: Institution, raw: str) -> int:
    if raw.startswith("sis_term_id:"):
        sis = raw.split(":", 1)[1]
        return next((t.id for t in inst.terms if t.sis_term_id == sis), -1)
    return int(raw) if raw.isdigit() else -1


def _enrollment_key(e: Enrollment) -> tuple[str, str, int]:
    return (e.type, e.user.sortable_name, e.id)


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


# The write path builds on Reply, Ctx and ApiError above, so it is imported once they exist (at
# module load, so a sandbox's start never pays for it).
from .write_endpoints import WriteEndpoints  # noqa: E402
