"""A governor for credit windows (Brightspace): paces from X-Rate-Limit-Remaining / -Reset."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from .retry import RETRY_AFTER_CAP


@dataclass
class CreditWindowModel:
    """Brightspace's rate limit as a client sees it (docs/brightspace-api.md section 4).

    Each API app has a bucket of credits (50,000 a minute on D2L's hosts) that refills all at once
    when the window resets; a call costs `X-Request-Cost` credits (10 by default). Normal replies
    carry `X-Rate-Limit-Remaining` (credits left) and `X-Rate-Limit-Reset` (seconds until the
    refill); a 429 carries only `Retry-After`.
    """

    default_cost: float = 10.0
    # credits kept in reserve, so replies that arrive out of order or another client on the same
    # app never push a request past zero
    margin: float = 20.0
    remaining_header: str = "x-rate-limit-remaining"
    reset_header: str = "x-rate-limit-reset"
    cost_header: str = "x-request-cost"
    # a higher count whose reset is this many seconds later than the one we hold is a new window
    # (the header has whole-second resolution on some hosts)
    window_slack: float = 1.0
    # assumed window when a reply reports credits but no reset
    default_window: float = 60.0


def _header(headers: Mapping[str, str], name: str) -> float | None:
    raw = headers.get(name)
    if raw is None:
        # plain dicts (tests, other clients) are not case-insensitive like requests' headers
        for key, value in headers.items():
            if key.lower() == name:
                raw = value
                break
    if raw is None:
        return None
    try:
        return float(str(raw).strip())
    except ValueError:
        return None


class CreditWindowGovernor:
    """Admits requests for one app's credit window so that 429s stay rare. Thread-safe.

    Before each request `acquire()` blocks while the credits left, minus the cost of the requests
    already in flight and of this one, would fall below the margin; it then waits until the
    window's reset instant (or until a reply brings news). `release(headers, throttled)` reads the
    quota headers of each reply. Until the first reading, and again after a reset until the next
    reading, one request at a time probes the new window.
    """

    def __init__(
        self,
        model: CreditWindowModel | None = None,
        *,
        max_in_flight: int = 8,
        clock: Callable[[], float] = time.monotonic,
        max_wait_step: float = 5.0,
    ) -> None:
        self.model = model or CreditWindowModel()
        self.max_in_flight = max(1, max_in_flight)
        self._clock = clock
        self._max_wait_step = max_wait_step
        self._cond = threading.Condition()
        self._in_flight = 0
        self._remaining: float | None = None  # None: no reading for the current window
        self._reset_at = 0.0
        self._cost = self.model.default_cost
        self._next_ticket = 0
        self.waits = 0
        self.waited_seconds = 0.0

    # -- the pacing rule -------------------------------------------------------------------------

    def _wait_needed(self, now: float) -> float:
        """Seconds until one more request may go out (0 = now, inf = until a reply arrives)."""
        if self._in_flight >= self.max_in_flight:
            return float("inf")
        if self._remaining is not None and now >= self._reset_at:
            self._remaining = None  # the window refilled; the next reply tells us by how much
        if self._remaining is None:
            return 0.0 if self._in_flight == 0 else float("inf")
        after = self._remaining - (self._in_flight + 1) * self._cost
        if after >= self.model.margin:
            return 0.0
        # out of credits for this window: wait for the refill (a reply may wake us sooner)
        return max(self._reset_at - now, 0.001)

    def acquire(self) -> int:
        """Block until a request may be sent, then count it as in flight; returns its ticket."""
        with self._cond:
            start = self._clock()
            waited = False
            while True:
                delay = self._wait_needed(self._clock())
                if delay <= 0:
                    break
                waited = True
                self._cond.wait(timeout=None if delay == float("inf") else min(delay, self._max_wait_step))
            if waited:
                self.waits += 1
                self.waited_seconds += self._clock() - start
            self._in_flight += 1
            self._next_ticket += 1
            return self._next_ticket

    def release(
        self, headers: Mapping[str, str] | None = None, throttled: bool = False, ticket: int | None = None
    ) -> None:
        """Record a finished request (or a failure: headers None) and the quota it reported.

        The ticket is accepted for the `Governor` protocol; this model needs no ordering: every
        request still in flight is charged against the last reading, whether or not the server
        counted it already (the conservative reading of out-of-order replies).
        """
        with self._cond:
            self._in_flight = max(0, self._in_flight - 1)
            now = self._clock()
            if headers is not None:
                cost = _header(headers, self.model.cost_header)
                if cost is not None and cost > 0:
                    self._cost = cost
                remaining = _header(headers, self.model.remaining_header)
                reset = _header(headers, self.model.reset_header)
                if throttled:
                    # 429 carries no quota headers: nothing left until Retry-After (or a second)
                    retry_after = _header(headers, "retry-after")
                    wait = min(retry_after, RETRY_AFTER_CAP) if retry_after and retry_after > 0 else 1.0
                    self._remaining = 0.0
                    self._reset_at = now + wait
                elif remaining is not None:
                    if reset is not None:
                        reset_at = now + max(reset, 0.0)
                    elif self._remaining is not None:
                        reset_at = self._reset_at
                    else:
                        reset_at = now + self.model.default_window
                    refilled = remaining > self._remaining if self._remaining is not None else True
                    if (
                        self._remaining is None
                        or now >= self._reset_at
                        or (refilled and reset_at > self._reset_at + self.model.window_slack)
                    ):
                        self._remaining, self._reset_at = remaining, reset_at
                    else:
                        # same window: replies arrive out of order, and the lowest count is the latest
                        self._remaining = min(self._remaining, remaining)
            self._cond.notify_all()

    @property
    def in_flight(self) -> int:
        return self._in_flight

    @property
    def remaining(self) -> float | None:
        return self._remaining


__all__ = ["CreditWindowGovernor", "CreditWindowModel"]
