"""One read of a collection serves every resource of a run that needs it.

Two resources of one source often need the same per-course collection in the same run: Canvas's
`assignments` resource and the submissions check both read a course's assignments; Brightspace's
`enrollments` resource and the grade values sync both read a course's classlist. `SharedReads`
lets the first caller fetch and the others take its result, including a caller that arrives while
the fetch is still in flight (it waits for it instead of sending the same request again).

A read is kept until it has been taken `uses` times, or until it falls out of a small
least-recently-used window (`capacity` reads), whichever comes first. A miss only costs the
request it would have cost anyway, never correctness. Failed reads are not kept: every caller
waiting on one gets its error, and a later caller fetches again.

The rows handed out are shared between callers: treat them as read-only.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from concurrent.futures import Future
from typing import Any, TypeVar

T = TypeVar("T")

DEFAULT_CAPACITY = 256


class _Entry:
    __slots__ = ("future", "left")

    def __init__(self, uses: int) -> None:
        self.future: Future[Any] = Future()
        self.left = uses


class SharedReads:
    """A thread-safe, bounded memo of in-flight and finished reads, keyed by the caller."""

    def __init__(self, capacity: int = DEFAULT_CAPACITY) -> None:
        self.capacity = capacity
        self._entries: OrderedDict[Hashable, _Entry] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, key: Hashable, fetch: Callable[[], T], uses: int = 2) -> T:
        """The result of `fetch()` for `key`, fetched once for up to `uses` callers.

        Args:
            key: what identifies the read (for example `("assignments", course_id)`).
            fetch: reads the collection; called by the first caller only.
            uses: how many callers of this run will ask for `key` (the read is dropped after
                the last one takes it).

        Raises:
            Whatever `fetch` raised, to the fetching caller and to every caller waiting on it.
        """
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                self.hits += 1
                entry.left -= 1
                if entry.left <= 0:
                    del self._entries[key]
                else:
                    self._entries.move_to_end(key)
                owner = False
            else:
                self.misses += 1
                entry = _Entry(uses - 1)
                owner = True
                if entry.left > 0:
                    self._entries[key] = entry
                    while len(self._entries) > self.capacity:
                        self._entries.popitem(last=False)
        if not owner:
            return entry.future.result()
        try:
            result = fetch()
        except BaseException as exc:
            with self._lock:
                if self._entries.get(key) is entry:
                    del self._entries[key]
            entry.future.set_exception(exc)
            raise
        entry.future.set_result(result)
        return result

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)
