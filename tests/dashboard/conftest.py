"""One sandbox Canvas load, run by our command, shared by the inspection tests in this folder."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from sandbox.canvas import CanvasSandbox

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "pipelines" / "canvas_pipeline.py"
PIPELINE_NAME = "canvas_pipeline"
# counted by the sandbox only when asked for, beside the nine REST tables of `truth()`
ENGAGEMENT_TABLES = ["student_summaries", "course_activity"]


@dataclass(frozen=True)
class LoadedPipeline:
    """Where the demo load lives and what it must show."""

    cwd: Path
    pipelines_dir: Path
    env: dict[str, str]
    truth: dict[str, int]
    token: str


def inspect_env(data_dir: Path) -> dict[str, str]:
    """The environment a user has at the repo root: no connection settings leaking in from this shell."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SOURCES__", "DESTINATION__"))}
    env.update({"RUNTIME__DLTHUB_TELEMETRY": "false", "DLT_DATA_DIR": str(data_dir)})
    return env


@pytest.fixture(scope="package")
def loaded_canvas(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LoadedPipeline]:
    """`canvas_pipeline.py --no-transform` against the small sandbox, in a fresh folder laid out like the repo root.

    The connection comes from `SOURCES__CANVAS__*` variables as a user would give it, so the token is a real
    secret the inspection output must never show.
    """
    cwd = tmp_path_factory.mktemp("inspect")
    (cwd / ".dlt").mkdir()
    shutil.copy(ROOT / ".dlt" / "config.toml", cwd / ".dlt" / "config.toml")
    env = inspect_env(cwd / "dlt")
    with CanvasSandbox(size="small", seed=7) as sb:
        secrets = {"SOURCES__CANVAS__BASE_URL": sb.base_url, "SOURCES__CANVAS__ACCESS_TOKEN": sb.admin_token}
        result = subprocess.run(
            [sys.executable, str(SCRIPT), "--no-transform"],
            cwd=cwd,
            env={**env, **secrets},
            capture_output=True,
            text=True,
            timeout=240,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        truth = {**sb.truth(), **sb.truth(ENGAGEMENT_TABLES)}
        token = sb.admin_token
    assert (cwd / f"{PIPELINE_NAME}.duckdb").exists(), (
        "the load did not write canvas_pipeline.duckdb in its cwd"
    )
    yield LoadedPipeline(cwd, cwd / "dlt" / "pipelines", env, truth, token)
