"""`dlt pipeline canvas_pipeline info` and `trace` after our load: our resources and counts, never the token."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from pipelines import canvas_pipeline
from tests.dashboard.conftest import PIPELINE_NAME, LoadedPipeline

# the resources a load with no Roll Call folder runs (rollcall_attendance needs --rollcall-dir)
RESOURCES = [name for name in canvas_pipeline.RESOURCES if name != "rollcall_attendance"]


def dlt_pipeline(loaded: LoadedPipeline, *args: str) -> str:
    """Run `dlt pipeline --pipelines-dir DIR canvas_pipeline ARGS` from the load's folder; returns stdout+stderr."""
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "dlt",
            "pipeline",
            "--pipelines-dir",
            str(loaded.pipelines_dir),
            PIPELINE_NAME,
            *args,
        ],
        cwd=loaded.cwd,
        env=loaded.env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    return output


def assert_no_secret(output: str, token: str) -> None:
    assert token not in output
    assert token.split("~", 1)[-1][:16] not in output  # not even a fragment of the token body


def test_info_names_our_resources_without_the_token(loaded_canvas: LoadedPipeline) -> None:
    out = dlt_pipeline(loaded_canvas, "info")
    assert f"pipeline_name: {PIPELINE_NAME}" in out and "dataset_name: canvas" in out
    listed = set(re.findall(r"^(\w+) with \d+ table\(s\)", out, flags=re.MULTILINE))
    assert listed == set(RESOURCES), out
    # -vv adds the sources' state (the submissions cursors): still no secret in it
    verbose = dlt_pipeline(loaded_canvas, "info", "-vv")
    assert '"submissions"' in verbose
    assert_no_secret(out + verbose, loaded_canvas.token)


@pytest.mark.parametrize("verbosity", [[], ["-vv"]], ids=["trace", "trace-vv"])
def test_trace_counts_our_tables_without_the_token(
    loaded_canvas: LoadedPipeline, verbosity: list[str]
) -> None:
    out = dlt_pipeline(loaded_canvas, "trace", *verbosity)
    assert "COMPLETED" in out and "Step load COMPLETED" in out
    normalized = {t: int(n) for t, n in re.findall(r"^- (\w+): (\d+) row\(s\)", out, flags=re.MULTILINE)}
    assert {t: normalized.get(t) for t in loaded_canvas.truth} == loaded_canvas.truth
    assert_no_secret(out, loaded_canvas.token)
