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


# the files that take longest (`pytest --durations=80` on 2 cores), started first: with
# `--dist loadfile` a file runs whole on one worker, so a long file started last keeps one worker
# busy while the other idles
LONG_FILES = (
    "tests/sql/test_sql_models.py",
    "tests/canvas/test_canvas_grades.py",
    "tests/test_readme.py",
    "tests/reliability/test_crash_loop.py",
    "tests/pipelines/test_batched_load.py",
    "tests/canvas_data2/test_cd2_marts.py",
    "tests/reliability/test_secrets.py",
    "tests/canvas_data2/test_dap_cli.py",
    "tests/pipelines/test_canvas_pipeline.py",
    "tests/pipelines/test_pipeline_inputs.py",
    "tests/orchestration/test_dagster.py",
    "tests/privacy/test_drop.py",
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Run the long files first (see LONG_FILES); the rest keep their order."""
    rank = {name: i for i, name in enumerate(LONG_FILES)}
    items.sort(key=lambda item: rank.get(item.nodeid.split("::", 1)[0], len(rank)))


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
