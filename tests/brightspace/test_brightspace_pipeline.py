"""The Brightspace pipeline command as a user runs it: --demo, missing settings, a bad refresh token."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import duckdb

from sandbox.brightspace import BrightspaceSandbox

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "pipelines" / "brightspace_pipeline.py"


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
    assert "Started the sandbox Brightspace" in out and "== Brightspace load ==" in out
    assert "requests:" in out and "throttled replies:" in out
    with BrightspaceSandbox(size="small", seed=11) as sb:
        truth = {
            **sb.truth(),
            # the Data Sets' content progress and the SIS roster the demo writes for itself
            "content_user_progress": len(sb.truth_keys("content_user_progress")),
            "sis_roster": len(sb.write_sis_roster(dlt_dir / "roster.csv").read_text().splitlines()) - 1,
        }
        initial_refresh_token = sb.initial_refresh_token
    con = duckdb.connect(str(dlt_dir / "brightspace_pipeline.duckdb"), read_only=True)
    for table, count in truth.items():
        assert con.execute(f"select count(*) from brightspace.{table}").fetchone()[0] == count, table
        assert any(
            line.split()[:1] == [table] and line.split()[-1] == str(count) for line in out.splitlines()
        ), table
    con.close()
    # the demo's rotating refresh token went to a temp dir, not the working directory
    assert not (dlt_dir / ".dlt").exists()
    assert not [p for p in dlt_dir.rglob("*.token")]
    for path in (p for p in (dlt_dir / "dlt").rglob("*") if p.is_file()):
        assert initial_refresh_token.encode() not in path.read_bytes(), path


def test_without_credentials_it_names_the_settings_and_the_demo(dlt_dir: Path) -> None:
    result = run_cli([], dlt_dir)
    assert result.returncode != 0
    for name in ("client_id", "client_secret", "refresh_token", "base_url", "[sources.brightspace]"):
        assert name in result.stderr
    assert "SOURCES__BRIGHTSPACE__CLIENT_SECRET" in result.stderr and "--demo" in result.stderr


def test_bad_refresh_token_from_environment_fails_with_a_clear_message(dlt_dir: Path) -> None:
    with BrightspaceSandbox(size="small", seed=11) as sb:
        result = run_cli(
            ["--resources", "courses"],
            dlt_dir,
            {
                "SOURCES__BRIGHTSPACE__BASE_URL": sb.base_url,
                "SOURCES__BRIGHTSPACE__TOKEN_URL": sb.token_url,
                "SOURCES__BRIGHTSPACE__CLIENT_ID": sb.client_id,
                "SOURCES__BRIGHTSPACE__CLIENT_SECRET": sb.client_secret,
                "SOURCES__BRIGHTSPACE__REFRESH_TOKEN": "rt.wrong-token",
            },
        )
        token_requests = sb.stats["token_requests"]
    assert result.returncode == 1
    assert "invalid_grant" in result.stderr and "refresh_token" in result.stderr
    assert "rt.wrong-token" not in result.stderr + result.stdout
    assert "Traceback" not in result.stderr
    assert token_requests == 1
