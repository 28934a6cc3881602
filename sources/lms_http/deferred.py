"""A client made when a source first uses it, so a source can be described without its settings."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, Generic, TypeVar

Client = TypeVar("Client")


class DeferredClient(Generic[Client]):
    """Stands in for the client `make()` returns, and makes it (once, thread-safe) at first use.

    A source built without a client only describes its resources until it runs (Dagster reads
    the resources of a source it never extracts); its settings are resolved when a request is due.
    """

    def __init__(self, make: Callable[[], Client]) -> None:
        self._make = make
        self._client: Client | None = None
        self._lock = threading.Lock()

    def __getattr__(self, name: str) -> Any:
        client = self._client
        if client is None:
            with self._lock:
                if self._client is None:
                    self._client = self._make()
                client = self._client
        return getattr(client, name)
