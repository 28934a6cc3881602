"""The institution's fixed time anchor and fast ISO-8601 (UTC, whole seconds) formatting."""

from __future__ import annotations

import calendar
import math
import re
import time

DAY = 86_400
HOUR = 3_600

# Every generated event happens at or before this instant (mid fall term 2026), so the data never
# depends on the wall clock. `advance()` moves the sandbox clock forward from here.
ANCHOR_NOW = calendar.timegm((2026, 10, 15, 12, 0, 0, 0, 0, 0))

# Canvas's Api::ISO8601_REGEX shape for `submitted_since` / `graded_since`.
STRICT_ISO_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")

_day_prefix: dict[int, str] = {}
_HH_MM = [f"{m // 60:02d}:{m % 60:02d}:" for m in range(24 * 60)]
_SS_Z = [f"{sec:02d}Z" for sec in range(60)]


def server_now(client_now: float, skew_seconds: float) -> int:
    """The server's clock, in whole epoch seconds, when the client's clock reads `client_now`.

    Servers and clients keep their own clocks (NTP keeps them close, never equal), so a client
    must take its cursors from the server's stamps, never from its own clock.

    Args:
        client_now: The client's clock in epoch seconds (e.g. `time.time()`).
        skew_seconds: How far the server is ahead of the client (negative: behind).
    """
    return math.floor(client_now + skew_seconds)


def epoch(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> int:
    """Seconds since the Unix epoch for a UTC calendar time.

    Args:
        year: Calendar year.
        month: Month 1-12.
        day: Day of month.
        hour: Hour 0-23.
        minute: Minute 0-59.
        second: Second 0-59.

    Returns:
        Integer epoch seconds.
    """
    return calendar.timegm((year, month, day, hour, minute, second, 0, 0, 0))


def iso(ts: int | None) -> str | None:
    """Format epoch seconds as Canvas does (`2026-10-15T12:00:00Z`), passing None through.

    Args:
        ts: Epoch seconds or None.

    Returns:
        The ISO-8601 UTC string, or None.
    """
    if ts is None:
        return None
    day, sec = divmod(ts, DAY)
    prefix = _day_prefix.get(day)
    if prefix is None:
        prefix = time.strftime("%Y-%m-%dT", time.gmtime(day * DAY))
        _day_prefix[day] = prefix
    minutes, seconds = divmod(sec, 60)
    return prefix + _HH_MM[minutes] + _SS_Z[seconds]


def parse_strict_iso(value: str) -> int | None:
    """Parse `YYYY-MM-DDTHH:MM:SSZ` to epoch seconds; None when the text does not have that shape.

    Args:
        value: The query-string value.

    Returns:
        Epoch seconds, or None if invalid.
    """
    if not STRICT_ISO_RE.match(value):
        return None
    try:
        parsed = time.strptime(value, "%Y-%m-%dT%H:%M:%SZ")
    except ValueError:
        return None
    return calendar.timegm(parsed)
