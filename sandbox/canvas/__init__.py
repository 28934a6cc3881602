"""Canvas LMS API simulator over a deterministic synthetic institution."""

from .advance import Changes
from .simulator import CanvasSandbox
from .stats import RequestStats
from .throttle import ThrottleSettings

__all__ = ["CanvasSandbox", "Changes", "RequestStats", "ThrottleSettings"]
