"""Shared test setup: no telemetry, isolated dlt working dirs, helpers to run pipelines."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ["RUNTIME__DLTHUB_TELEMETRY"] = "false"

POSTGRES_DSN = "postgresql://postgres:postgres@127.0.0.1:5432/test"  # trust auth: the password is ignored


def pytest_addoption(parser: pytest.Parser) -> None:
    """`--soak`: run the reliability tests' long variants (more crash points, mixes and seeds)."""
    parser.addoption(
        "--soak",
        action="store_true",
        default=False,
        help="run the long reliability soaks (also on with env LMS_SOAK=1)",
    )


@pytest.fixture
def dlt_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh dlt data dir and working dir per test, so pipelines never share state."""
    data = tmp_path / "dlt"
    data.mkdir()
    monkeypatch.setenv("DLT_DATA_DIR", str(data))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def postgres_available() -> bool:
    try:
        import psycopg2

        psycopg2.connect(POSTGRES_DSN, connect_timeout=3).close()
        return True
    except Exception:
        return False


@pytest.fixture
def postgres_dataset() -> Iterator[str]:
    """A unique schema name in the local Postgres, dropped afterwards."""
    if not postgres_available():
        pytest.fail(
            "the local Postgres at 127.0.0.1:5432 (database test) is not reachable; .ci/run starts it"
        )
    name = f"t_{uuid.uuid4().hex[:10]}"
    yield name
    import psycopg2

    with psycopg2.connect(POSTGRES_DSN) as conn, conn.cursor() as cur:
        cur.execute(f"select nspname from pg_namespace where nspname like '{name}%'")
        for (schema,) in cur.fetchall():
            cur.execute(f'drop schema if exists "{schema}" cascade')
