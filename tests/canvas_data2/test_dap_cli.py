"""The unmodified official `dap` CLI (instructure-dap-client) against the Canvas Data 2 sandbox: list,
schema, snapshot, incremental, initdb and syncdb; and the same rows in Postgres from `dap` as from
our pipeline, after the snapshot and after an incremental.

The client hard-pins aiohttp, PyJWT and others (docs/canvas-data-2.md section 1), so it lives in a venv of
its own, made once in the pytest cache; the test skips only if pip cannot install it. Used: 2.3.1.
"""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dlt
import psycopg2
import pytest

from pipelines.warehouse import load_file_format
from sandbox.canvas_data2 import CanvasData2Sandbox
from sandbox.canvas_data2.dap_cli import DapClientUnavailable, dap_executable
from sources.canvas_data2 import canvas_data2
from tests.conftest import POSTGRES_DSN

CLIENT_ID, CLIENT_SECRET = "dap-cli-client", "dap-cli-secret"
DB_TABLES = ["users", "enrollments", "submissions", "assignment_groups", "scores", "late_policies"]


@pytest.fixture(scope="module")
def dap_exe(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The `dap` executable of a venv made once per client version range in the pytest cache
    (in a temporary folder when the cache is off: `-p no:cacheprovider`)."""
    cache = getattr(request.config, "cache", None)
    folder = Path(cache.mkdir("dap-client-2.3")) if cache else tmp_path_factory.mktemp("dap-client-2.3")
    try:
        return dap_executable(folder)
    except DapClientUnavailable as exc:
        pytest.skip(str(exc))


@pytest.fixture
def dap() -> Iterator[CanvasData2Sandbox]:
    # the client polls every 5 s (section 4): jobs complete at once except where a test asks
    with CanvasData2Sandbox(
        "small",
        7,
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        job_polls=0,
        limits={"create_job": 1000, "list_tables": 1000},
    ) as sandbox:
        yield sandbox


@pytest.fixture
def dap_database() -> Iterator[str]:
    """A database of its own for `dap initdb` (it writes schemas `canvas`, `canvas_logs`, `instructure_dap`)."""
    name = f"dap_{uuid.uuid4().hex[:10]}"
    admin = psycopg2.connect(POSTGRES_DSN)
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f"create database {name}")
    yield POSTGRES_DSN.rsplit("/", 1)[0] + f"/{name}"
    with admin.cursor() as cur:
        cur.execute(f"drop database if exists {name} with (force)")
    admin.close()


def run_dap(exe: Path, dap: CanvasData2Sandbox, *args: str, connection: str | None = None) -> str:
    env = {
        **os.environ,
        "DAP_API_URL": dap.base_url,
        "DAP_CLIENT_ID": CLIENT_ID,
        "DAP_CLIENT_SECRET": CLIENT_SECRET,
        "DAP_TRACKING": "false",
    }
    if connection:
        env["DAP_CONNECTION_STRING"] = connection
    done = subprocess.run(
        [str(exe), "--non-interactive", *args], capture_output=True, text=True, timeout=600, env=env
    )
    assert done.returncode == 0, f"dap {' '.join(args)} exited {done.returncode}:\n{done.stderr[-3000:]}"
    return done.stdout + done.stderr


def records(folder: Path) -> list[dict[str, Any]]:
    return [
        json.loads(line)
        for path in sorted(folder.rglob("*.gz"))
        for line in gzip.decompress(path.read_bytes()).splitlines()
        if line
    ]


def test_list_schema_snapshot_and_incremental(dap_exe: Path, dap: CanvasData2Sandbox, tmp_path: Path) -> None:
    listed = run_dap(dap_exe, dap, "list", "--namespace", "canvas")
    assert all(name in listed for name in DB_TABLES + ["accounts", "courses", "pseudonyms"])
    run_dap(
        dap_exe,
        dap,
        "schema",
        "--namespace",
        "canvas",
        "--table",
        "users",
        "--output-directory",
        str(tmp_path),
    )
    written = json.loads((tmp_path / "users_schema_version_1.json").read_text())
    assert written == {"schema": dap.tables[("canvas", "users")].json_schema(), "version": 1}
    dap.settings.job_polls = 2  # one command goes through waiting and running (two 5 s polls)
    snap = tmp_path / "snapshot"
    run_dap(
        dap_exe,
        dap,
        "snapshot",
        "--namespace",
        "canvas",
        "--table",
        "submissions",
        "--output-directory",
        str(snap),
    )
    dap.settings.job_polls = 0
    truth = dap.truth("canvas", "submissions")
    got = records(snap)
    assert sorted(r["key"]["id"] for r in got) == sorted(truth)
    since = dap.refreshed_at
    dap.advance()
    upserted, deleted = dap.changed_since("canvas", "submissions", since)
    inc = tmp_path / "incremental"
    at = got[0]["meta"]["ts"]
    run_dap(
        dap_exe,
        dap,
        "incremental",
        "--namespace",
        "canvas",
        "--table",
        "submissions",
        "--since",
        at,
        "--output-directory",
        str(inc),
    )
    changed = records(inc)
    assert {r["key"]["id"] for r in changed if r["meta"]["action"] == "U"} == upserted
    assert {r["key"]["id"] for r in changed if r["meta"]["action"] == "D"} == deleted


def normalised_rows(dsn: str, schema: str, table: str) -> list[tuple[Any, ...]]:
    """A table's rows with each column as text (timestamps as epoch seconds: `dap` writes naive
    UTC, dlt timestamptz; JSON as jsonb writes it: ours is `json`, which keeps the text as sent),
    sorted; dlt's own columns and ours (`_dlt_*`, `_dap_*`) left out."""
    with psycopg2.connect(dsn) as conn, conn.cursor() as cur:
        cur.execute(
            "select column_name, data_type from information_schema.columns "
            "where table_schema = %s and table_name = %s order by column_name",
            (schema, table),
        )
        columns = [(c, t) for c, t in cur.fetchall() if not c.startswith(("_dlt_", "_dap_"))]
        expressions = [
            f'extract(epoch from "{c}")::bigint::text'
            if t.startswith("timestamp")
            else f'"{c}"::jsonb::text'
            if t in ("json", "jsonb")
            else f'"{c}"::text'
            for c, t in columns
        ]
        cur.execute(f'select {", ".join(expressions)} from "{schema}"."{table}"')
        return sorted(cur.fetchall(), key=lambda row: tuple("" if v is None else v for v in row))


