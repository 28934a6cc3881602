"""A DAP Query API client on the shared HTTP layer: login, tables, schemas, query jobs, objects.

Follows docs/canvas-data-2.md: client-credentials login with proactive refresh (section 2), the routes
of section 3, jobs polled to a terminal state by the shared poller (section 4), object URLs asked
for in batches and objects downloaded in parallel (section 5), DAP error bodies turned into one clear
line (section 6), and job creation paced to the per-minute limit (section 10).
"""

from __future__ import annotations

import base64
import gzip
import json
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from requests import PreparedRequest, Response
from requests.auth import AuthBase
from requests.exceptions import RequestException

from ..lms_http.client import GovernedClient
from ..lms_http.errors import (
    LmsApiError,
    LmsAuthError,
    LmsNotFoundError,
    LmsPermissionError,
    safe_path,
    translate_transport_error,
)
from ..lms_http.jobs import JobPoller, JobState, PollPolicy
from ..lms_http.retry import RetryPolicy
from ..lms_http.stats import RequestStats
from .settings import (
    CREDENTIALS_HINT,
    DOWNLOAD_WORKERS,
    JOBS_PER_MINUTE,
    OBJECT_URL_BATCH,
    TOKEN_REFRESH_MARGIN,
)

logger = logging.getLogger(__name__)

# DAP counts a minute from when a request arrives; a second more than that keeps our count, taken
# before the request leaves, from ever running ahead of the server's
WINDOW_SECONDS = 61.0


class SnapshotRequiredError(LmsApiError):
    """DAP says the table was reloaded: an incremental query cannot continue, a snapshot is needed."""


class OutOfRangeError(LmsApiError):
    """DAP refused the incremental window (the last `until` is too old or in the future)."""


@dataclass(frozen=True)
class JobResult:
    """A complete query job (section 4)."""

    id: str
    objects: list[str]
    schema_version: int
    at: str | None  # snapshot
    since: str | None  # incremental
    until: str | None  # incremental


class InFlightGovernor:
    """Caps requests in flight (DAP sends no quota headers to pace by; limits are per route)."""

    def __init__(self, max_in_flight: int) -> None:
        self._slots = threading.BoundedSemaphore(max_in_flight)
        self.waits = 0
        self.waited_seconds = 0.0

    def acquire(self) -> int | None:
        self._slots.acquire()
        return None

    def release(
        self, headers: Mapping[str, str] | None = None, throttled: bool = False, ticket: int | None = None
    ) -> None:
        self._slots.release()


