"""Fault injection for both sandboxes: a `FaultPlan` (rates, schedules, schema drift) and its WSGI middleware."""

from __future__ import annotations

import errno
import json
import logging
import random
import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger(__name__)

# Transport faults a plan can inject, in the order rates are drawn.
FAULT_KINDS: tuple[str, ...] = (
    "500",  # an application error reply
    "502",  # a proxy's bad-gateway page
    "503",  # service unavailable
    "504",  # a proxy's gateway-timeout page
    "reset",  # headers and part of the body, then the connection closes
    "slow",  # the reply starts only after `slow_seconds` (past the client's timeout)
    "truncated",  # status 200, JSON cut in half (a complete HTTP message)
    "malformed",  # status 200, the body is not JSON (Canvas's `while(1);` prefix)
    "html",  # status 200, an HTML error page where JSON was expected
    "loop",  # a page whose next link repeats the previous page's (a pagination loop)
    "revoke",  # the access token is revoked just before this request is served
    "throttle",  # the LMS's own throttled reply
)
SERVER_ERRORS = ("500", "502", "503", "504")

NEW_FIELD = "drift_note"
NESTED_FIELD = "drift_detail"
NESTED_VALUE: dict[str, Any] = {"origin": "sandbox", "revision": 2, "flags": {"beta": True}}

HTML_PAGE = (
    b"<!DOCTYPE html><html><head><title>Service temporarily unavailable</title></head>"
    b"<body><h1>We'll be right back</h1><p>The site is undergoing maintenance.</p></body></html>"
)
# Canvas prepends this to JSON served to sessions without API auth (JSON-hijacking guard)
MALFORMED_PREFIX = b"while(1);"


@dataclass(frozen=True)
class Scheduled:
    """A deterministic fault: `count` consecutive requests get `kind`.

    Args:
        kind: one of `FAULT_KINDS`.
        at: 1-based number of the first request (counted since the plan was set) it may hit;
            None arms it at once ("the next K requests to path P").
        path: a regular expression the request path must match (re.search); None matches all.
        count: how many matching requests get the fault.
    """

    kind: str
    at: int | None = None
    path: str | None = None
    count: int = 1

    def __post_init__(self) -> None:
        _check_kind(self.kind)
        if self.count < 1:
            raise ValueError(f"count must be >= 1, not {self.count}")


@dataclass(frozen=True)
class SchemaDrift:
    """Payload changes between runs: every JSON row gains and changes fields (keys untouched).

    Args:
        new_field: add `drift_note` (text) to every row.
        retype: fields whose numbers turn into text such as "10 points" (a type change).
        nested_object: add `drift_detail`, a nested object, to every row.
    """

    new_field: bool = True
    retype: tuple[str, ...] = ("points_possible", "MaxPoints")
    nested_object: bool = True


@dataclass(frozen=True)
class FaultPlan:
    """What a sandbox injects into its replies. Truth (data, counts, keys) never changes.

    Args:
        seed: seed of the RNG drawing rate-based faults (same seed, same sequence of decisions).
        rates: fault kind -> probability per request (at most one fault per request).
        schedule: deterministic faults (request number N, or the next K requests to path P).
        paths: a regular expression; rate-based faults hit only requests whose path matches.
        max_faults: stop injecting rate-based faults after this many (None: no limit).
        slow_seconds: how long a "slow" reply stalls before it starts.
        retry_after: `Retry-After` seconds on a Brightspace throttled reply.
        drift: payload changes applied to every successful JSON reply, or None.
    """

    seed: int = 0
    rates: Mapping[str, float] = field(default_factory=dict)
    schedule: Sequence[Scheduled] = ()
    paths: str | None = None
    max_faults: int | None = None
    slow_seconds: float = 2.0
    retry_after: int = 1
    drift: SchemaDrift | None = None

    def __post_init__(self) -> None:
        for kind, rate in self.rates.items():
            _check_kind(kind)
            if not 0.0 <= rate <= 1.0:
                raise ValueError(f"rate of {kind!r} must be within [0, 1], not {rate}")
        if sum(self.rates.values()) > 1.0:
            raise ValueError("the fault rates add up to more than 1")


