"""Canvas's per-token leaky-bucket request throttle (app/middleware/request_throttle.rb), in memory."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ThrottleSettings:
    """Bucket parameters (Canvas defaults) and the sandbox's deterministic request-cost model.

    Canvas charges CPU seconds + DB seconds per request. The sandbox stands in a fixed cost:
    `cost_base + cost_per_item * rows_in_the_reply` (a 10-row page costs 0.2, a 100-row page 1.1,
    an error 0.1), so runs are repeatable.
    """

    hwm: float = 600.0
    maximum: float = 800.0
    outflow: float = 10.0
    up_front_cost: float = 50.0
    cost_base: float = 0.1
    cost_per_item: float = 0.01
    enabled: bool = True

    def cost(self, items: int) -> float:
        """The cost of a reply carrying `items` objects.

        Args:
            items: Number of top-level objects serialised in the reply.

        Returns:
            The request cost in Canvas throttle units.
        """
        return round(self.cost_base + self.cost_per_item * max(items, 0), 4)


PRESETS: dict[str, ThrottleSettings] = {
    "default": ThrottleSettings(),
    # Four requests in flight reserve 200 > hwm 120: a client with 4+ concurrent requests is throttled.
    "strict": ThrottleSettings(hwm=120.0, maximum=160.0, outflow=10.0, up_front_cost=50.0),
    "off": ThrottleSettings(enabled=False),
}


def resolve_throttle(throttle: str | ThrottleSettings) -> ThrottleSettings:
    """Turn a preset name or settings object into settings.

    Args:
        throttle: "off", "default", "strict" or a ThrottleSettings.

    Returns:
        The settings.

    Raises:
        ValueError: For an unknown preset name.
    """
    if isinstance(throttle, ThrottleSettings):
        return throttle
    try:
        return PRESETS[throttle]
    except KeyError:
        raise ValueError(
            f"unknown throttle preset {throttle!r}; use one of {sorted(PRESETS)} or a ThrottleSettings"
        ) from None


def throttled_reply(status: int) -> tuple[int, list[tuple[str, str]], bytes]:
    """The reply Canvas sends a throttled request: plain text, remaining 0.0, no Retry-After.

    Args:
        status: 403 (open-source Canvas) or 429 (hosted Canvas since 2025-10).

    Returns:
        (status, headers, body).
    """
    reason = {403: "Forbidden", 429: "Too Many Requests"}.get(status, "Forbidden")
    body = f"{status} {reason} (Rate Limit Exceeded)\n".encode()
    headers = [("content-type", "text/plain; charset=utf-8"), ("x-rate-limit-remaining", "0.0")]
    return status, headers, body


class LeakyBucket:
    """One client's bucket: `count` leaks at `outflow` units per second since `last_touched`."""

    __slots__ = ("count", "last_touched")

    def __init__(self, now: float) -> None:
        self.count = 0.0
        self.last_touched = now

    def leak(self, now: float, outflow: float) -> None:
        """Drain the bucket for the time elapsed since it was last touched (floor 0)."""
        elapsed = max(now - self.last_touched, 0.0)
        self.count = max(self.count - outflow * elapsed, 0.0)
        self.last_touched = now

    def increment(self, amount: float, now: float, settings: ThrottleSettings) -> None:
        """Leak, then add `amount`, capped at `maximum` and floored at 0 (increment_bucket.lua)."""
        self.leak(now, settings.outflow)
        self.count = min(max(self.count + amount, 0.0), settings.maximum)


@dataclass(frozen=True, slots=True)
class Reservation:
    """A request admitted by the throttle, holding its up-front reservation."""

    identifier: str
    up_front_cost: float


class RequestThrottle:
    """Buckets per client identifier; thread-safe; clock injectable for tests."""

    def __init__(
        self, settings: ThrottleSettings, status: int = 403, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.settings = settings
        self.status = status
        self._clock = clock
        self._buckets: dict[str, LeakyBucket] = {}
        self._lock = threading.Lock()

    def configure(self, settings: ThrottleSettings, status: int | None = None) -> None:
        """Change settings (and optionally the throttled status) without clearing buckets."""
        with self._lock:
            self.settings = settings
            if status is not None:
                self.status = status

    def _bucket(self, identifier: str, now: float) -> LeakyBucket:
        bucket = self._buckets.get(identifier)
        if bucket is None:
            bucket = self._buckets[identifier] = LeakyBucket(now)
        return bucket

    def admit(self, identifier: str) -> Reservation | None:
        """Leak, refuse if the bucket is at or over the high-water mark, else reserve the up-front cost.

        Args:
            identifier: The client identifier (Canvas uses the hashed access token).

        Returns:
            A reservation, or None when the request must get the throttled reply.
        """
        with self._lock:
            settings = self.settings
            now = self._clock()
            bucket = self._bucket(identifier, now)
            bucket.leak(now, settings.outflow)
            if settings.enabled and bucket.count >= settings.hwm:
                return None
            bucket.increment(settings.up_front_cost, now, settings)
            return Reservation(identifier, settings.up_front_cost)

    def finish(self, reservation: Reservation, cost: float) -> float:
        """Settle a request: add `cost - up_front_cost` and return `hwm - count` for the header.

        Args:
            reservation: What `admit` returned.
            cost: The request's cost.

        Returns:
            The remaining capacity (`x-rate-limit-remaining`).
        """
        with self._lock:
            now = self._clock()
            bucket = self._bucket(reservation.identifier, now)
            bucket.increment(cost - reservation.up_front_cost, now, self.settings)
            return self.settings.hwm - bucket.count

    def remaining(self, identifier: str) -> float:
        """Current `hwm - count` for a client (after leaking)."""
        with self._lock:
            now = self._clock()
            bucket = self._bucket(identifier, now)
            bucket.leak(now, self.settings.outflow)
            return self.settings.hwm - bucket.count

    def count(self, identifier: str) -> float:
        """Current bucket level for a client (after leaking)."""
        return self.settings.hwm - self.remaining(identifier)
