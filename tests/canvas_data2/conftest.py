"""Fixtures of the Canvas Data 2 tests: a DAP sandbox and a DuckDB pipeline per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dlt
import pytest

from sandbox.canvas_data2 import CanvasData2Sandbox
from sources.canvas_data2 import canvas_data2

CLIENT_ID = "cd2-test-client"
CLIENT_SECRET = "cd2-test-secret-7f3a"  # tests assert it never reaches state or logs


@pytest.fixture
def dap() -> Iterator[CanvasData2Sandbox]:
    """The small institution (seed 7) over DAP; jobs wait and run one poll each."""
    with CanvasData2Sandbox(
        "small", 7, client_id=CLIENT_ID, client_secret=CLIENT_SECRET, limits={"create_job": 1000}
    ) as sandbox:
        yield sandbox


@pytest.fixture
def pipeline(dlt_dir: Path) -> dlt.Pipeline:
    """A DuckDB pipeline in the test's own folder, loading dataset `canvas_data2`."""
    return dlt.pipeline(
        "canvas_data2_test",
        destination=dlt.destinations.duckdb(str(dlt_dir / "warehouse.duckdb")),
        dataset_name="canvas_data2",
    )


def source(dap: CanvasData2Sandbox, **options: Any) -> Any:
    """The source against the sandbox, polling without waiting."""
    return canvas_data2(
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        base_url=dap.base_url,
        poll_seconds=0.0,
        jobs_per_minute=1000,
        **options,
    )


def rows(pipeline: dlt.Pipeline, table: str, columns: str = "*") -> list[tuple[Any, ...]]:
    """A loaded table's rows (DuckDB), ordered by its first column."""
    with pipeline.sql_client() as client:
        return [tuple(r) for r in client.execute_sql(f"select {columns} from {table} order by 1")]
