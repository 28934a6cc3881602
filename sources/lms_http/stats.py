"""Thread-safe request counters for one source run: requests, retries by cause, throttled replies."""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .progress import RetryListener, RetryNotice

logger = logging.getLogger(__name__)


@dataclass
class RequestStats:
    """Counts what the HTTP layer did; shared by every worker thread of one source."""

    requests: int = 0
    throttled: int = 0
    by_status: Counter[int] = field(default_factory=Counter)
    retries: Counter[str] = field(default_factory=Counter)
    # requests that failed for good after the last retry, by cause
    gave_up: Counter[str] = field(default_factory=Counter)
    connection_errors: int = 0
    governor_waits: int = 0
    governor_wait_seconds: float = 0.0
    # scopes (e.g. a course) left out because the token may not read them
    skipped: list[dict[str, Any]] = field(default_factory=list)
    # rows left out for a missing or mistyped key field (endpoint, course_id, key, reason)
    rejected: list[dict[str, Any]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)
    # a progress display's callbacks, told of each retry before its wait starts
    _listeners: list[RetryListener] = field(default_factory=list, repr=False, compare=False)

    def record_response(self, status: int, throttled: bool) -> None:
        with self._lock:
            self.requests += 1
            self.by_status[status] += 1
            if throttled:
                self.throttled += 1

    def record_connection_error(self) -> None:
        with self._lock:
            self.requests += 1
            self.connection_errors += 1

    def record_retry(self, cause: str) -> None:
        with self._lock:
            self.retries[cause] += 1

    def listen(self, listener: RetryListener) -> Callable[[], None]:
        """Call `listener` with each retry notice from now on; returns the call that stops it."""
        with self._lock:
            self._listeners.append(listener)

        def stop() -> None:
            with self._lock:
                if listener in self._listeners:
                    self._listeners.remove(listener)

        return stop

    def announce_retry(self, notice: RetryNotice) -> None:
        """Tell the listeners a retry is about to wait; a failing listener never fails the request."""
        with self._lock:
            listeners = list(self._listeners)
        for listener in listeners:
            try:
                listener(notice)
            except Exception:  # a display problem must not turn into a load failure
                logger.debug("a retry listener failed", exc_info=True)

    def record_gave_up(self, cause: str) -> None:
        with self._lock:
            self.gave_up[cause] += 1

    def record_skipped(self, resource: str, scope: str, scope_id: Any, reason: str) -> None:
        with self._lock:
            self.skipped.append({"resource": resource, scope: scope_id, "reason": reason})

    def record_rejected(self, row: dict[str, Any]) -> None:
        with self._lock:
            self.rejected.append(dict(row))

    def as_dict(self) -> dict[str, Any]:
        """A plain snapshot, safe to print or load as a table row."""
        with self._lock:
            return {
                "requests": self.requests,
                "throttled": self.throttled,
                "connection_errors": self.connection_errors,
                "retries": dict(self.retries),
                "gave_up": dict(self.gave_up),
                "by_status": {str(k): v for k, v in sorted(self.by_status.items())},
                "governor_waits": self.governor_waits,
                "governor_wait_seconds": round(self.governor_wait_seconds, 3),
                "skipped": list(self.skipped),
                "rejected": list(self.rejected),
            }
