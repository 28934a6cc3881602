"""Fixtures shared by the Canvas source tests (a module's own fixture of the same name wins)."""

from __future__ import annotations

from pathlib import Path

import dlt
import pytest


@pytest.fixture
def pipeline(dlt_dir: Path) -> dlt.Pipeline:
    """A DuckDB pipeline in the test's own folder, loading dataset `canvas`."""
    return dlt.pipeline(
        "canvas_test",
        destination=dlt.destinations.duckdb(str(dlt_dir / "warehouse.duckdb")),
        dataset_name="canvas",
    )