class JobLimiter:
    """At most `per_minute` job creations in any minute (section 10; see WINDOW_SECONDS), across threads."""

    def __init__(
        self,
        per_minute: int = JOBS_PER_MINUTE,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.per_minute = max(1, per_minute)
        self._clock, self._sleep = clock, sleep
        self._starts: deque[float] = deque()
        self._lock = threading.Lock()
        self.waited_seconds = 0.0

    def acquire(self) -> None:
        """Block until one more job may be created, then count it."""
        while True:
            with self._lock:
                now = self._clock()
                while self._starts and self._starts[0] <= now - WINDOW_SECONDS:
                    self._starts.popleft()
                if len(self._starts) < self.per_minute:
                    self._starts.append(now)
                    return
                wait = self._starts[0] + WINDOW_SECONDS - now
            self.waited_seconds += wait
            logger.info("DAP allows %d new jobs a minute: waiting %.0f s", self.per_minute, wait)
            self._sleep(wait)


def _jwt_expiry(token: str) -> float | None:
    """The `exp` claim of a JWT, read without verifying it (as the official client does, section 2)."""
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        return float(claims["exp"])
    except (IndexError, KeyError, ValueError, TypeError):
        return None


class DapAuth(AuthBase):
    """Bearer auth that logs in with client credentials and logs in again before `exp` (section 2).

    The secret lives only here and in the Basic header of the login request; it is never logged.
    """

    def __init__(
        self,
        base_url: str,
        client_id: str,
        client_secret: str,
        login: Callable[[str, dict[str, str]], Response],
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._url = f"{base_url}/ids/auth/login"
        self._basic = "Basic " + base64.b64encode(f"{client_id}:{client_secret}".encode()).decode()
        self._login = login
        self._clock = clock
        self._token: str | None = None
        self._expires = 0.0
        self._lock = threading.Lock()

    def __repr__(self) -> str:  # never show the credentials
        return "DapAuth(<credentials hidden>)"

    def token(self, force: bool = False) -> str:
        with self._lock:
            if force or self._token is None or self._expires - self._clock() < TOKEN_REFRESH_MARGIN:
                self._token, self._expires = self._fetch()
            return self._token

    def _fetch(self) -> tuple[str, float]:
        response = self._login(self._url, {"Authorization": self._basic})
        if response.status_code in (400, 401, 403):
            raise LmsAuthError(
                f"Canvas Data 2 rejected the client credentials (HTTP {response.status_code}). "
                f"Set valid ones in {CREDENTIALS_HINT}.",
                response.status_code,
                safe_path(self._url),
            )
        raise_for_dap(response)
        body = response.json()
        token = str(body["access_token"])
        expires = _jwt_expiry(token) or self._clock() + float(body.get("expires_in", 3600))
        return token, expires

    def refresh_on_401(self, request: PreparedRequest) -> bool:
        """Log in again and re-sign `request` (one reactive refresh, section 2); a refused login
        itself is not retried (the official client does not retry it either)."""
        if request.url == self._url:
            return False
        request.headers["Authorization"] = f"Bearer {self.token(force=True)}"
        return True

    def __call__(self, request: PreparedRequest) -> PreparedRequest:
        request.headers["Authorization"] = f"Bearer {self.token()}"
        return request


def _dap_error(response: Response) -> tuple[str, str]:
    """(type, message) of a DAP error body (section 6); empty strings when there is none."""
    try:
        error = response.json().get("error") or {}
        return str(error.get("type") or ""), str(error.get("message") or "")
    except (ValueError, AttributeError):
        return "", ""


def raise_for_dap(response: Response) -> None:
    """Raise one clear error for a DAP error reply (section 6); pass 2xx replies."""
    status = response.status_code
    if status < 400:
        return
    kind, message = _dap_error(response)
    path = safe_path(response.url)
    detail = f"{kind}: {message}" if kind else (message or f"HTTP {status}")
    if kind == "SnapshotRequired" or "snapshot is required" in message.lower():
        raise SnapshotRequiredError(f"Canvas Data 2 on {path}: {detail}", status, path)
    if kind == "OutOfRange" or "outside of the allowed time range" in message:
        raise OutOfRangeError(f"Canvas Data 2 on {path}: {detail}", status, path)
    if status == 401:
        raise LmsAuthError(
            f"Canvas Data 2 rejected the access token on {path} ({detail}). Check {CREDENTIALS_HINT}.",
            status,
            path,
        )
    if status == 403:
        raise LmsPermissionError(
            f"Canvas Data 2 refused {path} ({detail}). The account may not be onboarded to DAP or may "
            "lack this namespace; ask your Instructure admin.",
            status,
            path,
        )
    if status == 404:
        raise LmsNotFoundError(
            f"Canvas Data 2 has no {path} ({detail}). Check the table name and base_url.", status, path
        )
    raise LmsApiError(f"Canvas Data 2 request to {path} failed with HTTP {status} ({detail}).", status, path)


class DapClient:
    """The DAP Query API at `base_url` for one client id.

    Args:
        base_url: e.g. https://api-gateway.instructure.com (no trailing `/dap`).
        client_id: DAP client id.
        client_secret: DAP client secret (used only to log in; never logged).
        jobs_per_minute: job creations allowed per minute (section 10: 5).
        download_workers: objects downloaded at once.
        poll: how often job status is polled.
        policy: retries of 429/5xx/connection failures.
        sleep: how waits happen (tests pass a fake).
        clock: monotonic clock of the job limiter.
    """

    def __init__(
        self,
        base_url: str,
        client_id: str,
        client_secret: str,
        *,
        jobs_per_minute: int = JOBS_PER_MINUTE,
        download_workers: int = DOWNLOAD_WORKERS,
        poll: PollPolicy | None = None,
        policy: RetryPolicy | None = None,
        request_timeout: float = 300.0,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.stats = RequestStats()
        self.download_workers = max(1, download_workers)
        self.http = GovernedClient(
            InFlightGovernor(self.download_workers + 8),
            lambda r: r.status_code == 429,
            policy=policy,
            stats=self.stats,
            request_timeout=request_timeout,
            pool_size=self.download_workers + 8,
            sleep=sleep,
        )
        self.auth = DapAuth(
            self.base_url,
            client_id,
            client_secret,
            lambda url, headers: self._send(
                "POST", url, headers=headers, data={"grant_type": "client_credentials"}
            ),
        )
        self.http._on_unauthorized = self.auth.refresh_on_401
        self.limiter = JobLimiter(jobs_per_minute, clock=clock, sleep=sleep)
        self.poller = JobPoller(
            poll or PollPolicy(first_delay=5.0, factor=1.0, max_delay=5.0), lms="Canvas Data 2", sleep=sleep
        )

    def _send(self, method: str, url: str, **kwargs: Any) -> Response:
        try:
            return self.http.session.request(method, url, **kwargs)
        except RequestException as exc:
            raise translate_transport_error(exc, lms="Canvas Data 2") from None

    def _api(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self._send(method, f"{self.base_url}/dap{path}", auth=self.auth, **kwargs)
        raise_for_dap(response)
        return response.json()

    # ---- routes --------------------------------------------------------------------------------
    def list_tables(self, namespace: str) -> list[str]:
        """Route 1: the namespace's table names."""
        return list(self._api("GET", f"/query/{namespace}/table")["tables"])

    def schema(self, namespace: str, table: str) -> tuple[dict[str, Any], int]:
        """Route 2: (JSON Schema, version)."""
        body = self._api("GET", f"/query/{namespace}/table/{table}/schema")
        return body["schema"], int(body["version"])

    def query(self, namespace: str, table: str, query: dict[str, Any]) -> JobResult:
        """Route 3 then 4: create a query job (within the per-minute limit) and wait for it."""
        self.limiter.acquire()
        job = self._api("POST", f"/query/{namespace}/table/{table}/data", json=query)
        name = f"{namespace}.{table}"
        if job.get("status") not in ("complete", "failed"):
            self.poller.wait(name, job["id"], self._check)
            job = self._api("GET", f"/job/{job['id']}")
        else:
            self._check_state(job)
        return JobResult(
            id=job["id"],
            objects=[o["id"] for o in job.get("objects", [])],
            schema_version=int(job["schema_version"]),
            at=job.get("at"),
            since=job.get("since"),
            until=job.get("until"),
        )

    def _check(self, job_id: str) -> JobState:
        return self._check_state(self._api("GET", f"/job/{job_id}"), raise_failed=False)

    @staticmethod
    def _check_state(job: dict[str, Any], raise_failed: bool = True) -> JobState:
        status = str(job.get("status"))
        error = job.get("error") or {}
        detail = f"{error.get('type', '')}: {error.get('message', '')}".strip(": ") or None
        state = JobState(status, done=status == "complete", failed=status == "failed", detail=detail)
        if raise_failed and state.failed:
            raise LmsApiError(
                f"Canvas Data 2 job {job.get('id')} failed ({detail}). Run again; DAP jobs fail "
                "occasionally on its side."
            )
        return state

    def object_urls(self, object_ids: list[str]) -> dict[str, str]:
        """Route 5, in batches: object id -> pre-signed URL."""
        urls: dict[str, str] = {}
        for start in range(0, len(object_ids), OBJECT_URL_BATCH):
            batch = object_ids[start : start + OBJECT_URL_BATCH]
            body = self._api("POST", "/object/url", json=[{"id": i} for i in batch])
            urls.update({k: v["url"] for k, v in body["urls"].items()})
        return urls

    def download(self, url: str) -> bytes:
        """Route 6: an object's bytes, gunzipped (pre-signed: no Authorization header)."""
        response = self._send("GET", url, stream=True)
        raise_for_dap(response)
        data = response.content
        return gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data

    def objects(self, job: JobResult, object_ids: list[str] | None = None) -> Iterator[bytes]:
        """The objects of a complete job (or the listed ones of it), in job order, downloaded
        `download_workers` at a time; at most that many wait in memory beside the one yielded."""
        ids = job.objects if object_ids is None else object_ids
        urls = self.object_urls(ids)
        return self.download_all([urls[o] for o in ids])

    def download_all(self, urls: list[str]) -> Iterator[bytes]:
        """Objects by pre-signed URL, in order, `download_workers` at a time (bounded window)."""
        with ThreadPoolExecutor(self.download_workers, thread_name_prefix="dap-download") as pool:
            window: deque[Future[bytes]] = deque()
            for url in urls:
                window.append(pool.submit(self.download, url))
                if len(window) > self.download_workers:
                    yield window.popleft().result()
            while window:
                yield window.popleft().result()
