"""Brightspace rate limiting: a credit bucket per API app that refills every minute (KB 1195/1396).

The bucket holds `credits_per_window` credits; each call spends its cost. The bucket is a fixed
window: it starts with the first call after the previous window ended and refills completely
`window_seconds` later. A call that finds fewer credits left than it costs gets 429 with
`Retry-After` (whole seconds until the refill) and none of the X-Rate-Limit-* headers; every other
reply carries X-Rate-Limit-Remaining, X-Rate-Limit-Reset (whole seconds until the refill) and
X-Request-Cost. Rejected calls spend nothing. With limiting off ("off") the headers are still sent
and nothing is ever rejected.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ThrottleSettings:
    """How the sandbox limits calls.

    Attributes:
        enabled: False = never reject (headers are still sent).
        credits_per_window: bucket size (Brightspace: 50,000 per minute).
        window_seconds: refill period (Brightspace: 60).
        cost_per_call: credits one call spends (Brightspace: 10).
    """

    enabled: bool = True
    credits_per_window: int = 50_000
    window_seconds: float = 60.0
    cost_per_call: int = 10

    @classmethod
    def preset(cls, name: str) -> ThrottleSettings:
        """A named preset: "off", "default" (Brightspace's numbers) or "strict" (10 calls a minute).

        Raises:
            ValueError: for an unknown name.
        """
        presets = {
            "off": cls(enabled=False),
            "default": cls(),
            "strict": cls(credits_per_window=100),
        }
        if name not in presets:
            raise ValueError(f"unknown throttle preset {name!r}; choose one of {', '.join(presets)}")
        return presets[name]


@dataclass(frozen=True, slots=True)
class Decision:
    """The bucket's answer for one call."""

    allowed: bool
    headers: dict[str, str]


class CreditBucket:
    """One app's credit bucket; thread-safe, with an injectable monotonic clock."""

    def __init__(self, settings: ThrottleSettings, clock: Callable[[], float] = time.monotonic) -> None:
        """Create a full bucket.

        Args:
            settings: the limits.
            clock: seconds from any fixed origin (tests pass a fake).
        """
        self._settings = settings
        self._clock = clock
        self._lock = threading.Lock()
        self._window_end: float | None = None
        self._spent = 0

    @property
    def settings(self) -> ThrottleSettings:
        """The limits in force."""
        return self._settings

    def configure(self, settings: ThrottleSettings) -> None:
        """Change the limits; the bucket starts full again."""
        with self._lock:
            self._settings = settings
            self._window_end = None
            self._spent = 0

    def spend(self, cost: int | None = None) -> Decision:
        """Charge one call.

        Args:
            cost: credits for this call (default: the settings' cost per call).

        Returns:
            Whether the call may proceed, and the headers its reply must carry.
        """
        settings = self._settings
        cost = settings.cost_per_call if cost is None else cost
        with self._lock:
            now = self._clock()
            if self._window_end is None or now >= self._window_end:
                self._window_end = now + settings.window_seconds
                self._spent = 0
            remaining = settings.credits_per_window - self._spent
            reset = max(1, math.ceil(self._window_end - now))
            if settings.enabled and remaining < cost:
                return Decision(False, {"Retry-After": str(reset)})
            self._spent += cost
            return Decision(
                True,
                {
                    "X-Rate-Limit-Remaining": str(max(0, remaining - cost)),
                    "X-Rate-Limit-Reset": str(reset),
                    "X-Request-Cost": str(cost),
                },
            )
