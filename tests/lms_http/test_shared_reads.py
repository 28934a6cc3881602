"""SharedReads: one fetch per key for its callers, in flight or finished, bounded, failures not kept."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from sources.lms_http.shared_reads import SharedReads


def test_second_caller_takes_the_first_callers_result_and_the_read_is_then_dropped() -> None:
    reads = SharedReads()
    calls: list[str] = []

    def fetch() -> list[int]:
        calls.append("x")
        return [1, 2]

    first = reads.get("k", fetch, uses=2)
    second = reads.get("k", fetch, uses=2)
    assert first is second == [1, 2]
    assert calls == ["x"]
    assert len(reads) == 0  # taken twice: nothing held any more
    reads.get("k", fetch, uses=2)
    assert calls == ["x", "x"]
    assert (reads.hits, reads.misses) == (1, 2)


def test_a_caller_arriving_while_the_read_is_in_flight_waits_for_it() -> None:
    reads = SharedReads()
    started = threading.Event()
    release = threading.Event()
    calls = 0

    def slow_fetch() -> str:
        nonlocal calls
        calls += 1
        started.set()
        release.wait(5)
        return "rows"

    with ThreadPoolExecutor(2) as pool:
        owner = pool.submit(reads.get, "k", slow_fetch, 2)
        started.wait(5)
        waiter = pool.submit(reads.get, "k", slow_fetch, 2)
        release.set()
        assert owner.result(5) == waiter.result(5) == "rows"
    assert calls == 1


def test_a_failed_read_reaches_its_waiters_and_is_not_kept() -> None:
    reads = SharedReads()

    def broken() -> None:
        raise PermissionError("forbidden course")

    with pytest.raises(PermissionError):
        reads.get("k", broken)
    assert len(reads) == 0
    assert reads.get("k", lambda: "ok") == "ok"


def test_reads_beyond_the_capacity_are_forgotten_oldest_first() -> None:
    reads = SharedReads(capacity=2)
    for key in ("a", "b", "c"):
        reads.get(key, lambda key=key: key.upper())
    assert len(reads) == 2
    fetched: list[str] = []
    reads.get("a", lambda: fetched.append("a") or "A")  # evicted: fetched again
    reads.get("c", lambda: fetched.append("c") or "C")  # still held
    assert fetched == ["a"]


def test_a_single_use_read_is_never_held() -> None:
    reads = SharedReads()
    assert reads.get("k", lambda: 1, uses=1) == 1
    assert len(reads) == 0
