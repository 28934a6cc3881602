"""UTC instants as whole epoch seconds, and their Valence `UTCDateTime` string form."""

from __future__ import annotations

import calendar
import re
import time
from datetime import UTC, datetime

_UTC_RE = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,7}))?)?)?(Z|[+-]00:?00)?$"
)


def epoch(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> int:
    """Whole epoch seconds of a UTC wall time."""
    return calendar.timegm((year, month, day, hour, minute, second, 0, 0, 0))


def to_utc_string(ts: int | None) -> str | None:
    """Format epoch seconds as Valence `UTCDateTime` ("2025-03-14T17:00:00.000Z"); None stays None."""
    if ts is None:
        return None
    return time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(ts))


def to_datetime(ts: int) -> datetime:
    """Epoch seconds as an aware UTC datetime."""
    return datetime.fromtimestamp(ts, tz=UTC)


def parse_utc(text: str) -> float:
    """Parse a UTC date-time query value into epoch seconds (fractions kept).

    Accepts "YYYY-MM-DD", "YYYY-MM-DDTHH:MM[:SS[.fffffff]]" with an optional "Z" or "+00:00".

    Raises:
        ValueError: when the text is not a UTC date-time.
    """
    match = _UTC_RE.match(text.strip())
    if not match:
        raise ValueError(f"{text!r} is not a UTC date-time (expected e.g. 2025-03-14T17:00:00.000Z)")
    year, month, day, hour, minute, second, fraction, _ = match.groups()
    whole = epoch(int(year), int(month), int(day), int(hour or 0), int(minute or 0), int(second or 0))
    return whole + (float("0." + fraction) if fraction else 0.0)
