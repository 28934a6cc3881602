"""The pipelines' file inputs as a user configures them: Roll Call folders and SIS rosters (the demos'
own inputs are checked by the demo tests, tests/pipelines/test_canvas_pipeline.py and
tests/brightspace/test_brightspace_pipeline.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from sandbox.canvas import CanvasSandbox

ROOT = Path(__file__).resolve().parents[2]


def run_cli(
    script: str, args: list[str], cwd: Path, extra_env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOURCES__")}
    env.update({"RUNTIME__DLTHUB_TELEMETRY": "false", "DLT_DATA_DIR": str(cwd / "dlt")}, **(extra_env or {}))
    return subprocess.run(
        [sys.executable, str(ROOT / "pipelines" / script), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def summary_count(out: str, table: str) -> int:
    (line,) = [line for line in out.splitlines() if line.startswith(f"{table} ")]
    return int(line.split()[-1])


def test_canvas_rejects_a_bad_rollcall_file_by_name_and_loads_the_rest(dlt_dir: Path) -> None:
    with CanvasSandbox(size="small", seed=7) as sb:
        folder = dlt_dir / "rollcall"
        sb.write_rollcall_reports(folder)
        (folder / "zz_bad.csv").write_text("Course ID,Student ID\n101,10020\n", encoding="utf-8")
        env = {"SOURCES__CANVAS__BASE_URL": sb.base_url, "SOURCES__CANVAS__ACCESS_TOKEN": sb.admin_token}
        result = run_cli(
            "canvas_pipeline.py",
            ["--resources", "rollcall_attendance", "--rollcall-dir", str(folder), "--no-transform"],
            dlt_dir,
            env,
        )
        rows = len(sb.rollcall_truth())
    assert result.returncode == 1
    assert "error: Roll Call report zz_bad.csv was not loaded" in result.stderr
    assert "'Class Date'" in result.stderr and "Traceback" not in result.stderr
    assert summary_count(result.stdout, "rollcall_attendance") == rows


def test_canvas_reads_the_rollcall_folder_from_its_settings(dlt_dir: Path) -> None:
    # no --rollcall-dir: the source's own setting `[sources.canvas] rollcall_bucket_url` applies
    with CanvasSandbox(size="small", seed=7) as sb:
        folder = dlt_dir / "rollcall"
        sb.write_rollcall_reports(folder)
        env = {
            "SOURCES__CANVAS__BASE_URL": sb.base_url,
            "SOURCES__CANVAS__ACCESS_TOKEN": sb.admin_token,
            "SOURCES__CANVAS__ROLLCALL_BUCKET_URL": str(folder),
        }
        result = run_cli(
            "canvas_pipeline.py", ["--resources", "rollcall_attendance", "--no-transform"], dlt_dir, env
        )
        rows = len(sb.rollcall_truth())
    assert result.returncode == 0, result.stderr
    assert summary_count(result.stdout, "rollcall_attendance") == rows


def test_a_missing_roster_path_is_a_clear_error(dlt_dir: Path) -> None:
    with CanvasSandbox(size="small", seed=7) as sb:
        env = {
            "SOURCES__CANVAS__BASE_URL": sb.base_url,
            "SOURCES__CANVAS__ACCESS_TOKEN": sb.admin_token,
            "SOURCES__SIS_ROSTER__PATH": str(dlt_dir / "no_such_roster.csv"),
        }
        result = run_cli("canvas_pipeline.py", ["--resources", "courses"], dlt_dir, env)
    assert result.returncode == 1
    assert "no_such_roster.csv" in result.stderr and "no such file or folder" in result.stderr
    assert "Traceback" not in result.stderr
