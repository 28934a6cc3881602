"""A local D2L Brightspace (Valence) API simulator with a deterministic synthetic institution."""

from .activity import Changes
from .sandbox import BrightspaceSandbox
from .throttle import ThrottleSettings

__all__ = ["BrightspaceSandbox", "Changes", "ThrottleSettings"]