def assert_same_rows(dap_dsn: str, dataset: str) -> None:
    for table in DB_TABLES:
        ours = normalised_rows(POSTGRES_DSN, dataset, table)
        theirs = normalised_rows(dap_dsn, "canvas", table)
        assert len(ours) == len(theirs), table
        assert ours == theirs, table
    assert normalised_rows(POSTGRES_DSN, dataset, "web_logs") == normalised_rows(
        dap_dsn, "canvas_logs", "web_logs"
    )


def test_initdb_and_syncdb_give_the_rows_our_pipeline_loads(
    dap_exe: Path, dap: CanvasData2Sandbox, dap_database: str, postgres_dataset: str, dlt_dir: Path
) -> None:
    tables = ",".join(DB_TABLES)
    run_dap(dap_exe, dap, "initdb", "--namespace", "canvas", "--table", tables, connection=dap_database)
    run_dap(
        dap_exe, dap, "initdb", "--namespace", "canvas_logs", "--table", "web_logs", connection=dap_database
    )
    pipeline = dlt.pipeline(
        "cd2_vs_dap", destination=dlt.destinations.postgres(POSTGRES_DSN), dataset_name=postgres_dataset
    )

    def load() -> None:
        pipeline.run(  # in the format our load library picks: parquet through ADBC
            canvas_data2(
                client_id=CLIENT_ID,
                client_secret=CLIENT_SECRET,
                base_url=dap.base_url,
                tables=[*DB_TABLES, "canvas_logs.web_logs"],
                poll_seconds=0.0,
                jobs_per_minute=1000,
            ),
            loader_file_format=load_file_format(pipeline),
        )

    load()
    assert_same_rows(dap_database, postgres_dataset)
    dap.advance()
    run_dap(dap_exe, dap, "syncdb", "--namespace", "canvas", "--table", tables, connection=dap_database)
    run_dap(
        dap_exe, dap, "syncdb", "--namespace", "canvas_logs", "--table", "web_logs", connection=dap_database
    )
    load()
    assert_same_rows(dap_database, postgres_dataset)
    assert len(normalised_rows(POSTGRES_DSN, postgres_dataset, "submissions")) == len(
        dap.truth("canvas", "submissions")
    )
