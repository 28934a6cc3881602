"""Time for the sandbox's async jobs (SIS imports, account reports, Progress) and its new-record ids."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from .institution import Institution

# A clock that returns seconds (time.monotonic by default; tests pass a fake they move by hand).
Clock = Callable[[], float]
NEVER = 10**9  # the stage of a job whose step is 0: everything has happened


class JobClock:
    """Moves every sandbox job one stage forward per `step_seconds` of `clock` time.

    Jobs store the clock reading at creation; their stage is computed when they are read, so no
    background thread is needed and a test that owns the clock decides exactly what a poll sees.
    """

    def __init__(self, step_seconds: float = 0.1, clock: Clock = time.monotonic) -> None:
        self.step_seconds = step_seconds
        self.clock = clock

    def now(self) -> float:
        """The current reading of the job clock."""
        return self.clock()

    def stage(self, started: float) -> int:
        """How many whole steps have passed since `started` (NEVER when steps take no time)."""
        if self.step_seconds <= 0:
            return NEVER
        return max(0, int((self.clock() - started) // self.step_seconds))


# Record kinds that get new ids, and the attribute lists they are found in.
_KINDS = ("account", "term", "user", "course", "section", "enrollment")


class IdAllocator:
    """Hands out ids for records the write endpoints create, above every id the institution holds."""

    def __init__(self, inst: Institution) -> None:
        self.inst = inst
        self._next: dict[str, int] = {}

    def _highest(self, kind: str) -> int:
        inst = self.inst
        if kind == "account":
            ids = [a.id for a in inst.accounts]
        elif kind == "term":
            ids = [t.id for t in inst.terms]
        elif kind == "user":
            ids = [u.id for u in inst.users]
        elif kind == "course":
            ids = [c.id for c in inst.courses]
        elif kind == "section":
            ids = [s.id for c in inst.courses for s in c.sections]
        else:
            ids = [e.id for c in inst.courses for e in c.enrollments]
        return max(ids, default=0)

    def next(self, kind: str) -> int:
        """The next free id of `kind` (account, term, user, course, section, enrollment)."""
        if kind not in _KINDS:
            raise ValueError(f"unknown record kind {kind!r}")
        value = self._next.get(kind)
        if value is None:
            value = self._highest(kind) + 1
        self._next[kind] = value + 1
        return value

    def next_submission(self) -> int:
        """The next submission id (shared with `advance()`)."""
        value = self.inst.next_submission_id
        self.inst.next_submission_id = value + 1
        return value


@dataclass
class StoredFile:
    """A file the sandbox serves at /files/:id/download (report output, uploaded SIS data)."""

    id: int
    filename: str
    content_type: str
    data: bytes
    created_at: int
