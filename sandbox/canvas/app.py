"""The WSGI app: auth, throttling, JSON replies and dispatch to the route rooms (routes/) over an
Institution."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from typing import Any

from werkzeug.datastructures import Headers
from werkzeug.exceptions import HTTPException
from werkzeug.http import HTTP_STATUS_CODES
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request

from .http import (
    API_PREFIX,
    INVALID_TOKEN,
    NOT_FOUND,
    UNAUTHENTICATED,
    WWW_AUTHENTICATE,
    ApiError,
    Ctx,
    LowerCaseResponse,
    Reply,
    dumps,
)
from .institution import Institution
from .lookups import Lookups
from .pagination import InvalidPage, LinkBase
from .routes import Room
from .routes.accounts import AccountRoutes
from .routes.courses import CourseRoutes
from .routes.enrollments import EnrollmentWriteRoutes
from .routes.grading import GradingRoutes
from .routes.progress import ProgressRoutes
from .routes.reports import ReportRoutes
from .routes.sis_imports import SisImportRoutes
from .routes.submissions import SubmissionRoutes
from .stats import StatsRecorder
from .throttle import RequestThrottle, throttled_reply
from .tokens import TokenStore
from .write_jobs import WriteJobs

log = logging.getLogger(__name__)

# The rooms this app serves: reads first, then the write path (SIS imports, enrollment writes,
# account reports, Progress and files).
ROOMS: tuple[type[Room], ...] = (
    AccountRoutes,
    CourseRoutes,
    GradingRoutes,
    SubmissionRoutes,
    SisImportRoutes,
    EnrollmentWriteRoutes,
    ReportRoutes,
    ProgressRoutes,
)
_ROUTE_MAP: Map | None = None  # built on first use, shared by every sandbox in the process


def route_map() -> Map:
    """Every room's routes, matched per method. Built once per process, on first use: werkzeug
    compiles every rule, which would slow each sandbox start."""
    global _ROUTE_MAP
    if _ROUTE_MAP is None:
        _ROUTE_MAP = Map(
            [
                Rule(prefix + path, endpoint=name, methods=[method])
                for room in ROOMS
                for routes, prefix in ((room.ROUTES, API_PREFIX), (room.SITE_ROUTES, ""))
                for method, path, name in routes
            ]
        )
    return _ROUTE_MAP


def route_names() -> dict[str, str]:
    """Stats names per handler: Canvas's `:id` style, prefixed by the method when it is not GET."""
    names = {}
    for room in ROOMS:
        for routes, prefix in ((room.ROUTES, API_PREFIX), (room.SITE_ROUTES, "")):
            for method, path, name in routes:
                template = prefix + path.replace("<", ":").replace(">", "")
                names[name] = template if method == "GET" else f"{method} {template}"
    return names


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
        self.find = Lookups(inst)
        self.writes = WriteJobs(inst)
        self.handlers: dict[str, Callable[..., Reply]] = {}
        for room_type in ROOMS:
            room = room_type(inst, self.find, self.writes)
            for _, _, name in room.ROUTES + room.SITE_ROUTES:
                self.handlers[name] = getattr(room, name)
        self.route_names = route_names()

    @property
    def forbidden_courses(self) -> set[int]:
        """Courses whose requests answer 401 (a test's way to revoke access to one course)."""
        return self.find.forbidden_courses

    @forbidden_courses.setter
    def forbidden_courses(self, value: set[int]) -> None:
        self.find.forbidden_courses = set(value)

    # ---- WSGI -----------------------------------------------------------------------------------
    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        request = Request(environ)
        endpoint: str | None = None
        view_args: dict[str, str] = {}
        try:
            endpoint, view_args = route_map().bind_to_environ(environ).match()
            route = self.route_names[endpoint]
        except HTTPException:
            route = "(unmatched)"
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
        body = reply.payload if isinstance(reply.payload, bytes) else dumps(reply.payload)
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
        response = LowerCaseResponse(
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
        handler = self.handlers[endpoint]
        try:
            with self.inst.lock:
                self.writes.settle()  # async jobs whose time has come take effect first
                return handler(ctx, **view_args)
        except InvalidPage:
            raise ApiError(404, NOT_FOUND) from None
