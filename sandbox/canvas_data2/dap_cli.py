"""The unmodified official `dap` CLI (instructure-dap-client) in a venv of its own, for the tests and the
benchmark that run it against this sandbox.

The client hard-pins aiohttp, PyJWT and others (docs/canvas-data-2.md section 1), so it cannot share our
environment; the venv is made once in a folder the caller keeps (the pytest cache, the bench's).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

DAP_CLIENT = "instructure-dap-client[postgresql]>=2.3,<2.4"  # 2.3.1 when written


class DapClientUnavailable(Exception):
    """pip could not install the client (no package index reachable, for example)."""


def dap_executable(folder: Path) -> Path:
    """The `dap` executable of a venv in `folder`, made (and the client installed) if missing.

    Raises:
        DapClientUnavailable: pip failed; the message has its last line.
    """
    exe = folder / "bin" / "dap"
    if not exe.exists():
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(folder)], check=True, timeout=300)
        done = subprocess.run(
            [str(folder / "bin" / "pip"), "install", "-q", DAP_CLIENT],
            capture_output=True,
            text=True,
            timeout=900,
        )
        if done.returncode != 0 or not exe.exists():
            last = (done.stderr.strip().splitlines() or ["no output"])[-1]
            raise DapClientUnavailable(f"pip could not install {DAP_CLIENT}: {last}")
    return exe
