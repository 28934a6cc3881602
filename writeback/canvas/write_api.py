"""Canvas writes (POST, PUT, DELETE) over the read side's governed, retrying session."""

from __future__ import annotations

from typing import Any

from sources.canvas.sender import CanvasSender, CanvasWriteError

__all__ = ["CanvasWriteError", "CanvasWriter"]


class CanvasWriter(CanvasSender):
    """Enrollment and SIS writes through the same connection pool, throttle governor and retry policy
    as reads.

    The writes this project makes are safe to repeat (the shared policy retries throttled replies, 5xx
    and connection failures): Canvas reuses a matching enrollment on re-POST, and state changes
    (conclude, reactivate) are idempotent.
    """

    def put(self, path: str, **kwargs: Any) -> Any:
        return self.send("PUT", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> Any:
        return self.send("DELETE", path, **kwargs)
