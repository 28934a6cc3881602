"""dlt's parallel extract without its timed sleep while futures are in its pool
(pipelines/dlt_futures.py): every row still extracted, no 10 ms sleep taken while the pool holds
futures (dlt still sleeps when it holds none). dlt's own loop, run beside it, sleeps on them."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import dlt
import pytest
from dlt.extract import concurrency
from dlt.extract.concurrency import FuturesPool

from pipelines import dlt_futures

TABLES = [f"table_{n:02d}" for n in range(16)]


def _rows(name: str, count: int) -> Callable[[], Iterator[dict[str, Any]]]:
    def rows() -> Iterator[dict[str, Any]]:
        for n in range(count):
            yield {"table": name, "n": n}

    return rows


def _extract(
    dlt_dir: Path, rows_each: int, loop_sleep: Any, monkeypatch: pytest.MonkeyPatch
) -> tuple[int, dict[str, int]]:
    """Extract 16 parallelized resources of `rows_each` rows with `loop_sleep` as the pool's sleep;
    the timed sleeps taken while the pool held futures, and the rows normalized per table."""
    pooled: list[int] = []  # the pool's futures at each sleep call under way
    slept: list[int] = []  # the futures pooled at each timed sleep taken

    def timed(seconds: float) -> None:
        slept.append(pooled[-1])
        stock_sleep(seconds)

    def watched(self: FuturesPool) -> None:
        pooled.append(len(self.futures))
        try:
            loop_sleep(self)
        finally:
            pooled.pop()

    stock_sleep = concurrency.sleep
    monkeypatch.setattr(concurrency, "sleep", timed)
    monkeypatch.setattr(FuturesPool, "sleep", watched)
    pipeline = dlt.pipeline(
        f"futures_{rows_each}",
        pipelines_dir=str(dlt_dir / "pipelines"),
        destination=dlt.destinations.duckdb(str(dlt_dir / "futures.duckdb")),
    )
    pipeline.extract([dlt.resource(_rows(t, rows_each), name=t, parallelized=True) for t in TABLES])
    pipeline.normalize()
    info = pipeline.last_trace.last_normalize_info
    assert info is not None
    return sum(1 for futures in slept if futures), {
        t: n for t, n in info.row_counts.items() if not t.startswith("_dlt")
    }


@pytest.mark.parametrize("rows_each", [0, 3])
def test_a_parallel_extract_takes_no_timed_sleep_while_futures_are_pooled(
    rows_each: int, dlt_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    slept, rows = _extract(dlt_dir, rows_each, dlt_futures._sleep, monkeypatch)
    assert slept == 0
    assert rows == ({t: rows_each for t in TABLES} if rows_each else {})


def test_dlts_own_loop_sleeps_on_futures_that_hold_no_item(
    dlt_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What the replacement is for: each resource's last future holds no item, and dlt's loop sleeps
    on it (at least once for 16 resources that yield nothing)."""
    slept, rows = _extract(dlt_dir, 0, dlt_futures._stock_sleep, monkeypatch)
    assert slept > 0 and rows == {}


def test_the_replacement_is_installed_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(FuturesPool, "sleep", dlt_futures._stock_sleep)
    dlt_futures.wait_on_futures_not_a_timer()
    dlt_futures.wait_on_futures_not_a_timer()
    assert FuturesPool.sleep is dlt_futures._sleep
