"""Fixtures shared by the Brightspace source tests (a module's own fixture of the same name wins)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import dlt
import pytest

from sandbox.brightspace import BrightspaceSandbox


@pytest.fixture
def sandbox() -> Iterator[BrightspaceSandbox]:
    """The small sandbox institution, seed 11, throttled as Brightspace throttles."""
    with BrightspaceSandbox(size="small", seed=11, throttle="default") as sb:
        yield sb


@pytest.fixture
def pipeline(dlt_dir: Path) -> dlt.Pipeline:
    """A DuckDB pipeline in the test's own folder."""
    return dlt.pipeline(
        "brightspace_test",
        destination=dlt.destinations.duckdb(str(dlt_dir / "bs.duckdb")),
        dataset_name="brightspace",
    )
