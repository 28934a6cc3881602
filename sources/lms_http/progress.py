"""Retry notices: what the HTTP layer tells a progress display before it waits to try a request again."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

# How a retry cause (see retry.retry_cause) reads in a sentence: "retrying GET ... after <this>".
CAUSE_TEXT = {
    "throttled": "a throttled reply",
    "server_error": "a server error",
    "timeout": "a timeout",
    "reset": "a dropped connection",
    "connection": "a failed connection (host unreachable or refusing)",
    "malformed": "a reply that was not valid JSON",
    "html": "an HTML page instead of JSON",
}


@dataclass(frozen=True)
class RetryNotice:
    """One retry about to happen: the request, why, which try comes next and after how long.

    Only the URL path is kept: queries can carry ids a log need not hold, never secrets, but a
    path is all a reader needs to see which request is struggling.
    """

    method: str
    path: str
    cause: str
    next_attempt: int
    max_attempts: int
    wait_seconds: float
    status: int | None = None

    @classmethod
    def of(
        cls,
        method: str | None,
        url: str | None,
        cause: str,
        next_attempt: int,
        max_attempts: int,
        wait_seconds: float,
        status: int | None = None,
    ) -> RetryNotice:
        return cls(
            method=method or "GET",
            path=urlsplit(url or "").path or "/",
            cause=cause,
            next_attempt=next_attempt,
            max_attempts=max_attempts,
            wait_seconds=wait_seconds,
            status=status,
        )

    def describe(self) -> str:
        """`retrying GET /api/v1/accounts/self after a server error (HTTP 503): try 3 of 8 in 2.1 s`."""
        why = CAUSE_TEXT.get(self.cause, self.cause)
        if self.status is not None:
            why += f" (HTTP {self.status})"
        return (
            f"retrying {self.method} {self.path} after {why}: "
            f"try {self.next_attempt} of {self.max_attempts} in {self.wait_seconds:.1f} s"
        )


RetryListener = Callable[[RetryNotice], None]

__all__ = ["CAUSE_TEXT", "RetryListener", "RetryNotice"]
