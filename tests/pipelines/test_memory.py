"""The load library caps glibc's malloc arenas once per process, unless the environment already does."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

CHECK = "from pipelines.memory import limit_malloc_arenas as cap\nprint(cap(), cap())\n"


def _run(env: dict[str, str]) -> str:
    out = subprocess.run(
        [sys.executable, "-c", CHECK], env=env, capture_output=True, text=True, check=True, timeout=60
    )
    return out.stdout.strip()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc arenas exist on Linux only")
def test_the_cap_is_set_once_per_process() -> None:
    env = {k: v for k, v in os.environ.items() if k != "MALLOC_ARENA_MAX"}
    assert _run(env) == "True False"


def test_a_cap_set_in_the_environment_is_left_alone() -> None:
    assert _run({**os.environ, "MALLOC_ARENA_MAX": "4"}) == "False False"
