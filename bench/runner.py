"""Run one contender in a fresh spawned process (own memory peak, no shared interpreter state)."""

from __future__ import annotations

import multiprocessing as mp
from concurrent.futures import ProcessPoolExecutor
from typing import Any


def in_child(fn: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
    """Call `fn(*args, **kwargs)` in a new process and return its result."""
    with ProcessPoolExecutor(1, mp_context=mp.get_context("spawn")) as pool:
        return pool.submit(fn, *args, **kwargs).result()
