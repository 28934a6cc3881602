"""The throttle governor's pacing, with an injected clock (no real sleeping)."""

from __future__ import annotations

import threading

import pytest

from sources.lms_http.governor import LeakyBucketModel, ThrottleGovernor


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_first_request_probes_alone_until_a_reading_arrives() -> None:
    clock = FakeClock()
    gov = ThrottleGovernor(max_in_flight=8, clock=clock)
    gov.acquire()
    assert gov._wait_needed(clock()) == float("inf")  # a second request waits for the first reading
    gov.release({"x-rate-limit-remaining": "599.5"})
    assert gov._wait_needed(clock()) == 0.0


def test_admits_requests_while_estimated_headroom_stays_above_margin() -> None:
    clock = FakeClock()
    model = LeakyBucketModel(up_front_cost=50, outflow=10, margin=20)
    gov = ThrottleGovernor(model, max_in_flight=100, clock=clock)
    gov.acquire()
    gov.release({"x-rate-limit-remaining": "600"})
    admitted = 0
    while gov._wait_needed(clock()) == 0.0:
        gov.acquire()
        admitted += 1
    # 600 remaining, 50 reserved per request, must stay above 20: 600 - 50*k > 20  ->  k <= 11
    assert admitted == 12
    # the next one needs the bucket to leak: (50*12 + 20 - 600) / 10 per second = 2 s
    assert gov._wait_needed(clock()) == pytest.approx(2.0)
    clock.now += 2.0
    assert gov._wait_needed(clock()) == pytest.approx(0.001)  # exactly at the margin: wait a hair
    clock.now += 0.01
    assert gov._wait_needed(clock()) == 0.0
    gov.acquire()  # reserves 50 again: the next one waits 5 s of leak
    assert gov._wait_needed(clock()) == pytest.approx(4.99)


def test_low_remaining_header_slows_down_and_refills_at_outflow() -> None:
    clock = FakeClock()
    gov = ThrottleGovernor(LeakyBucketModel(outflow=10, margin=20), max_in_flight=8, clock=clock)
    gov.acquire()
    gov.release({"x-rate-limit-remaining": "5.0"})
    assert gov._wait_needed(clock()) == pytest.approx(1.5)  # (20 - 5) / 10
    clock.now += 1.501
    assert gov._wait_needed(clock()) == 0.0


def test_throttled_reply_empties_the_estimate() -> None:
    clock = FakeClock()
    gov = ThrottleGovernor(LeakyBucketModel(outflow=10, margin=20), clock=clock)
    gov.acquire()
    gov.release({"x-rate-limit-remaining": "400"})
    gov.acquire()
    gov.release({}, throttled=True)
    assert gov._wait_needed(clock()) == pytest.approx(2.0)


def test_estimate_never_refills_past_the_highest_reading() -> None:
    clock = FakeClock()
    gov = ThrottleGovernor(
        LeakyBucketModel(up_front_cost=50, outflow=10, margin=20), max_in_flight=100, clock=clock
    )
    gov.acquire()
    gov.release({"x-rate-limit-remaining": "120"})
    clock.now += 3600  # an hour idle: still capped at the 120 ceiling, not 36,000
    admitted = 0
    while gov._wait_needed(clock()) == 0.0:
        gov.acquire()
        admitted += 1
    assert admitted == 2  # 120 - 50*2 = 20, not above the margin


def test_max_in_flight_blocks_until_release_from_another_thread() -> None:
    gov = ThrottleGovernor(max_in_flight=1)
    gov.acquire()
    gov.release({"x-rate-limit-remaining": "600"})
    gov.acquire()
    entered = threading.Event()

    def second() -> None:
        gov.acquire()
        entered.set()

    worker = threading.Thread(target=second)
    worker.start()
    assert not entered.wait(0.05)
    gov.release({"x-rate-limit-remaining": "600"})
    assert entered.wait(2.0)
    worker.join()
    assert gov.in_flight == 1


def test_reservations_sent_after_a_request_survive_its_reading() -> None:
    clock = FakeClock()
    gov = ThrottleGovernor(
        LeakyBucketModel(up_front_cost=50, outflow=10, margin=20), max_in_flight=10, clock=clock
    )
    first = gov.acquire()
    gov.release({"x-rate-limit-remaining": "120"}, ticket=first)
    a = gov.acquire()
    b = gov.acquire()  # sent after a: a's reply may not include b's reservation
    gov.release({"x-rate-limit-remaining": "119.5"}, ticket=a)
    # 120 ceiling - 119.5 read + 50 for b still in flight -> 50.5 filled; one more fits, not two
    assert gov._wait_needed(clock()) == 0.0
    gov.acquire()
    assert gov._wait_needed(clock()) > 0
    gov.release({"x-rate-limit-remaining": "69.0"}, ticket=b)
