"""The load library's process memory settings: glibc's malloc arenas capped and pyarrow on the system
allocator, once per process, unless the environment already sets them."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

CHECK = """
import pyarrow as pa
from pipelines.memory import arrow_on_system_allocator as pool, limit_malloc_arenas as cap
print(cap(), cap(), pool(), pool(), pa.default_memory_pool().backend_name)
"""


def _run(env: dict[str, str]) -> str:
    out = subprocess.run(
        [sys.executable, "-c", CHECK], env=env, capture_output=True, text=True, check=True, timeout=60
    )
    return out.stdout.strip()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc arenas exist on Linux only")
def test_the_cap_is_set_once_per_process() -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("MALLOC_ARENA_MAX", "ARROW_DEFAULT_MEMORY_POOL")}
    assert _run(env) == "True False True False system"


def test_settings_made_in_the_environment_are_left_alone() -> None:
    env = {**os.environ, "MALLOC_ARENA_MAX": "4", "ARROW_DEFAULT_MEMORY_POOL": "jemalloc"}
    assert _run(env).split()[:4] == ["False", "False", "False", "False"]