def _check_kind(kind: str) -> None:
    if kind not in FAULT_KINDS:
        raise ValueError(f"unknown fault kind {kind!r}; use one of {FAULT_KINDS}")


@dataclass
class Injected:
    """One fault that was applied."""

    number: int
    kind: str
    path: str


class FaultInjector:
    """Decides, thread-safely and reproducibly, which fault (if any) each request gets."""

    def __init__(self, plan: FaultPlan) -> None:
        self.plan = plan
        self._rng = random.Random(plan.seed)
        self._lock = threading.Lock()
        self._requests = 0
        self._rate_faults = 0
        self._left = [entry.count for entry in plan.schedule]
        self._paths = re.compile(plan.paths) if plan.paths else None
        self._entry_paths = [re.compile(e.path) if e.path else None for e in plan.schedule]
        self.injected: list[Injected] = []

    def decide(self, path: str) -> tuple[int, str | None]:
        """Number this request and pick its fault (None: serve it normally)."""
        with self._lock:
            self._requests += 1
            number = self._requests
            # draw for every request, so the rate sequence does not depend on the schedule
            draw = self._rng.random()
            for i, entry in enumerate(self.plan.schedule):
                if self._left[i] <= 0 or (entry.at is not None and number < entry.at):
                    continue
                pattern = self._entry_paths[i]
                if pattern is not None and not pattern.search(path):
                    continue
                self._left[i] -= 1
                return number, entry.kind
            if self.plan.max_faults is not None and self._rate_faults >= self.plan.max_faults:
                return number, None
            if self._paths is not None and not self._paths.search(path):
                return number, None
            edge = 0.0
            for kind in FAULT_KINDS:
                edge += self.plan.rates.get(kind, 0.0)
                if draw < edge:
                    self._rate_faults += 1
                    return number, kind
            return number, None

    def record(self, number: int, kind: str, path: str) -> None:
        """Note a fault that was actually applied (a loop needs a page with a next link)."""
        with self._lock:
            self.injected.append(Injected(number, kind, path))
            log.info("injected fault %s into request %d (%s)", kind, number, path)

    def counts(self) -> dict[str, int]:
        """Applied faults by kind."""
        with self._lock:
            return dict(Counter(i.kind for i in self.injected))


@dataclass
class Captured:
    """A reply the wrapped app produced, held so a fault can rewrite it."""

    status: str
    headers: list[tuple[str, str]]
    body: bytes

    @property
    def code(self) -> int:
        return int(self.status.split(" ", 1)[0])

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k.lower() == name), None)

    def set_header(self, name: str, value: str) -> None:
        self.headers = [(k, v) for k, v in self.headers if k.lower() != name] + [(name, value)]

    @property
    def is_json(self) -> bool:
        return "json" in (self.header("content-type") or "") and self.code == 200


class ConnectionDropped(ConnectionResetError):
    """Raised inside a reply's body so the server closes the connection mid-body."""


Throttled = Callable[[FaultPlan], tuple[int, list[tuple[str, str]], bytes]]
Revoke = Callable[[dict[str, Any]], None]
LoopPage = Callable[[dict[str, Any], Captured], bool]


