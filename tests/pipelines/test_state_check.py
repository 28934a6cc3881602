"""The state check before a run's extract (pipelines/recovery.py): dlt's sync with the dataset is
skipped only when the dataset's newest loaded state is the local one; state another run host loaded
since is still restored, on DuckDB and on Postgres. A DuckDB file the last run left as it was (its
mark) is not even opened."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import dlt
import duckdb
import pytest
from dlt.pipeline.pipeline import Pipeline

from pipelines.recovery import (
    WAREHOUSE_MARK,
    _dataset_holds_local_state,
    _warehouse_as_left,
    forget_state_built_for_another_dataset,
    newest_loaded_state,
    remember_warehouse,
)
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


# ---- the mark a run leaves on a DuckDB warehouse: the next check need not open the file ----------------


def _leave_mark(pipeline: Pipeline) -> None:
    """What a run of the load library does at its end: read the state the dataset now holds, close
    the file, then remember it with that state."""
    with pipeline.sql_client() as client:
        loaded = newest_loaded_state(pipeline, client)
    remember_warehouse(pipeline, loaded)


def _duckdb_run(folder: Path, warehouse: Path, dataset: str = "state_check") -> Pipeline:
    pipeline = _host(folder, dlt.destinations.duckdb(str(warehouse)), dataset)
    forget_state_built_for_another_dataset(pipeline, print)
    # the steps one by one, as the load library runs them: `run` would sync with the dataset itself
    pipeline.extract(counter(), schema=dlt.Schema("state_check"))
    pipeline.normalize()
    pipeline.load()
    _leave_mark(pipeline)
    return pipeline


def _opens_during(monkeypatch: pytest.MonkeyPatch, warehouse: Path, step: Any) -> int:
    opened: list[str] = []
    connect = duckdb.connect

    def counted(database: Any = ":memory:", *args: Any, **kwargs: Any) -> Any:
        if Path(str(database)) == warehouse:
            opened.append(str(database))
        return connect(database, *args, **kwargs)

    with monkeypatch.context() as patched:
        patched.setattr(duckdb, "connect", counted)
        step()
    return len(opened)


def test_a_warehouse_left_as_the_last_run_left_it_is_not_opened(
    dlt_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    warehouse = dlt_dir / "warehouse.duckdb"
    _duckdb_run(dlt_dir / "host_a", warehouse)
    again = _host(dlt_dir / "host_a", dlt.destinations.duckdb(str(warehouse)), "state_check")
    assert (
        _opens_during(monkeypatch, warehouse, lambda: forget_state_built_for_another_dataset(again, print))
        == 0
    )
    again.run(counter(), schema=dlt.Schema("state_check"))
    with again.sql_client() as client:
        assert [run for (run,) in client.execute_sql("select run from counter order by run")] == [1, 2]
    _leave_mark(again)
    check = lambda: forget_state_built_for_another_dataset(again, print)  # noqa: E731
    assert _opens_during(monkeypatch, warehouse, check) == 0
    # without the mark the check reads the file
    (Path(again.working_dir) / WAREHOUSE_MARK).unlink()
    assert _opens_during(monkeypatch, warehouse, check) > 0


def test_a_warehouse_another_host_loaded_since_the_mark_is_read_again(dlt_dir: Path) -> None:
    """Host A's mark names the file as A left it; host B loads a newer state into it; A's next check
    must see the file changed and restore B's state (its next row is numbered 3, not 2)."""
    warehouse = dlt_dir / "warehouse.duckdb"
    _duckdb_run(dlt_dir / "host_a", warehouse)
    second = _duckdb_run(dlt_dir / "host_b", warehouse)
    assert _runs(second) == 2
    first = _duckdb_run(dlt_dir / "host_a", warehouse)
    assert _runs(first) == 3
    with first.sql_client() as client:
        assert [run for (run,) in client.execute_sql("select run from counter order by run")] == [1, 2, 3]


def test_a_mark_is_no_use_while_the_file_has_unwritten_changes_or_after_them(dlt_dir: Path) -> None:
    warehouse = dlt_dir / "warehouse.duckdb"
    pipeline = _duckdb_run(dlt_dir / "host_a", warehouse)
    assert _warehouse_as_left(pipeline)
    other = duckdb.connect(str(warehouse))
    try:
        other.execute("create table someone_elses as select 1 as x")
        assert (dlt_dir / "warehouse.duckdb.wal").exists()
        assert not _warehouse_as_left(pipeline)  # written, not yet checkpointed into the file
    finally:
        other.close()
    assert not _warehouse_as_left(pipeline)  # checkpointed: the file is another now


def test_a_mark_for_another_dataset_in_the_same_file_is_no_use(dlt_dir: Path) -> None:
    """Re-pointed at another dataset of the same file, the pipeline starts afresh there: its first
    row in the new dataset is numbered 1."""
    warehouse = dlt_dir / "warehouse.duckdb"
    _duckdb_run(dlt_dir / "host_a", warehouse)
    moved = _duckdb_run(dlt_dir / "host_a", warehouse, dataset="state_check_moved")
    with moved.sql_client() as client:
        assert [run for (run,) in client.execute_sql("select run from counter")] == [1]


def test_a_run_that_leaves_a_package_to_load_leaves_no_mark(dlt_dir: Path) -> None:
    warehouse = dlt_dir / "warehouse.duckdb"
    pipeline = _duckdb_run(dlt_dir / "host_a", warehouse)
    mark = Path(pipeline.working_dir) / WAREHOUSE_MARK
    assert mark.exists()
    # extracted, not loaded; rows without state, so the local state is still the one loaded
    pipeline.extract(dlt.resource([{"run": 0}], name="counter"), schema=dlt.Schema("state_check"))
    assert pipeline.has_pending_data and _warehouse_as_left(pipeline)
    _leave_mark(pipeline)
    assert not mark.exists()
