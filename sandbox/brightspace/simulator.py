"""`BrightspaceSandbox`: a local Brightspace (Valence API, OAuth, Data Hub) on loopback."""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

from ..faults import Captured, FaultMiddleware, FaultPlan, request_url
from ..serving import ServedSandbox, ServerThread
from . import truth
from .advance import BrightspaceChanges, advance
from .app import BrightspaceApp
from .content import progress_rows
from .datahub import DataHub
from .institution import Institution
from .oauth import TokenService, derived_secret
from .sis_roster import SisRoster
from .throttle import CreditBucket, ThrottleSettings
from .timestamps import to_datetime

log = logging.getLogger(__name__)


class BrightspaceSandbox(ServedSandbox):
    """A deterministic synthetic Brightspace served over HTTP on loopback.

    The LMS routes live under `base_url` (`/d2l/api/...`); the OAuth token endpoint is served by
    the same server at `token_url`. The data is a pure function of (size, seed); `advance()`
    changes it deterministically. See `truth` for the tables and keys a complete extract holds.
    """

    def __init__(
        self,
        size: str = "small",
        seed: int = 11,
        throttle: str | ThrottleSettings = "default",
        access_token_ttl: float = 3600.0,
        job_step_seconds: float = 0.2,
        host: str = "127.0.0.1",
        port: int = 0,
        latency: float = 0.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """Build the institution (the server starts with `start()`).

        Args:
            size: "small", "medium" or "large".
            seed: the data's seed.
            throttle: a preset name ("off", "default", "strict") or settings.
            access_token_ttl: seconds an access token lives.
            job_step_seconds: seconds an export job spends in each status.
            host: interface to bind.
            port: port to bind (0 picks a free one).
            latency: seconds the server sleeps before handling each request.
            clock: monotonic seconds for token expiry, throttling and job steps (tests pass a fake).
        """
        started = time.perf_counter()
        self.institution = Institution(size, seed)
        self._sis_roster = SisRoster(self.institution)  # the roster the institution came from
        key = self.institution.seed_key
        self.client_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{key}/client"))
        self.client_secret = derived_secret(key, "client-secret", 43)
        self.initial_refresh_token = f"rt.{derived_secret(key, 'refresh-token', 43)}"
        self._tokens = TokenService(
            self.client_id, self.client_secret, self.initial_refresh_token, access_token_ttl, clock
        )
        self._bucket = CreditBucket(_settings(throttle), clock)
        self._hub = DataHub(self.institution, job_step_seconds, clock)
        self._app = BrightspaceApp(self.institution, self._tokens, self._bucket, self._hub, latency)
        # transport faults and schema drift sit in front of the app (the token endpoint is exempt);
        # they never touch the truth
        self._faults = FaultMiddleware(
            self._app,
            throttled=_throttled_reply,
            revoke=lambda environ: self._tokens.revoke_access_tokens(),
            loop_page=_repeat_next_page,
            exempt=lambda path: path == "/core/connect/token",
        )
        self._host, self._port = host, port
        self._server: ServerThread | None = None
        log.info("built %s institution (seed %s) in %.2fs", size, seed, time.perf_counter() - started)

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> BrightspaceSandbox:
        """Start serving in a background thread."""
        if self._server is None:
            self._server = ServerThread(self._faults, self._host, self._port).start()
            log.info("Brightspace sandbox serving at %s", self._server.base_url)
        return self

    @property
    def app(self) -> BrightspaceApp:
        """The WSGI application (for in-process use without a server)."""
        return self._app

    @property
    def base_url(self) -> str:
        """The LMS host, e.g. "http://127.0.0.1:PORT"."""
        if self._server is None:
            raise RuntimeError("the sandbox is not serving; call start() first")
        return self._server.base_url

    @property
    def token_url(self) -> str:
        """The OAuth 2.0 token endpoint."""
        return f"{self.base_url}/core/connect/token"

    # -- auth, throttling, faults ----------------------------------------------------------

    def issue_refresh_token(self) -> str:
        """Mint another valid refresh token (a new grant chain)."""
        return self._tokens.issue_refresh_token()

    def revoke_access_tokens(self) -> None:
        """Make every current access token invalid (401 from then on)."""
        self._tokens.revoke_access_tokens()

    def set_throttle(self, throttle: str | ThrottleSettings) -> None:
        """Change the rate limits (a preset name or settings); the bucket starts full."""
        self._bucket.configure(_settings(throttle))

    @property
    def throttle(self) -> ThrottleSettings:
        """The rate limits in force."""
        return self._bucket.settings

    @property
    def latency(self) -> float:
        """Seconds the server sleeps before each request."""
        return self._app.latency

    @latency.setter
    def latency(self, seconds: float) -> None:
        self._app.latency = seconds

    @property
    def fail_next_export(self) -> bool:
        """When True, the next export job submitted ends in Status 3 (Error)."""
        return self._hub.fail_next_export

    @fail_next_export.setter
    def fail_next_export(self, value: bool) -> None:
        self._hub.fail_next_export = value

    def fail_next(self, count: int = 1, status: int = 503) -> None:
        """Make the next `count` authenticated API calls answer `status` (a transient fault)."""
        self._app.faults.add(count, status)

    @property
    def stats(self) -> dict[str, Any]:
        """Counters: requests, by_status, throttled, by_route, token_requests, refreshes_rejected."""
        return self._app.stats.snapshot(self._tokens.refreshes_rejected)

    def reset_stats(self) -> None:
        """Zero the request counters."""
        self._app.stats.reset()
        self._tokens.refreshes_rejected = 0

    # -- data ------------------------------------------------------------------------------

    @property
    def now(self) -> datetime:
        """The sandbox's clock (UTC); all data is dated at or before it."""
        return to_datetime(self.institution.now)

    def truth(self) -> dict[str, int]:
        """Exact row counts a complete extract must hold, by table."""
        return truth.counts(self.institution)

    def truth_keys(self, table: str) -> set[tuple[Any, ...]]:
        """Primary keys of a table (see `sandbox.brightspace.truth` for each table's key).

        `content_user_progress` (not in `truth()`): (OrgUnitId, ObjectId, UserId).
        """
        if table == "content_user_progress":
            return {(r["OrgUnitId"], r["ObjectId"], r["UserId"]) for r in progress_rows(self.institution)}
        return truth.keys(self.institution, table)

    def truth_rows(self, table: str) -> list[dict[str, Any]]:
        """Rows of a table as the API or data set serves them.

        `content_user_progress`: UserProgressData of `{ou}/content/userprogress/` plus OrgUnitId.
        """
        if table == "content_user_progress":
            return progress_rows(self.institution)
        return truth.rows(self.institution, table)

    def write_sis_roster(self, path: Path) -> Path:
        """Write the SIS roster CSV (`course_id,user_id,role,section_id,status`: offering code,
        OrgDefinedId, ...) to `path`; see sis_roster.py for the differences planted in it."""
        return self._sis_roster.write(Path(path))

    def roster_differences(self) -> dict[str, set[tuple[str, str]]]:
        """What an audit of the roster against Brightspace now finds, keyed by (offering code,
        OrgDefinedId): `missing_in_lms`, `extra_in_lms`, `state_mismatch`."""
        return self._sis_roster.differences()

    def advance(self, step: int | None = None) -> BrightspaceChanges:
        """Move the clock forward `step` seconds (default a day) and change data deterministically."""
        changes = advance(self.institution, step)
        self._hub.mark_extract_time()
        return changes


def _throttled_reply(plan: FaultPlan) -> tuple[int, list[tuple[str, str]], bytes]:
    """Brightspace's 429: Retry-After in seconds, no X-Rate-Limit-* headers (KB 1195)."""
    body = json.dumps({"Errors": [{"Message": "Too Many Requests"}]}).encode()
    return 429, [("Content-Type", "application/json"), ("Retry-After", str(plan.retry_after))], body


def _repeat_next_page(environ: dict[str, Any], reply: Captured) -> bool:
    """A pagination loop: a later page (one asked for with a bookmark) that points at itself again,
    last pages included: PagedResultSet repeats the request's Bookmark with HasMoreItems, and
    ObjectListPage repeats its Next URL."""
    bookmark = dict(parse_qsl(environ.get("QUERY_STRING", ""))).get("bookmark")
    if not bookmark:
        return False
    try:
        body = json.loads(reply.body)
    except ValueError:
        return False
    if not isinstance(body, dict):
        return False
    if isinstance(body.get("PagingInfo"), dict):
        body["PagingInfo"] = {"Bookmark": bookmark, "HasMoreItems": True}
    elif "Objects" in body:
        body["Next"] = request_url(environ)
    else:
        return False
    reply.body = json.dumps(body, separators=(",", ":")).encode()
    return True


def _settings(throttle: str | ThrottleSettings) -> ThrottleSettings:
    return throttle if isinstance(throttle, ThrottleSettings) else ThrottleSettings.preset(throttle)
