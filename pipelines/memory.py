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


def settle_process_memory() -> None:
    """The load library's memory settings for this process: `limit_malloc_arenas` and
    `arrow_on_system_allocator` (each once, each left alone when the environment sets it)."""
    limit_malloc_arenas()
    arrow_on_system_allocator()


def arrow_on_system_allocator() -> bool:
    """Give pyarrow the system allocator (the capped glibc malloc) instead of its bundled one.

    pyarrow's default pool (mimalloc or jemalloc) keeps the pages of freed buffers for reuse: each
    load package's parquet writing and arrow conversion left the process about 1 MB bigger, and a
    Canvas large run (40 packages) ended its extracts about 45 MB above where it began. On the system
    allocator with two arenas that run peaked at 456 MB against 504 MB. Nothing is changed when
    `ARROW_DEFAULT_MEMORY_POOL` is set. Returns whether the pool was changed by this call.
    """
    import pyarrow as pa

    if os.environ.get("ARROW_DEFAULT_MEMORY_POOL") or pa.default_memory_pool().backend_name == "system":
        return False
    pa.set_memory_pool(pa.system_memory_pool())
    return True


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
