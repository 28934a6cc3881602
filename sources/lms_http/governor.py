"""One throttle governor per token: paces requests from the LMS's own quota headers."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Protocol


class Governor(Protocol):
    """What the HTTP layer needs from a throttle governor (one per token, shared by threads)."""

    waits: int
    waited_seconds: float

    def acquire(self) -> int | None:
        """Block until a request may go out; may return a ticket to hand back to `release`."""
        ...

    def release(
        self, headers: Mapping[str, str] | None = None, throttled: bool = False, ticket: int | None = None
    ) -> None: ...


@dataclass
class LeakyBucketModel:
    """Canvas's request throttle as a client sees it.

    Canvas keeps a leaky bucket per token (docs/canvas-api.md section 2): every request
    reserves `up_front_cost` on arrival, the bucket drains `outflow` units per second, and a request
    that arrives while `x-rate-limit-remaining` (high-water mark minus fill) is <= 0 is refused.
    """

    up_front_cost: float = 50.0
    outflow: float = 10.0
    # headroom kept above zero so drift between our estimate and the server's count (costs
    # charged on completion, a slower leak than assumed) never lands a request past the mark
    margin: float = 20.0
    remaining_header: str = "x-rate-limit-remaining"


class ThrottleGovernor:
    """Admits requests for one token so that the server's throttle is rarely hit.

    Thread-safe: all workers sharing a token share one governor. Before each request call
    `acquire()`; after the reply (or failure) call `release(headers, throttled)`.

    It mirrors the server's bucket: each reading of `x-rate-limit-remaining` resets the estimated
    fill, the fill leaks at the bucket's outflow, and every request we send adds its up-front
    reservation. A request goes out only while the estimated remaining stays above the margin;
    otherwise the caller waits exactly as long as the leak needs, not a fixed sleep.
    """

    def __init__(
        self,
        model: LeakyBucketModel | None = None,
        *,
        max_in_flight: int = 8,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.model = model or LeakyBucketModel()
        self.max_in_flight = max(1, max_in_flight)
        self._clock = clock
        self._cond = threading.Condition()
        self._in_flight = 0
        self._seen = False  # no reading yet: probe with one request at a time
        # the highest remaining ever read stands in for the high-water mark; never below what
        # one request needs, so a low first reading cannot stall the run
        self._ceiling = self.model.up_front_cost + self.model.margin + 1.0
        self._fill = 0.0  # estimated bucket fill below the ceiling
        self._at = clock()
        self._next_ticket = 0
        self._open: set[int] = set()  # tickets of requests in flight
        self.waits = 0
        self.waited_seconds = 0.0

    def _leak(self, now: float) -> None:
        self._fill = max(0.0, self._fill - self.model.outflow * (now - self._at))
        self._at = now

    def _wait_needed(self, now: float) -> float:
        """Seconds to wait before one more request may go out (0 = go now)."""
        if self._in_flight >= self.max_in_flight:
            return float("inf")  # woken by release()
        if not self._seen:
            return 0.0 if self._in_flight == 0 else float("inf")
        self._leak(now)
        # Canvas refuses a request only if the bucket is at the mark when it *arrives*; the
        # reservations of requests we already sent are inside the estimated fill.
        headroom = self._ceiling - self._fill - self.model.margin
        if headroom > 0:
            return 0.0
        if self.model.outflow <= 0:
            return float("inf")
        return max(-headroom / self.model.outflow, 0.001)

    def acquire(self) -> int:
        """Block until a request may be sent, then count it as in flight; returns its ticket."""
        with self._cond:
            waited = False
            start = self._clock()
            while True:
                delay = self._wait_needed(self._clock())
                if delay <= 0:
                    break
                waited = True
                # woken early by release(); a finite delay is the leak time we need
                self._cond.wait(timeout=None if delay == float("inf") else min(delay, 5.0))
            if waited:
                self.waits += 1
                self.waited_seconds += self._clock() - start
            self._in_flight += 1
            self._fill += self.model.up_front_cost
            self._next_ticket += 1
            self._open.add(self._next_ticket)
            return self._next_ticket

    def release(
        self, headers: Mapping[str, str] | None = None, throttled: bool = False, ticket: int | None = None
    ) -> None:
        """Record a finished request and the quota the server reported with it."""
        with self._cond:
            self._in_flight = max(0, self._in_flight - 1)
            self._open.discard(ticket if ticket is not None else min(self._open, default=0))
            value = None
            if headers is not None:
                raw = headers.get(self.model.remaining_header)
                if raw is not None:
                    try:
                        value = float(raw)
                    except ValueError:
                        value = None
            if throttled:
                value = 0.0 if value is None else min(value, 0.0)
            if value is not None:
                self._leak(self._clock())
                self._seen = True
                self._ceiling = max(self._ceiling, value)
                # requests sent before this one arrived before it, so the reading includes their
                # reservations; requests sent after it may have reached the server too late to be
                # counted, so keep their reservations in the estimate
                later = sum(1 for t in self._open if ticket is None or t > ticket)
                self._fill = self._ceiling - value + self.model.up_front_cost * later
            self._cond.notify_all()

    @property
    def in_flight(self) -> int:
        return self._in_flight
