"""The credit-window governor (Brightspace pacing) with an injected clock; no real sleeping."""

from __future__ import annotations

import threading

import pytest

from sources.lms_http.window_governor import CreditWindowGovernor, CreditWindowModel


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def reading(remaining: float, reset: float, cost: float = 10) -> dict[str, str]:
    return {
        "X-Rate-Limit-Remaining": str(remaining),
        "X-Rate-Limit-Reset": str(reset),
        "X-Request-Cost": str(cost),
    }


def test_probes_alone_until_the_first_reading() -> None:
    clock = FakeClock()
    gov = CreditWindowGovernor(max_in_flight=8, clock=clock)
    gov.acquire()
    assert gov._wait_needed(clock()) == float("inf")
    gov.release(reading(1000, 60))
    assert gov._wait_needed(clock()) == 0.0


def test_admits_while_remaining_minus_in_flight_stays_above_margin() -> None:
    clock = FakeClock()
    gov = CreditWindowGovernor(CreditWindowModel(margin=20), max_in_flight=100, clock=clock)
    gov.acquire()
    gov.release(reading(100, 30))
    admitted = 0
    while gov._wait_needed(clock()) == 0.0:
        gov.acquire()
        admitted += 1
    # 100 credits, 10 a request, keep 20: 100 - 10 * k >= 20  ->  k <= 8
    assert admitted == 8
    # the ninth waits for the window to reset
    assert gov._wait_needed(clock()) == pytest.approx(30.0)
    clock.now += 30
    # a new window: probe with one request once the ones in flight have answered
    assert gov._wait_needed(clock()) == float("inf")
    for _ in range(8):
        gov.release(reading(20, 0.0))  # late replies from the old window
    assert gov._wait_needed(clock()) == 0.0


def test_out_of_order_replies_keep_the_lowest_count_in_a_window() -> None:
    clock = FakeClock()
    gov = CreditWindowGovernor(clock=clock)
    gov.acquire()
    gov.release(reading(500, 40))
    gov.acquire()
    gov.acquire()
    gov.release(reading(480, 39.6))
    gov.release(reading(490, 39.7))  # older reply, arrived later
    assert gov.remaining == 480
    clock.now += 41
    gov.acquire()
    gov.release(reading(49990, 59))  # the refill
    assert gov.remaining == 49990


def test_throttled_reply_holds_everyone_until_retry_after() -> None:
    clock = FakeClock()
    gov = CreditWindowGovernor(clock=clock)
    gov.acquire()
    gov.release(reading(5000, 50))
    gov.acquire()
    gov.release({"Retry-After": "3"}, throttled=True)
    assert gov.remaining == 0
    assert gov._wait_needed(clock()) == pytest.approx(3.0)
    clock.now += 3
    assert gov._wait_needed(clock()) == 0.0  # probe the refilled window


def test_cost_follows_x_request_cost() -> None:
    clock = FakeClock()
    gov = CreditWindowGovernor(CreditWindowModel(margin=0), max_in_flight=100, clock=clock)
    gov.acquire()
    gov.release(reading(100, 30, cost=50))
    gov.acquire()
    gov.acquire()
    assert gov._wait_needed(clock()) > 0  # 100 - 3 * 50 < 0


def test_max_in_flight_blocks_and_release_wakes_a_waiter() -> None:
    clock = FakeClock()
    gov = CreditWindowGovernor(max_in_flight=1, clock=clock)
    gov.acquire()
    gov.release(reading(50000, 60))
    gov.acquire()
    done = threading.Event()

    def second() -> None:
        gov.acquire()
        done.set()

    thread = threading.Thread(target=second)
    thread.start()
    assert not done.wait(0.05)
    gov.release(reading(49980, 59))
    assert done.wait(2)
    thread.join()
    assert gov.in_flight == 1 and gov.waits == 1
