"""A local D2L Brightspace (Valence) API simulator with a deterministic synthetic institution."""

from .advance import BrightspaceChanges
from .simulator import BrightspaceSandbox
from .throttle import ThrottleSettings

__all__ = ["BrightspaceSandbox", "BrightspaceChanges", "ThrottleSettings"]
