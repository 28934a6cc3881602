"""Process-wide memory settings the load library applies before a run's threads start."""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os
import sys

logger = logging.getLogger(__name__)

# glibc's mallopt parameter for the most malloc arenas (malloc.h: M_ARENA_MAX)
M_ARENA_MAX = -8
# arenas for the whole process: glibc's default is 8 per core, and a thread that allocates while
# another holds an arena gets one of its own, which keeps what the thread freed. With the extract
# pool's threads, the parquet writers and DuckDB, that retained memory grew the process between
# load packages; two arenas took 39 MB off a Canvas large run's peak (543 -> 504 MB) in the same time
MALLOC_ARENAS = 2

_applied = False


def limit_malloc_arenas(arenas: int = MALLOC_ARENAS) -> bool:
    """Cap glibc's malloc arenas for this process (once; later arenas obey the cap).

    Nothing is changed when `MALLOC_ARENA_MAX` is set in the environment (glibc read it at start),
    or off Linux and glibc (macOS, musl). Returns whether the cap was set by this call.
    """
    global _applied
    if _applied or os.environ.get("MALLOC_ARENA_MAX") or not sys.platform.startswith("linux"):
        return False
    _applied = True
    name = ctypes.util.find_library("c") or "libc.so.6"
    try:
        mallopt = ctypes.CDLL(name).mallopt
    except (OSError, AttributeError):  # no glibc: its allocator has no arenas to cap
        return False
    if mallopt(M_ARENA_MAX, arenas) != 1:
        logger.debug("mallopt(M_ARENA_MAX, %d) was refused", arenas)
        return False
    return True
