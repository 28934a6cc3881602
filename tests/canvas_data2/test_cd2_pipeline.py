"""The Canvas Data 2 pipeline command as a user runs it: --demo (the REST demo's institution), a rerun
that loads nothing, missing and wrong credentials in one line."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import duckdb

from pipelines import canvas_data2_pipeline, canvas_pipeline
from sandbox.canvas_data2 import CanvasData2Sandbox

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "pipelines" / "canvas_data2_pipeline.py"


def run_cli(
    args: list[str], cwd: Path, extra_env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOURCES__")}
    env.update({"RUNTIME__DLTHUB_TELEMETRY": "false", "DLT_DATA_DIR": str(cwd / "dlt")}, **(extra_env or {}))
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600
    )


def test_both_demos_serve_the_same_institution_by_default() -> None:
    ours, rest = canvas_data2_pipeline.parse_args(["--demo"]), canvas_pipeline.parse_args(["--demo"])
    assert (ours.size, ours.seed) == (rest.size, rest.seed) == ("small", 7)


def test_demo_loads_a_snapshot_then_a_rerun_loads_nothing(dlt_dir: Path) -> None:
    first = run_cli(["--demo", "--no-transform"], dlt_dir)
    assert first.returncode == 0, first.stderr
    assert "Started the sandbox Canvas Data 2" in first.stdout and "== Canvas Data 2 load ==" in first.stdout
    assert "throttled replies: 0" in first.stdout
    with CanvasData2Sandbox("small", 7) as dap:
        truth = {name: dap.lake.live_count(table) for (_, name), table in dap.tables.items()}
    warehouse = dlt_dir / "canvas_data2_pipeline.duckdb"
    with duckdb.connect(str(warehouse), read_only=True) as con:
        for table, count in truth.items():
            assert con.execute(f"select count(*) from canvas_data2.{table}").fetchone()[0] == count, table
    # a new sandbox is the same lake at the same refresh: the incremental from its `until` is empty
    again = run_cli(["--demo", "--no-transform"], dlt_dir)
    assert again.returncode == 0, again.stderr
    rows_this_run = {
        line.split()[0]: int(line.split()[1])
        for line in again.stdout.splitlines()
        if line.split()[:1] and line.split()[0] in truth
    }
    assert rows_this_run == {table: 0 for table in truth}


def test_without_credentials_it_names_the_settings_and_the_demo(dlt_dir: Path) -> None:
    result = run_cli([], dlt_dir)
    assert result.returncode != 0
    assert "SOURCES__CANVAS_DATA2__CLIENT_ID" in result.stderr and "--demo" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_wrong_secret_fails_in_one_line_without_echoing_it(dlt_dir: Path) -> None:
    with CanvasData2Sandbox("small", 7) as dap:
        result = run_cli(
            ["--tables", "accounts", "--no-transform"],
            dlt_dir,
            {
                "SOURCES__CANVAS_DATA2__BASE_URL": dap.base_url,
                "SOURCES__CANVAS_DATA2__CLIENT_ID": dap.client_id,
                "SOURCES__CANVAS_DATA2__CLIENT_SECRET": "wrong-secret-123",
            },
        )
    assert result.returncode == 1
    assert "rejected the client credentials" in result.stderr
    assert "wrong-secret-123" not in result.stderr + result.stdout
    assert "Traceback" not in result.stderr
