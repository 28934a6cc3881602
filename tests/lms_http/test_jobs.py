"""The async-job poller with an injected clock and sleep: backoff, completion, errors, timeout."""

from __future__ import annotations

import pytest

from sources.lms_http.jobs import AsyncJob, JobFailedError, JobPoller, JobState, JobTimeoutError, PollPolicy


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def scripted(states: list[JobState]) -> tuple[list[str], AsyncJob[str]]:
    calls: list[str] = []

    def submit() -> str:
        calls.append("submit")
        return "job-1"

    def check(job_id: str) -> JobState:
        calls.append(f"check {job_id}")
        return states.pop(0) if len(states) > 1 else states[0]

    def download(job_id: str) -> str:
        calls.append(f"download {job_id}")
        return "payload"

    return calls, AsyncJob("Attendance Registers", submit, check, download)


def test_polls_with_capped_exponential_backoff_then_downloads() -> None:
    t = FakeTime()
    running = JobState("Processing")
    calls, job = scripted([JobState("Queued"), *[running] * 6, JobState("Complete", done=True)])
    poller = JobPoller(
        PollPolicy(first_delay=0.5, factor=2, max_delay=4, timeout=600), sleep=t.sleep, clock=t.clock
    )
    assert poller.run(job) == "payload"
    assert t.sleeps == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0, 4.0]
    assert calls[0] == "submit" and calls[-1] == "download job-1"
    assert calls.count("check job-1") == 8


def test_job_error_is_a_clear_error_naming_the_job() -> None:
    t = FakeTime()
    calls, job = scripted([JobState("Processing"), JobState("Error", failed=True, detail="export failed")])
    poller = JobPoller(lms="Brightspace", sleep=t.sleep, clock=t.clock)
    with pytest.raises(JobFailedError) as info:
        poller.run(job)
    err = info.value
    assert err.job_name == "Attendance Registers" and err.job_id == "job-1" and err.job_status == "Error"
    assert "Attendance Registers" in str(err) and "job-1" in str(err) and "export failed" in str(err)
    assert not any(c.startswith("download") for c in calls)


def test_timeout_is_a_clear_error_and_never_sleeps_past_the_deadline() -> None:
    t = FakeTime()
    _, job = scripted([JobState("Queued")])
    poller = JobPoller(
        PollPolicy(first_delay=1, factor=2, max_delay=8, timeout=20), sleep=t.sleep, clock=t.clock
    )
    with pytest.raises(JobTimeoutError) as info:
        poller.run(job)
    assert t.sleeps == [1, 2, 4, 8, 5]  # the last sleep stops at the deadline
    assert t.now == 20
    assert "still Queued" in str(info.value) and "job-1" in str(info.value)


def test_done_on_first_poll_needs_no_sleep() -> None:
    t = FakeTime()
    _, job = scripted([JobState("Complete", done=True)])
    assert JobPoller(sleep=t.sleep, clock=t.clock).run(job) == "payload"
    assert t.sleeps == []
