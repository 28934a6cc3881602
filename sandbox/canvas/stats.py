"""Thread-safe request counters for the sandbox (by status, by route, throttled, total cost)."""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any


class RequestStats(dict[str, Any]):
    """A snapshot of the counters: a dict (`stats["requests"]`) that also reads as attributes.

    Keys: requests, by_status {status: count}, throttled, by_route {route template: count}, total_cost.
    """

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None

    def as_dict(self) -> dict[str, Any]:
        """The snapshot as a plain dict."""
        return dict(self)


class StatsRecorder:
    """Accumulates per-request outcomes under a lock."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        """Zero every counter."""
        with self._lock:
            self._requests = 0
            self._by_status: Counter[int] = Counter()
            self._by_route: Counter[str] = Counter()
            self._throttled = 0
            self._cost = 0.0

    def record(self, route: str, status: int, cost: float, throttled: bool) -> None:
        """Count one finished request."""
        with self._lock:
            self._requests += 1
            self._by_status[status] += 1
            self._by_route[route] += 1
            self._throttled += int(throttled)
            self._cost += cost

    def snapshot(self) -> RequestStats:
        """A consistent copy of the counters."""
        with self._lock:
            return RequestStats(
                requests=self._requests,
                by_status=dict(self._by_status),
                throttled=self._throttled,
                by_route=dict(self._by_route),
                total_cost=round(self._cost, 6),
            )
