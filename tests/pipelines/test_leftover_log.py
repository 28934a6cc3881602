"""A load step whose checkpoint DuckDB gave up at close: the write-ahead log it left is written at once.

DuckDB checkpoints a file when its last connection closes and gives the checkpoint up without a word
when it does not fit the memory limit; `debug_checkpoint_abort` is DuckDB's own switch for a
checkpoint that gives up, so the test leaves the log exactly as a too-low `memory_limit` does.
"""

from __future__ import annotations

import logging
from pathlib import Path

import dlt
import duckdb
import pytest

from pipelines import warehouse
from pipelines.warehouse import duckdb_destination, size_in_bytes, warehouse_kept_open

ROWS = 500


def _pipeline(tmp_path: Path) -> dlt.Pipeline:
    return dlt.pipeline(
        "leftover_log",
        destination=duckdb_destination(str(tmp_path / "w.duckdb")),
        dataset_name="d",
        pipelines_dir=str(tmp_path / "dlt"),
    )


def _load_giving_up_the_checkpoint(pipeline: dlt.Pipeline, first: int = 0) -> None:
    """Load ROWS rows (ids from `first`) in one load step whose checkpoint at close is aborted."""
    rows = [{"id": i, "name": f"row {i}"} for i in range(first, first + ROWS)]
    pipeline.extract(dlt.resource(rows, name="items", primary_key="id", write_disposition="merge"))
    pipeline.normalize()
    with warehouse_kept_open(pipeline, ROWS):
        with pipeline.sql_client() as client:  # the instance the load's jobs share, until the step ends
            client.execute_sql("SET GLOBAL debug_checkpoint_abort = 'before_header'")
        pipeline.load()


def _log_bytes(tmp_path: Path) -> int:
    log = tmp_path / "w.duckdb.wal"
    return log.stat().st_size if log.exists() else 0


def _rows(tmp_path: Path) -> tuple[int, int]:
    with duckdb.connect(str(tmp_path / "w.duckdb")) as con:
        total, ids = con.execute("select count(*), count(distinct id) from d.items").fetchone()
    return int(total), int(ids)


@pytest.fixture(autouse=True)
def _fresh_warnings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(warehouse, "_warned_logs", set())


def test_the_log_left_at_close_is_checkpointed_at_once(tmp_path: Path) -> None:
    pipeline = _pipeline(tmp_path)
    _load_giving_up_the_checkpoint(pipeline)
    _load_giving_up_the_checkpoint(pipeline, first=ROWS // 2)  # half the keys again: a merge
    assert _log_bytes(tmp_path) == 0
    assert _rows(tmp_path) == (ROWS * 3 // 2, ROWS * 3 // 2)


def test_without_the_check_the_log_stays_and_grows(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The control: the abort does leave the log, so the test above can fail."""
    monkeypatch.setattr(warehouse, "checkpoint_leftover_log", lambda *args, **kwargs: 0)
    pipeline = _pipeline(tmp_path)
    _load_giving_up_the_checkpoint(pipeline)
    first = _log_bytes(tmp_path)
    _load_giving_up_the_checkpoint(pipeline, first=ROWS)
    assert 0 < first < _log_bytes(tmp_path)
    assert _rows(tmp_path) == (2 * ROWS, 2 * ROWS)  # the rows were safe in the log all along


@pytest.mark.parametrize(("limit", "named"), [("64MB", True), ("1GiB", False)])
def test_a_configured_limit_below_the_loads_is_raised_and_named_once(
    limit: str,
    named: bool,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Below the load's own limit (128 MB here) the setting is raised for the checkpoint and named
    once per file; above it, it is kept and not named."""
    monkeypatch.setenv("WAREHOUSE__DUCKDB_SETTINGS", f'{{"memory_limit": "{limit}"}}')
    pipeline = _pipeline(tmp_path)
    with caplog.at_level(logging.INFO, logger="pipelines.warehouse"):
        _load_giving_up_the_checkpoint(pipeline)
        _load_giving_up_the_checkpoint(pipeline, first=ROWS)
    messages = [r.getMessage() for r in caplog.records]
    naming = [m for m in messages if "[warehouse] duckdb_settings" in m]
    if named:
        assert len(naming) == 1
        assert f"memory_limit = '{limit}'" in naming[0]
        assert "Raise memory_limit to at least 128MB" in naming[0]
    else:
        assert naming == []
        assert len([m for m in messages if m.startswith("checkpointed the ")]) == 2
    assert _log_bytes(tmp_path) == 0
    assert _rows(tmp_path) == (2 * ROWS, 2 * ROWS)


@pytest.mark.parametrize(
    ("value", "expected"),
    [("96MB", 96_000_000), ("2GiB", 2 * 2**30), ("1.5 GB", 1_500_000_000), ("4096", 4096), ("80%", None)],
)
def test_size_in_bytes_reads_duckdb_sizes(value: str, expected: int | None) -> None:
    assert size_in_bytes(value) == expected
