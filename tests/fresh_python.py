"""A script run in a fresh Python process: for dlt settings and process state a test must not share."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def run_python(script: str, cwd: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """Run `script` (with `args` as sys.argv[1:]) in a new interpreter in `cwd`, dlt's data under
    `cwd/dlt`, telemetry off and `env` on top of this process's environment; output captured."""
    run_env = {
        **os.environ,
        "DLT_DATA_DIR": str(cwd / "dlt"),
        "RUNTIME__DLTHUB_TELEMETRY": "false",
        **env,
    }
    return subprocess.run(
        [sys.executable, "-c", script, *args],
        cwd=cwd,
        env=run_env,
        capture_output=True,
        text=True,
        timeout=120,
    )
