"""dlt's parallel extract without its timed sleep while futures are still in its pool.

dlt's extract loop (`PipeIterator.__next__`) waits for a resource's future with a timeout, and
when the future it got back holds no item it sleeps `futures_poll_interval` (10 ms), taking the
pool for empty. Every parallelized generator ends with such a future (its `StopIteration` is
returned as None), and so does each step of one that yields nothing. The loop then sleeps once
per two finished futures: at the end of a Canvas Data 2 no-change rerun, whose 16 tables yield
no rows, the main thread slept 10 ms at a time while 10 finished futures waited (about 80 ms of
the extract's 0.2 s), with every worker idle.

While the pool holds futures the sleep is skipped: the loop's next turn resolves a finished one at
once or waits on the running ones (dlt's own wait, woken by the first to finish). With no futures
dlt sleeps as before.
"""

from __future__ import annotations

from dlt.extract.concurrency import FuturesPool

_stock_sleep = FuturesPool.sleep


def _sleep(self: FuturesPool) -> None:
    """dlt's `FuturesPool.sleep`, skipped while futures are in the pool (a cancelled one, which dlt's
    wait skips, does not count: the loop would turn without waiting on anything)."""
    if any(not future.cancelled() for future in self.futures):
        return
    _stock_sleep(self)


def wait_on_futures_not_a_timer() -> None:
    """Replace dlt's `FuturesPool.sleep` with `_sleep` (for the whole process; calling it again
    changes nothing)."""
    FuturesPool.sleep = _sleep  # type: ignore[method-assign]
