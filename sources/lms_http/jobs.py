"""Async jobs: submit, poll with capped exponential backoff until done or timed out, download."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from .errors import LmsApiError

logger = logging.getLogger(__name__)

T = TypeVar("T")


class JobFailedError(LmsApiError):
    """The LMS reported that an async job (export, report, import) ended in error."""

    def __init__(self, message: str, job_name: str, job_id: str, status: str) -> None:
        super().__init__(message)
        self.job_name = job_name
        self.job_id = job_id
        self.job_status = status


class JobTimeoutError(LmsApiError):
    """An async job did not reach a terminal state within the allowed time."""

    def __init__(self, message: str, job_name: str, job_id: str, status: str) -> None:
        super().__init__(message)
        self.job_name = job_name
        self.job_id = job_id
        self.job_status = status


@dataclass(frozen=True)
class JobState:
    """One poll's answer: the LMS's status label and whether it is final."""

    status: str
    done: bool = False
    failed: bool = False
    detail: str | None = None
    progress: float | None = None  # 0..100 where the LMS reports it

    @property
    def terminal(self) -> bool:
        return self.done or self.failed


@dataclass
class PollPolicy:
    """How often to poll: `first_delay`, times `factor` each poll, at most `max_delay`, for `timeout`."""

    first_delay: float = 0.5
    factor: float = 2.0
    max_delay: float = 30.0
    timeout: float = 1800.0

    def delays(self) -> Callable[[int], float]:
        def delay(poll: int) -> float:
            return min(self.max_delay, self.first_delay * self.factor ** max(poll - 1, 0))

        return delay


@dataclass
class AsyncJob(Generic[T]):
    """One kind of async job, as three calls: submit -> job id, check(id) -> state, download(id)."""

    name: str
    submit: Callable[[], str]
    check: Callable[[str], JobState]
    download: Callable[[str], T]


class JobPoller:
    """Runs async jobs to completion. `sleep` and `clock` are injectable so tests never wait.

    Polls back off exponentially (capped), so a long export costs a few dozen requests, not
    thousands; a job that errors or outlives the timeout raises an error naming it.
    """

    def __init__(
        self,
        policy: PollPolicy | None = None,
        *,
        lms: str = "LMS",
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.policy = policy or PollPolicy()
        self.lms = lms
        self._sleep = sleep
        self._clock = clock

    def wait(self, name: str, job_id: str, check: Callable[[str], JobState]) -> JobState:
        """Poll `check(job_id)` until the job is done.

        Returns:
            The final (done) state.

        Raises:
            JobFailedError: the job ended in an error state.
            JobTimeoutError: the job was still running after `policy.timeout` seconds.
        """
        delay = self.policy.delays()
        deadline = self._clock() + self.policy.timeout
        polls = 0
        while True:
            state = check(job_id)
            polls += 1
            if state.failed:
                detail = f": {state.detail}" if state.detail else ""
                raise JobFailedError(
                    f"{self.lms} job {name!r} (id {job_id}) ended with status {state.status}{detail}. "
                    "Check the job in the LMS (data set permissions, filters) and run again.",
                    name,
                    job_id,
                    state.status,
                )
            if state.done:
                logger.info("%s job %s (%s) done after %d polls", self.lms, name, job_id, polls)
                return state
            now = self._clock()
            if now >= deadline:
                raise JobTimeoutError(
                    f"{self.lms} job {name!r} (id {job_id}) was still {state.status} after "
                    f"{self.policy.timeout:.0f}s ({polls} polls). Raise the job timeout or try "
                    "again when the LMS is less busy.",
                    name,
                    job_id,
                    state.status,
                )
            # never sleep past the deadline: the last poll happens at it
            self._sleep(max(0.0, min(delay(polls), deadline - now)))

    def run(self, job: AsyncJob[T]) -> T:
        """Submit `job`, wait for it, download its result."""
        job_id = job.submit()
        logger.info("%s job %s submitted as %s", self.lms, job.name, job_id)
        self.wait(job.name, job_id, job.check)
        return job.download(job_id)


__all__ = ["AsyncJob", "JobFailedError", "JobPoller", "JobState", "JobTimeoutError", "PollPolicy"]
