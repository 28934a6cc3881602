"""The state the generator's parts share: one seeded random stream, id counters and the clock.

Every part draws from the same `random.Random` in a fixed order (accounts, terms, users, then per
course: sections, enrollments, gradebook, submissions), so a (size, seed) pair always gives the same
institution. Never the global `random`.
"""

from __future__ import annotations

import random
import string

from ..institution import SIZES, Institution
from ..timestamps import ANCHOR_NOW

_ALNUM = string.ascii_letters + string.digits


class Seeded:
    """The random stream, id counters, clock and the institution being built."""

    def __init__(self, size: str, seed: int) -> None:
        if size not in SIZES:
            raise ValueError(f"unknown size {size!r}; use one of {sorted(SIZES)}")
        self.spec = SIZES[size]
        self.rng = random.Random(f"canvas-sandbox:{size}:{seed}")
        self.inst = Institution(size, seed)
        self.now = ANCHOR_NOW
        self.ids = {
            "account": 1,
            "term": 1,
            "user": 10_001,
            "course": 101,
            "section": 3_001,
            "group": 100_001,
            "assignment": 200_001,
            "enrollment": 500_001,
            "submission": 10_000_001,
            "quiz": 1,
        }
        self.floats: dict[float, float] = {}

    def shared(self, value: float) -> float:
        """One float object per distinct score (scores repeat a lot; saves memory at large size)."""
        return self.floats.setdefault(value, value)

    def next_id(self, kind: str) -> int:
        value = self.ids[kind]
        self.ids[kind] = value + 1
        return value

    def token(self, length: int) -> str:
        return "".join(self.rng.choices(_ALNUM, k=length))

    def between(self, start: int, end: int) -> int:
        """A whole-second time in [start, end], never after now (end wins when the range is empty)."""
        end = min(end, self.now)
        return end if end <= start else self.rng.randint(start, end)


class GeneratorPart:
    """One part of the generator, drawing from the shared `Seeded` state."""

    def __init__(self, seeded: Seeded) -> None:
        self.seeded = seeded
        self.rng = seeded.rng
        self.inst = seeded.inst
        self.spec = seeded.spec
        self.now = seeded.now

    def next_id(self, kind: str) -> int:
        return self.seeded.next_id(kind)

    def token(self, length: int) -> str:
        return self.seeded.token(length)

    def between(self, start: int, end: int) -> int:
        return self.seeded.between(start, end)

    def shared(self, value: float) -> float:
        return self.seeded.shared(value)
