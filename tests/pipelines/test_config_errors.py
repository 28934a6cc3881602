"""Bad configuration: the pipeline exits 1 with one line on stderr naming the file, section and
setting to fix, and no traceback; a Postgres without a password (trust auth) simply works."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import psycopg2
import pytest

from sandbox.canvas import CanvasSandbox
from tests.conftest import POSTGRES_DSN

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "pipelines" / "canvas_pipeline.py"
# a trust-auth server: the URL names a user and no password
PASSWORDLESS_URL = "postgresql://postgres@127.0.0.1:5432/test"


def run_cli(
    args: list[str], cwd: Path, config: str | None = None, secrets: str | None = None, **env: str
) -> subprocess.CompletedProcess[str]:
    """Run the Canvas pipeline in `cwd` with `.dlt/config.toml` / `.dlt/secrets.toml` as given."""
    settings = cwd / ".dlt"
    settings.mkdir(exist_ok=True)
    for name, text in (("config.toml", config), ("secrets.toml", secrets)):
        if text is not None:
            (settings / name).write_text(text)
    environ = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SOURCES__", "DESTINATION__", "CANVAS_PIPELINE__"))
    }
    environ.update({"RUNTIME__DLTHUB_TELEMETRY": "false", "DLT_DATA_DIR": str(cwd / "dlt"), **env})
    return subprocess.run(
        [sys.executable, str(SCRIPT), "--no-transform", *args],
        cwd=cwd,
        env=environ,
        capture_output=True,
        text=True,
        timeout=300,
    )


def one_line(result: subprocess.CompletedProcess[str]) -> str:
    """The run failed with exactly one line on stderr, and no traceback; returns the line."""
    assert result.returncode == 1, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    return lines[0]


def test_a_toml_syntax_error_names_the_file_and_the_line(dlt_dir: Path) -> None:
    config = '[sources.canvas]\nbase_url = "https://school.instructure.com\nmax_in_flight = 4\n'
    line = one_line(run_cli([], dlt_dir, config=config))
    assert line.startswith("error: .dlt/config.toml is not valid TOML")
    assert "line 2" in line


def test_a_setting_of_the_wrong_kind_names_file_section_and_setting(dlt_dir: Path) -> None:
    config = '[sources.canvas]\nbase_url = "https://school.instructure.com"\nmax_in_flight = "eight"\n'
    result = run_cli([], dlt_dir, config=config, SOURCES__CANVAS__ACCESS_TOKEN="unused")
    line = one_line(result)
    assert line == ("error: max_in_flight = 'eight' in [sources.canvas] of .dlt/config.toml must be an int")
    assert result.stdout == ""  # stopped before any request or load


def test_postgres_credentials_without_their_database_name_what_is_missing(dlt_dir: Path) -> None:
    # no user either: nothing to connect as, so the run stops before it reads Canvas
    secrets = '[destination.postgres.credentials]\nhost = "127.0.0.1"\n'
    with CanvasSandbox(size="small", seed=7, throttle="off") as sb:
        result = run_cli(
            ["--destination", "postgres", "--resources", "terms"],
            dlt_dir,
            secrets=secrets,
            SOURCES__CANVAS__BASE_URL=sb.base_url,
            SOURCES__CANVAS__ACCESS_TOKEN=sb.admin_token,
        )
        requests = sb.stats["requests"]
    line = one_line(result)
    assert line.startswith("error: Postgres credentials lack ")
    for field in ("database", "password", "username"):
        assert f"{field} under [destination.postgres.credentials] in .dlt/secrets.toml" in line
    assert "DESTINATION__POSTGRES__CREDENTIALS__PASSWORD" in line
    assert requests == 0


@pytest.mark.parametrize(
    "configured",
    [
        pytest.param({"DESTINATION__POSTGRES__CREDENTIALS": PASSWORDLESS_URL}, id="url"),
        pytest.param(
            {
                "secrets": '[destination.postgres.credentials]\nhost = "127.0.0.1"\nusername = "postgres"\n'
                'database = "test"\n'
            },
            id="fields",
        ),
    ],
)
def test_postgres_without_a_password_loads_into_a_trust_auth_server(
    dlt_dir: Path, postgres_dataset: str, configured: dict[str, str]
) -> None:
    secrets = configured.pop("secrets", None)
    with CanvasSandbox(size="small", seed=7, throttle="off") as sb:
        result = run_cli(
            ["--destination", "postgres", "--dataset", postgres_dataset, "--resources", "terms,courses"],
            dlt_dir,
            secrets=secrets,
            SOURCES__CANVAS__BASE_URL=sb.base_url,
            SOURCES__CANVAS__ACCESS_TOKEN=sb.admin_token,
            **configured,
        )
        truth = sb.truth(["terms", "courses"])
    assert result.returncode == 0, result.stderr
    assert "[WARNING]" not in result.stdout + result.stderr
    with psycopg2.connect(POSTGRES_DSN) as conn, conn.cursor() as cur:
        for table in ("terms", "courses"):
            cur.execute(f'select count(*), count(distinct id) from "{postgres_dataset}".{table}')
            assert cur.fetchone() == (truth[table], truth[table]), table
        cur.execute(f'select status from "{postgres_dataset}".run_reports')
        assert cur.fetchall() == [("succeeded",)]
