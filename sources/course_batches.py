"""A run's courses handed out in batches, one batch per extract, so no step's work grows with the institution."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

T = TypeVar("T")


class CourseBatches:
    """The course listing of one run, cut into batches of `size` courses.

    The load library extracts, normalizes and loads one batch per load package
    (pipelines/load.py): the first extract runs the listing to its end, yielding the first batch
    and keeping the rest (one item per course: a course's dict or its id); each later extract
    yields the next batch from what was kept. A source's per-course caches, its key de-dup sets
    and dlt's merge of the package then hold one batch, whatever the institution's size.

    Args:
        size: courses per batch; None or 0 puts every course in one batch.
    """

    def __init__(self, size: int | None = None) -> None:
        self.size = size if size and size > 0 else None
        self.number = 0  # the batch being extracted, from 1
        self._kept: list[Any] = []
        self._listed = 0
        self._shared: dict[str, Any] = {}

    def shared(self, name: str, make: Callable[[], T]) -> T:
        """The run's one `name` object, made by `make` for the first batch's source and handed to
        every later batch's source (an account-level read the batches' courses all use, such as the
        grading period sets: read once per run, and every batch sees the same)."""
        if name not in self._shared:
            self._shared[name] = make()
        return self._shared[name]  # type: ignore[no-any-return]

    @property
    def total(self) -> int:
        """How many batches the listing makes (known once the first batch was extracted)."""
        if self.size is None:
            return 1
        return max(1, -(-self._listed // self.size))

    @property
    def more(self) -> bool:
        """Whether a batch is left to extract after the current one."""
        return 0 < self.number < self.total

    def start_next(self) -> int:
        """Move to the next batch (called by the load library before each extract); its number."""
        self.number += 1
        return self.number

    def take(self, listing: Iterable[Any]) -> Iterator[Any]:
        """This batch's courses: in the first batch from `listing` (run to its end), then from what was kept."""
        if self.number <= 1:
            for course in listing:
                self._listed += 1
                if self.size is None or self._listed <= self.size:
                    yield course
                else:
                    self._kept.append(course)
            return
        assert self.size is not None, "one batch only when size is None"
        start = (self.number - 2) * self.size
        yield from self._kept[start : start + self.size]
        if start + self.size >= len(self._kept):
            self._kept = []  # the last batch: nothing is kept past the run