class FaultMiddleware:
    """WSGI middleware applying the current `FaultPlan` in front of a sandbox's app.

    Args:
        app: the sandbox's WSGI app.
        throttled: builds the LMS's throttled reply (status, headers, body).
        revoke: revokes the access token(s) a request carries.
        loop_page: rewrites a page's next link to the previous page's (True if it could).
        exempt: paths never faulted (e.g. the OAuth token endpoint).
    """

    def __init__(
        self,
        app: Callable[..., Iterable[bytes]],
        *,
        throttled: Throttled,
        revoke: Revoke,
        loop_page: LoopPage,
        exempt: Callable[[str], bool] = lambda path: False,
    ) -> None:
        self.app = app
        self._throttled = throttled
        self._revoke = revoke
        self._loop_page = loop_page
        self._exempt = exempt
        self.injector: FaultInjector | None = None

    @property
    def plan(self) -> FaultPlan | None:
        return self.injector.plan if self.injector else None

    @plan.setter
    def plan(self, plan: FaultPlan | None) -> None:
        self.injector = FaultInjector(plan) if plan is not None else None

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        injector = self.injector
        path = environ.get("PATH_INFO", "")
        if injector is None or self._exempt(path):
            return self.app(environ, start_response)
        plan = injector.plan
        number, kind = injector.decide(path)
        if kind in SERVER_ERRORS:
            injector.record(number, kind, path)
            return _reply(start_response, int(kind), *_server_error(int(kind)))
        if kind == "throttle":
            injector.record(number, kind, path)
            status, headers, body = self._throttled(plan)
            return _reply(start_response, status, headers, body)
        if kind == "html":
            injector.record(number, kind, path)
            return _reply(start_response, 200, [("content-type", "text/html; charset=utf-8")], HTML_PAGE)
        if kind == "slow":
            injector.record(number, kind, path)
            time.sleep(plan.slow_seconds)
        if kind == "revoke":
            injector.record(number, kind, path)
            self._revoke(environ)
        if kind in (None, "slow", "revoke") and plan.drift is None:
            return self.app(environ, start_response)
        reply = _capture(self.app, environ)
        if plan.drift is not None and reply.is_json:
            reply.body = apply_drift(reply.body, plan.drift)
        if kind == "reset":
            injector.record(number, kind, path)
            start_response(
                reply.status, [*_without_length(reply.headers), ("content-length", str(len(reply.body)))]
            )
            return _dropped_after(reply.body[: max(1, len(reply.body) // 2)])
        if kind == "truncated" and reply.is_json:
            injector.record(number, kind, path)
            reply.body = reply.body[: max(1, len(reply.body) // 2)]
        elif kind == "malformed" and reply.is_json:
            injector.record(number, kind, path)
            reply.body = MALFORMED_PREFIX + reply.body
        elif kind == "loop" and reply.is_json and self._loop_page(environ, reply):
            injector.record(number, kind, path)
        start_response(
            reply.status, [*_without_length(reply.headers), ("content-length", str(len(reply.body)))]
        )
        return [reply.body]


def _capture(app: Callable[..., Iterable[bytes]], environ: dict[str, Any]) -> Captured:
    held: dict[str, Any] = {}

    def start_response(
        status: str, headers: list[tuple[str, str]], exc_info: Any = None
    ) -> Callable[..., Any]:
        held["status"], held["headers"] = status, list(headers)
        return lambda data: None

    result = app(environ, start_response)
    try:
        body = b"".join(result)
    finally:
        close = getattr(result, "close", None)
        if close is not None:
            close()
    return Captured(held["status"], held["headers"], body)


def _without_length(headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
    return [(k, v) for k, v in headers if k.lower() != "content-length"]


def _dropped_after(part: bytes) -> Iterator[bytes]:
    yield part
    # an errno cheroot ignores quietly: it just closes the connection, as a dropped one would
    raise ConnectionDropped(errno.ECONNRESET, "fault injection: connection reset mid-body")


def _reply(
    start_response: Callable[..., Any], status: int, headers: list[tuple[str, str]], body: bytes
) -> list[bytes]:
    from werkzeug.http import HTTP_STATUS_CODES

    start_response(
        f"{status} {HTTP_STATUS_CODES.get(status, '')}",
        [*_without_length(headers), ("content-length", str(len(body)))],
    )
    return [body]


def _server_error(status: int) -> tuple[list[tuple[str, str]], bytes]:
    if status == 500:
        body = json.dumps({"errors": [{"message": "An error occurred."}]}).encode()
        return [("content-type", "application/json; charset=utf-8")], body
    # 502/503/504 come from the proxy in front of the LMS: an HTML page
    title = {502: "502 Bad Gateway", 503: "503 Service Unavailable", 504: "504 Gateway Time-out"}[status]
    body = f"<html><head><title>{title}</title></head><body><h1>{title}</h1></body></html>".encode()
    return [("content-type", "text/html")], body


# -- schema drift --------------------------------------------------------------------------------


def apply_drift(body: bytes, drift: SchemaDrift) -> bytes:
    """Rewrite a JSON reply's rows per `drift`; a body that is not JSON is returned unchanged."""
    try:
        payload = json.loads(body)
    except ValueError:
        return body
    for row in _rows_of(payload):
        if drift.new_field:
            row[NEW_FIELD] = "added by a later LMS release"
        for name in drift.retype:
            value = row.get(name)
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                row[name] = f"{value:g} points"
        if drift.nested_object:
            row[NESTED_FIELD] = json.loads(json.dumps(NESTED_VALUE))
    return json.dumps(payload, separators=(",", ":")).encode()


def _rows_of(payload: Any) -> list[dict[str, Any]]:
    """The row objects of a reply: a list, a Valence envelope, a one-key wrapper, or one object."""
    if isinstance(payload, list):
        return [r for r in payload if isinstance(r, dict)]
    if not isinstance(payload, dict):
        return []
    for envelope in ("Items", "Objects"):
        if isinstance(payload.get(envelope), list):
            return [r for r in payload[envelope] if isinstance(r, dict)]
    if len(payload) == 1:
        (only,) = payload.values()
        if isinstance(only, list):
            return [r for r in only if isinstance(r, dict)]
    return [payload]


# -- command line ----------------------------------------------------------------------------------


def plan_from_spec(spec: str | None, seed: int = 0, drift: bool = False) -> FaultPlan | None:
    """A plan from the command line: `--faults "503=0.05,reset=0.02,throttle=0.1"` (kind=rate).

    Raises:
        ValueError: a malformed entry, an unknown kind or a rate outside [0, 1].
    """
    rates: dict[str, float] = {}
    for entry in filter(None, (part.strip() for part in (spec or "").split(","))):
        kind, sep, rate = entry.partition("=")
        if not sep:
            raise ValueError(f"fault {entry!r}: write kind=rate, e.g. 503=0.05")
        rates[kind.strip()] = float(rate)
    if not rates and not drift:
        return None
    return FaultPlan(seed=seed, rates=rates, drift=SchemaDrift() if drift else None)


def add_fault_arguments(parser: Any) -> None:
    """Add `--faults`, `--fault-seed` and `--drift` to a sandbox's argparse parser."""
    parser.add_argument(
        "--faults",
        default=None,
        help=f"inject faults at rates, e.g. '503=0.05,reset=0.02' (kinds: {', '.join(FAULT_KINDS)})",
    )
    parser.add_argument("--fault-seed", type=int, default=0, help="seed of the fault draws")
    parser.add_argument(
        "--drift", action="store_true", help="serve drifted rows (new, retyped, nested fields)"
    )


# -- helpers the sandboxes use for loops ------------------------------------------------------------


def request_url(environ: dict[str, Any]) -> str:
    """The absolute URL of a request, as the client sent it."""
    from werkzeug.wrappers import Request

    return Request(environ).url


__all__ = [
    "FAULT_KINDS",
    "FaultInjector",
    "FaultMiddleware",
    "FaultPlan",
    "add_fault_arguments",
    "plan_from_spec",
    "NESTED_FIELD",
    "NEW_FIELD",
    "Scheduled",
    "SchemaDrift",
    "apply_drift",
    "request_url",
]
