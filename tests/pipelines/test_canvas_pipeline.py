"""The Canvas pipeline command as a user runs it: --demo (with its Roll Call and roster inputs), missing
settings, the inspect CLI."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import duckdb
import psycopg2

from sandbox.canvas import CanvasSandbox
from tests.conftest import POSTGRES_DSN

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "pipelines" / "canvas_pipeline.py"


def run_cli(
    args: list[str], cwd: Path, extra_env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOURCES__")}
    env.update({"RUNTIME__DLTHUB_TELEMETRY": "false", "DLT_DATA_DIR": str(cwd / "dlt")}, **(extra_env or {}))
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )


def test_demo_loads_the_sandbox_and_prints_a_summary(dlt_dir: Path) -> None:
    result = run_cli(["--demo"], dlt_dir)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "Started the sandbox Canvas" in out and "== Canvas load ==" in out
    assert "requests:" in out and "throttled replies:" in out
    # where the data is and what to do next; never the demo's input folders, which the run removes
    warehouse = (dlt_dir / "canvas_pipeline.duckdb").resolve()
    assert f"Your data: dataset canvas in {warehouse}" in out
    assert f'duckdb {warehouse} "select count(*) from canvas.' in out
    assert "dlt pipeline canvas_pipeline show" in out
    assert "demo-inputs" not in out and tempfile.gettempdir() not in out.replace(str(dlt_dir), "")
    # the file inputs too: the Roll Call reports and the SIS roster the demo writes for itself
    assert "Roll Call attendance reports" in out and "SIS roster" in out
    with CanvasSandbox(size="small", seed=7) as sb:
        truth = {
            **sb.truth(),
            **sb.truth(["student_summaries", "course_activity"]),
            "rollcall_attendance": len(sb.rollcall_truth()),
            "sis_roster": len(sb.write_sis_roster(dlt_dir / "roster.csv").read_text().splitlines()) - 1,
        }
    con = duckdb.connect(str(dlt_dir / "canvas_pipeline.duckdb"), read_only=True)
    for table, count in truth.items():
        assert con.execute(f"select count(*) from canvas.{table}").fetchone()[0] == count, table
        # the summary line for the table shows the same figure
        assert any(
            line.split()[:1] == [table] and line.split()[-1] == str(count) for line in out.splitlines()
        ), table
    con.close()
    # dlt's own CLI finds the pipeline by name and lists our resources, without the token
    info = subprocess.run(
        [sys.executable, "-m", "dlt", "pipeline", "canvas_pipeline", "info"],
        cwd=dlt_dir,
        env={**os.environ, "DLT_DATA_DIR": str(dlt_dir / "dlt"), "RUNTIME__DLTHUB_TELEMETRY": "false"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert info.returncode == 0, info.stderr
    assert "submissions" in info.stdout and "enrollments" in info.stdout


def test_without_credentials_it_names_the_settings_and_the_demo(dlt_dir: Path) -> None:
    result = run_cli([], dlt_dir)
    assert result.returncode != 0
    assert "SOURCES__CANVAS__BASE_URL" in result.stderr and "SOURCES__CANVAS__ACCESS_TOKEN" in result.stderr
    assert "--demo" in result.stderr


def test_bad_token_from_environment_fails_with_a_clear_message(dlt_dir: Path) -> None:
    with CanvasSandbox(size="small", seed=7) as sb:
        result = run_cli(
            ["--resources", "courses"],
            dlt_dir,
            {"SOURCES__CANVAS__BASE_URL": sb.base_url, "SOURCES__CANVAS__ACCESS_TOKEN": "wrong-token"},
        )
    assert result.returncode == 1
    assert "rejected the access token" in result.stderr
    assert "wrong-token" not in result.stderr + result.stdout
    assert "Traceback" not in result.stderr


def test_a_new_dataset_gets_a_full_load_not_the_old_datasets_increments(dlt_dir: Path) -> None:
    first = run_cli(["--demo", "--no-transform"], dlt_dir)
    assert first.returncode == 0, first.stderr
    assert "holds no load" not in first.stdout
    # same pipeline, another dataset: the incremental cursors describe `canvas`, not `second`
    second = run_cli(["--demo", "--no-transform", "--dataset", "second"], dlt_dir)
    assert second.returncode == 0, second.stderr
    assert "Dataset 'second' holds no load of canvas_pipeline yet" in second.stdout
    with CanvasSandbox(size="small", seed=7) as sb:
        truth = sb.truth()
    con = duckdb.connect(str(dlt_dir / "canvas_pipeline.duckdb"), read_only=True)
    try:
        for table, count in truth.items():
            for dataset in ("canvas", "second"):
                assert con.execute(f"select count(*) from {dataset}.{table}").fetchone()[0] == count, (
                    dataset,
                    table,
                )
        assert con.execute("select count(*) from second.run_reports").fetchone()[0] == 1
    finally:
        con.close()


def test_a_new_destination_is_named_as_what_changed_without_dlt_warning_lines(
    dlt_dir: Path, postgres_dataset: str
) -> None:
    args = ["--demo", "--no-transform", "--resources", "terms,courses", "--dataset", postgres_dataset]
    first = run_cli(args, dlt_dir)
    assert first.returncode == 0, first.stderr
    # same pipeline and dataset, another destination: the dataset did not change, the destination did
    second = run_cli(
        [*args, "--destination", "postgres"],
        dlt_dir,
        {"DESTINATION__POSTGRES__CREDENTIALS": POSTGRES_DSN},
    )
    assert second.returncode == 0, second.stderr
    # dlt's own warning that the state names another destination is a raw log line: not shown
    assert "[WARNING]" not in second.stdout + second.stderr
    assert "holds no load of canvas_pipeline yet (the last run loaded duckdb:" in second.stdout
    assert f"Dataset {postgres_dataset!r} holds no load" not in second.stdout
    with CanvasSandbox(size="small", seed=7) as sb:
        truth = sb.truth(["terms", "courses"])
    with psycopg2.connect(POSTGRES_DSN) as conn, conn.cursor() as cur:
        for table, count in truth.items():
            cur.execute(f'select count(*) from "{postgres_dataset}".{table}')
            assert cur.fetchone() == (count,), table
