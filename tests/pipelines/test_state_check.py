"""The state check before a run's extract (pipelines/recovery.py): dlt's sync with the dataset is
skipped only when the dataset's newest loaded state is the local one; state another run host loaded
since is still restored, on DuckDB and on Postgres."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import dlt
import pytest
from dlt.pipeline.pipeline import Pipeline

from pipelines.recovery import _dataset_holds_local_state, forget_state_built_for_another_dataset
from tests.conftest import POSTGRES_DSN


@dlt.resource(name="counter", write_disposition="append")
def counter() -> Any:
    """One row a run, numbered by a count kept in the resource state."""
    state = dlt.current.resource_state()
    state["runs"] = state.get("runs", 0) + 1
    yield {"run": state["runs"]}


def _host(folder: Path, destination: Any, dataset: str) -> Pipeline:
    """The pipeline as a run host with its own pipelines folder sees it."""
    return dlt.pipeline(
        "state_check", pipelines_dir=str(folder), destination=destination, dataset_name=dataset
    )


def _runs(pipeline: Pipeline) -> int:
    return int(pipeline.state["sources"]["state_check"]["resources"]["counter"]["runs"])


@pytest.fixture(params=["duckdb", "postgres"])
def warehouse(request: pytest.FixtureRequest, dlt_dir: Path) -> tuple[Any, str]:
    if request.param == "duckdb":
        return dlt.destinations.duckdb(str(dlt_dir / "warehouse.duckdb")), "state_check"
    dataset = request.getfixturevalue("postgres_dataset")
    return dlt.destinations.postgres(POSTGRES_DSN), dataset


def test_state_another_host_loaded_since_is_restored(warehouse: tuple[Any, str], dlt_dir: Path) -> None:
    destination, dataset = warehouse
    first = _host(dlt_dir / "host_a", destination, dataset)
    forget_state_built_for_another_dataset(first, print)
    first.run(counter(), schema=dlt.Schema("state_check"))
    assert _dataset_holds_local_state(first)

    # another host: its first run restores the state from the dataset, then loads a newer one
    second = _host(dlt_dir / "host_b", destination, dataset)
    forget_state_built_for_another_dataset(second, print)
    assert _runs(second) == 1
    second.run(counter(), schema=dlt.Schema("state_check"))
    assert _runs(second) == 2 and _dataset_holds_local_state(second)

    # the first host's state is now older than the dataset's: the check must not skip the restore
    first = _host(dlt_dir / "host_a", destination, dataset)
    assert not _dataset_holds_local_state(first)
    forget_state_built_for_another_dataset(first, print)
    assert _runs(first) == 2
    assert _dataset_holds_local_state(first)
    first.run(counter(), schema=dlt.Schema("state_check"))
    with first.sql_client() as client:
        rows = client.execute_sql("select run from counter order by run")
    assert [run for (run,) in rows] == [1, 2, 3]


def test_a_dataset_without_state_tables_holds_no_local_state(
    warehouse: tuple[Any, str], dlt_dir: Path
) -> None:
    destination, dataset = warehouse
    pipeline = _host(dlt_dir / "host_a", destination, dataset)
    assert not _dataset_holds_local_state(pipeline)
