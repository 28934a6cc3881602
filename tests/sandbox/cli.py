"""Run a sandbox command line as a child process the way a user does: until it says it is ready, then
Ctrl-C, which must stop it cleanly (exit status 0)."""

from __future__ import annotations

import signal
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def serving(command: list[str], ready: str) -> Iterator[list[str]]:
    """Start `command`, yield the lines it printed up to the one starting with `ready`, then Ctrl-C it.

    The child is killed if it has not stopped 30 s after the Ctrl-C (never leave a sandbox behind),
    and the test fails unless it exits with status 0.
    """
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        lines = []
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line)
            if line.startswith(ready):
                break
        yield lines
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            _, err = proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise
        assert proc.returncode == 0, err


def printed(lines: list[str], label: str) -> str:
    """The value printed after `label` (e.g. "base URL:") in a sandbox's start-up lines."""
    return next(line.split()[-1] for line in lines if line.startswith(label))
