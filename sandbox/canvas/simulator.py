"""CanvasSandbox: one synthetic institution served over HTTP, with truth, tokens, throttle and stats."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

from ..faults import Captured, FaultMiddleware, request_url
from ..serving import ServedSandbox, ServerThread
from . import truth
from .advance import Changes, advance_institution, commit_at_cursors
from .analytics import ENGAGEMENT_TABLES, analytics_of, engagement_keys, engagement_rows
from .app import CanvasApp
from .generator import build_institution
from .institution import Institution
from .rollcall import RollCall
from .sis_roster import SisRoster
from .stats import RequestStats, StatsRecorder
from .throttle import RequestThrottle, ThrottleSettings, resolve_throttle, throttled_reply
from .tokens import TokenStore

log = logging.getLogger(__name__)

_NEXT_LINK = re.compile(r'<[^>]*>;\s*rel="next"')


class CanvasSandbox(ServedSandbox):
    """A local Canvas LMS API simulator over a deterministic synthetic institution.

    Args:
        size: "small", "medium" or "large".
        seed: Seed of the institution (same seed, same data).
        throttle: "off", "default", "strict" or a ThrottleSettings.
        throttle_status: Status of throttled replies: 403 (open-source Canvas) or 429 (hosted since 2025-10).
        token_ttl: Lifetime of `admin_token` in seconds (None = never expires).
        host: Interface to bind.
        port: Port to bind (0 = any free port).
        latency: Seconds of server-side delay per request.
    """

    def __init__(
        self,
        size: str = "small",
        seed: int = 7,
        throttle: str | ThrottleSettings = "default",
        throttle_status: int = 403,
        token_ttl: float | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        latency: float = 0.0,
    ) -> None:
        if throttle_status not in (403, 429):
            raise ValueError(f"throttle_status must be 403 or 429, not {throttle_status}")
        self.size = size
        self.seed = seed
        self.host = host
        self.port = port
        self.institution: Institution = build_institution(size, seed)
        # Roll Call's statuses set the "Roll Call Attendance" grades; the SIS roster is the one the
        # institution came from (both fixed now, before any request or advance())
        self._rollcall = RollCall(self.institution)
        self._sis_roster = SisRoster(self.institution)
        self._tokens = TokenStore(seed)
        self._throttle = RequestThrottle(resolve_throttle(throttle), throttle_status)
        self._stats = StatsRecorder()
        self.admin_token = self._tokens.issue(
            self.institution.admin_user_id, admin=True, ttl_seconds=token_ttl
        )
        self.app = CanvasApp(self.institution, self._tokens, self._throttle, self._stats, latency=latency)
        # transport faults and schema drift sit in front of the app; they never touch the truth
        self._faults = FaultMiddleware(
            self.app,
            throttled=lambda plan: throttled_reply(self._throttle.status),
            revoke=self._revoke_bearer,
            loop_page=_repeat_next_link,
        )
        self._server: ServerThread | None = None

    # ---- lifecycle -----------------------------------------------------------------------------
    def start(self) -> CanvasSandbox:
        """Bind and serve in a background thread.

        Returns:
            self, for chaining.
        """
        if self._server is None:
            self._server = ServerThread(self._faults, self.host, self.port).start()
            log.info("canvas sandbox (%s, seed %s) at %s", self.size, self.seed, self.base_url)
        return self

    @property
    def base_url(self) -> str:
        """`http://host:port` of the running server (the API is under `/api/v1`)."""
        if self._server is None:
            raise RuntimeError("the sandbox is not running; call start() or use it as a context manager")
        return self._server.base_url

    @property
    def root_account_id(self) -> int:
        """Id of the root account."""
        return self.institution.root.id

    # ---- knobs ---------------------------------------------------------------------------------
    @property
    def forbidden_courses(self) -> set[int]:
        """Course ids whose course-scoped endpoints answer 401 "user not authorized" (mutable set)."""
        return self.app.forbidden_courses

    @forbidden_courses.setter
    def forbidden_courses(self, value: set[int]) -> None:
        self.app.forbidden_courses = set(value)

    @property
    def latency(self) -> float:
        """Server-side delay per request, in seconds."""
        return self.app.latency

    @latency.setter
    def latency(self, value: float) -> None:
        self.app.latency = value

    def issue_token(self, ttl_seconds: float | None = None, admin: bool = True) -> str:
        """Issue another access token.

        Args:
            ttl_seconds: Lifetime; None never expires.
            admin: True for the account admin; False for a plain user with no admin rights or enrollments.

        Returns:
            The token.
        """
        inst = self.institution
        return self._tokens.issue(inst.admin_user_id if admin else inst.api_user_id, admin, ttl_seconds)

    def revoke_token(self, token: str) -> None:
        """Revoke a token; later requests with it get 401 Invalid access token."""
        self._tokens.revoke(token)

    def _revoke_bearer(self, environ: dict[str, Any]) -> None:
        auth = environ.get("HTTP_AUTHORIZATION", "")
        if auth[:7].lower() == "bearer " and auth[7:].strip():
            self._tokens.revoke(auth[7:].strip())

    def set_throttle(self, throttle: str | ThrottleSettings, status: int | None = None) -> None:
        """Change throttle settings (and optionally the throttled status) at runtime; buckets are kept."""
        if status is not None and status not in (403, 429):
            raise ValueError(f"throttle status must be 403 or 429, not {status}")
        self._throttle.configure(resolve_throttle(throttle), status)

    @property
    def throttle_settings(self) -> ThrottleSettings:
        """The current throttle settings."""
        return self._throttle.settings

    @property
    def stats(self) -> RequestStats:
        """A snapshot of request counters."""
        return self._stats.snapshot()

    def reset_stats(self) -> None:
        """Zero the request counters."""
        self._stats.reset()

    # ---- write path: async jobs, notifications (write_jobs.py) ---------------------------------
    @property
    def job_step_seconds(self) -> float:
        """Seconds per stage of an async job (SIS import, report, Progress); 0 finishes them at once."""
        return self.app.writes.clock.step_seconds

    @job_step_seconds.setter
    def job_step_seconds(self, value: float) -> None:
        self.app.writes.clock.step_seconds = value

    @property
    def job_clock(self) -> Callable[[], float]:
        """The clock jobs progress by (time.monotonic; tests set a fake they move by hand)."""
        return self.app.writes.clock.clock

    @job_clock.setter
    def job_clock(self, clock: Callable[[], float]) -> None:
        self.app.writes.clock.clock = clock

    @property
    def notifications(self) -> list[tuple[int, int]]:
        """(enrollment id, user id) of every enrollment created with enrollment[notify]=true."""
        return list(self.app.writes.notifications)

    def settle_jobs(self) -> None:
        """Let every async job whose time has come take effect (requests do this too)."""
        with self.institution.lock:
            self.app.writes.settle()

    # ---- truth ---------------------------------------------------------------------------------
    def truth(self, tables: Iterable[str] | None = None) -> dict[str, int]:
        """Row counts a complete admin extract must hold, per table.

        Args:
            tables: Tables to count; default the nine REST tables. `ENGAGEMENT_TABLES`
                ("student_summaries", "course_activity") are counted only when asked for.
        """
        self.settle_jobs()
        if tables is not None:
            return {table: len(self.truth_keys(table)) for table in tables}
        return truth.counts(self.institution)

    def truth_keys(self, table: str) -> set[tuple[Any, ...]]:
        """Primary keys per table: `(id,)`, or `(course_id, assignment_id, user_id)` for submissions.

        Engagement tables: `(course_id, user id)` for student_summaries, `(course_id, "YYYY-MM-DD")`
        for course_activity.
        """
        self.settle_jobs()
        if table in ENGAGEMENT_TABLES:
            return engagement_keys(self.institution, table)
        return truth.keys(self.institution, table)

    def truth_rows(self, table: str) -> list[dict[str, Any]]:
        """The API objects of a table exactly as served with default options (submissions gain `course_id`).

        Enrollments are all states (as with `state[]` listing every state); users without `include[]`.
        Engagement tables are the analytics replies of every course with analytics, plus `course_id`.
        """
        self.settle_jobs()
        if table in ENGAGEMENT_TABLES:
            return engagement_rows(self.institution, table)
        return truth.rows(self.institution, table)

    # ---- engagement, attendance and SIS inputs (analytics.py, rollcall.py, sis_roster.py) ------
    @property
    def analytics_disabled_courses(self) -> set[int]:
        """Course ids whose analytics endpoints answer 404, as where Analytics is not enabled."""
        return analytics_of(self.institution).disabled_courses

    @analytics_disabled_courses.setter
    def analytics_disabled_courses(self, value: set[int]) -> None:
        analytics_of(self.institution).disabled_courses = set(value)

    def write_rollcall_reports(self, folder: Path) -> list[Path]:
        """Write Roll Call account-report CSVs (one per Monday-Sunday week, UTF-8) into `folder`.

        Returns:
            The files written, in week order.
        """
        return self._rollcall.write(Path(folder))

    def rollcall_truth(self) -> list[dict[str, str]]:
        """Every row `write_rollcall_reports` writes, keyed by the CSV header, as written."""
        with self.institution.lock:
            return self._rollcall.truth()

    def write_sis_roster(self, path: Path) -> Path:
        """Write the SIS roster CSV (`course_id,user_id,role,section_id,status`, SIS ids) to `path`."""
        return self._sis_roster.write(Path(path))

    def roster_differences(self) -> dict[str, set[tuple[str, str]]]:
        """What an audit of the SIS roster against Canvas now finds, keyed by (SIS course, SIS user).

        Keys: `missing_in_lms`, `extra_in_lms`, `state_mismatch` (see sis_roster.py). Before any
        `advance()` these are exactly the planted differences.
        """
        return self._sis_roster.differences()

    # ---- evolution -----------------------------------------------------------------------------
    def advance(self, step: int | None = None, until: int | None = None) -> Changes:
        """Move the institution one day (or to `until`, epoch seconds) forward (see advance.py).

        Args:
            step: Step number seeding the day's activity; default the next step.
            until: The new clock, e.g. `timestamps.server_now(client_now, skew)`; default a day on.

        Returns:
            The exact change sets and the new clock.
        """
        inst = self.institution
        with inst.lock:
            return advance_institution(inst, inst.steps_taken + 1 if step is None else step, until)

    def commit_at_cursors(self, lag_seconds: int = 0) -> Changes:
        """Commit work stamped in each course's latest second, after a client read it (advance.py)."""
        inst = self.institution
        with inst.lock:
            return commit_at_cursors(inst, inst.steps_taken + 1, lag_seconds)


def _repeat_next_link(environ: dict[str, Any], reply: Captured) -> bool:
    """A pagination loop: a later page (one asked for with `page=`) whose rel="next" repeats the
    previous page's next link, i.e. this page's own URL (added on a last page). First pages are
    left alone."""
    if "page" not in dict(parse_qsl(environ.get("QUERY_STRING", ""))):
        return False
    own = f'<{request_url(environ)}>; rel="next"'
    link = reply.header("link") or ""
    if 'rel="next"' in link:
        link = _NEXT_LINK.sub(lambda m: own, link)
    else:
        link = f"{link},{own}" if link else own
    reply.set_header("link", link)
    return True
