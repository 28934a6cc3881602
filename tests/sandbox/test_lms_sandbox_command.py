"""The `lms-sandbox` console script (pyproject [project.scripts]): it lists the sandboxes, starts one
through the sandbox's own command line, and refuses an unknown name in one line."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import requests

from sandbox.__main__ import SANDBOXES
from sandbox.canvas import CanvasSandbox
from tests.sandbox.cli import printed, serving

# The installed console script sits beside the interpreter running the tests (the venv's bin/).
LMS_SANDBOX = str(Path(sys.executable).with_name("lms-sandbox"))


def test_help_lists_every_sandbox() -> None:
    done = subprocess.run([LMS_SANDBOX, "--help"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("usage: lms-sandbox ")
    listed = re.findall(r"^    (\S+)", done.stdout, flags=re.MULTILINE)
    assert listed == list(SANDBOXES) == ["canvas", "brightspace", "canvas-data2"]


def test_a_sandbox_help_is_its_own_parser_under_the_command_name() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "sandbox", "brightspace", "--help"], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("usage: python -m sandbox brightspace ")
    assert "--job-step" in done.stdout  # an option only the Brightspace parser has


def test_an_unknown_sandbox_is_refused_in_one_line() -> None:
    done = subprocess.run([LMS_SANDBOX, "moodle"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert done.stderr.splitlines()[-1] == (
        "lms-sandbox: error: argument SANDBOX: invalid choice: 'moodle' (choose from 'canvas', 'brightspace', 'canvas-data2')"
    )


def test_starts_the_canvas_sandbox_and_stops_on_ctrl_c() -> None:
    command = [LMS_SANDBOX, "canvas", "--size", "small", "--seed", "7", "--port", "0", "--throttle", "off"]
    with serving(command, ready="Ctrl-C") as lines:
        base_url, token = printed(lines, "base URL:"), printed(lines, "admin token:")
        assert token == CanvasSandbox(seed=7).admin_token
        r = requests.get(
            f"{base_url}/api/v1/accounts", headers={"Authorization": f"Bearer {token}"}, timeout=30
        )
        assert r.status_code == 200
        assert [a["id"] for a in r.json()] == [CanvasSandbox(seed=7).root_account_id]
