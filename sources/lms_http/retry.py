"""Retry policy: which replies are worth another try, and how long to wait (exponential, jittered)."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

from requests import HTTPError, Response
from requests.exceptions import ChunkedEncodingError, ConnectionError, Timeout
from tenacity import RetryCallState

from .reply_check import BadReply

# Retry-After from the server wins over our own backoff, within this cap (seconds).
RETRY_AFTER_CAP = 300.0

ThrottleTest = Callable[[Response], bool]


@dataclass
class RetryPolicy:
    """How the HTTP layer retries.

    Throttled replies, 5xx, connection failures (refused, reset, timed out) and 2xx replies whose
    body is not the JSON the API sends (truncated, malformed, an HTML page) are retried with full-jitter exponential
    backoff (`base * 2**n`, capped at `max_delay`, a random point below it); a `Retry-After`
    header is honoured when the server sends one. 401, non-throttling 403 and other 4xx are
    never retried: they fail at once with a clear error.
    """

    max_attempts: int = 8
    base_delay: float = 1.0
    max_delay: float = 60.0
    jitter: bool = True


def response_of(state: RetryCallState) -> Response | None:
    """The reply behind a tenacity attempt, whether it returned or raised HTTPError."""
    outcome = state.outcome
    if outcome is None:
        return None
    exc = outcome.exception()
    if exc is not None:
        return exc.response if isinstance(exc, HTTPError) else None
    result = outcome.result()
    return result if isinstance(result, Response) else None


def retry_cause(state: RetryCallState, is_throttled: ThrottleTest) -> str | None:
    """Why this attempt should be retried, or None when it should not.

    Causes: "throttled", "server_error" (5xx), "timeout", "reset" (a connection dropped, also
    mid-body), "connection" (could not connect), "malformed" (truncated or invalid JSON with a 2xx)
    and "html" (an HTML page with a 2xx).
    """
    outcome = state.outcome
    if outcome is None:
        return None
    exc = outcome.exception()
    if isinstance(exc, BadReply):
        return exc.cause
    if isinstance(exc, Timeout):
        return "timeout"
    if isinstance(exc, ChunkedEncodingError):
        return "reset"
    if isinstance(exc, ConnectionError) and not isinstance(exc, HTTPError):
        return "reset" if _was_reset(exc) else "connection"
    response = response_of(state)
    if response is None:
        return None
    if is_throttled(response):
        return "throttled"
    if 500 <= response.status_code < 600:
        return "server_error"
    return None


def _was_reset(exc: BaseException) -> bool:
    """Whether a connection error is the peer dropping an open connection (not a refused connect)."""
    text = repr(exc)
    return any(mark in text for mark in ("Connection aborted", "ConnectionReset", "RemoteDisconnected"))


def retry_after_seconds(response: Response | None) -> float | None:
    """Seconds from a numeric Retry-After header, if the reply has a usable one."""
    if response is None:
        return None
    raw = response.headers.get("Retry-After")
    if raw is None:
        return None
    try:
        seconds = float(raw.strip())
    except ValueError:
        return None
    if seconds <= 0:
        return None
    return min(seconds, RETRY_AFTER_CAP)


def backoff_seconds(policy: RetryPolicy, attempt: int, rng: random.Random | None = None) -> float:
    """Delay before retry number `attempt` (1-based): capped exponential with full jitter."""
    ceiling = min(policy.max_delay, policy.base_delay * (2 ** (attempt - 1)))
    if not policy.jitter:
        return ceiling
    # keep at least a tenth of the ceiling so a jittered retry is never an instant hammer
    return (rng or random).uniform(ceiling / 10, ceiling)
