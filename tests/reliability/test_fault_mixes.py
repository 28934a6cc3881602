"""Fault mixes on both LMSs: a run completes equal to the truth, or stops clearly and leaves the warehouse as it was."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from dlt.pipeline.exceptions import PipelineStepFailed

from sandbox.faults import FaultPlan, Scheduled
from sources.lms_http.errors import (
    LmsApiError,
    LmsAuthError,
    LmsBadReplyError,
    LmsConnectionError,
    LmsPaginationLoopError,
    LmsServerError,
    LmsThrottledError,
)
from sources.lms_http.retry import RetryPolicy

from .conftest import SLOW_SECONDS, World, soak_enabled, warehouse_snapshot


@dataclass(frozen=True)
class Mix:
    """A fault mix and what the run under it must do.

    `expect` is "complete" (warehouse equals the truth), "stop" (a clear error of type `error`,
    warehouse unchanged) or "either" (one of the two, decided by whether `stops_if` was injected).
    """

    name: str
    plan: FaultPlan
    expect: str = "complete"
    error: type[LmsApiError] = LmsApiError
    stops_if: str | None = None
    lms: tuple[str, ...] = ("canvas", "brightspace")
    extra: dict[str, Any] = field(default_factory=dict)


def _rates(seed: int, **rates: float) -> FaultPlan:
    return FaultPlan(seed=seed, rates=rates, slow_seconds=SLOW_SECONDS)


def mixes(seed: int) -> list[Mix]:
    """Each fault at a moderate rate, the stopping faults, and a combined registration-week mix."""
    return [
        Mix("server_errors", _rates(seed, **{"500": 0.03, "502": 0.03, "503": 0.03, "504": 0.03})),
        Mix("resets", _rates(seed, reset=0.08)),
        Mix("timeouts", _rates(seed, slow=0.04)),
        Mix("bad_json", _rates(seed, truncated=0.05, malformed=0.05)),
        Mix("html_200", _rates(seed, html=0.08)),
        Mix(
            "throttle_storm",
            FaultPlan(seed=seed, rates={"throttle": 0.03}, schedule=[Scheduled("throttle", at=15, count=5)]),
        ),
        # a listing whose later pages repeat the previous next link must stop the run, never load a
        # partial listing (every later page loops: the incremental rerun has few multi-page listings)
        Mix("pagination_loop", _rates(seed, loop=1.0), expect="stop", error=LmsPaginationLoopError),
        # an outage longer than the retries: every submissions listing answers 503
        Mix(
            "outage",
            FaultPlan(
                seed=seed, schedule=[Scheduled("503", path=r"/submissions|/grades/values", count=10_000)]
            ),
            expect="stop",
            error=LmsServerError,
        ),
        # Canvas: a revoked token is a 401 like real Canvas -> clear error; Brightspace refreshes
        Mix(
            "token_revoked", FaultPlan(seed=seed, schedule=[Scheduled("revoke", at=40)]), lms=("brightspace",)
        ),
        Mix(
            "token_revoked",
            FaultPlan(seed=seed, schedule=[Scheduled("revoke", at=40)]),
            expect="stop",
            error=LmsAuthError,
            lms=("canvas",),
        ),
        Mix(
            "registration_week",
            FaultPlan(
                seed=seed,
                rates={
                    "throttle": 0.04,
                    "500": 0.01,
                    "502": 0.01,
                    "503": 0.02,
                    "504": 0.01,
                    "reset": 0.02,
                    "slow": 0.02,
                    "truncated": 0.01,
                    "malformed": 0.01,
                    "html": 0.01,
                },
                schedule=[Scheduled("throttle", at=10, count=4), Scheduled("503", at=60, count=3)],
                slow_seconds=SLOW_SECONDS,
            ),
        ),
    ]


def soak_mixes(seed: int) -> list[Mix]:
    """Extra mixes for the soak: sparse loops (the run stops only if one was injected) and heavier rates."""
    return [
        Mix(
            "sparse_loops",
            _rates(seed, loop=0.2),
            expect="either",
            error=LmsPaginationLoopError,
            stops_if="loop",
        ),
        Mix(
            "everything_heavy",
            _rates(
                seed,
                **{"500": 0.03, "503": 0.03, "504": 0.02},
                reset=0.04,
                slow=0.03,
                truncated=0.03,
                malformed=0.02,
                html=0.03,
                throttle=0.06,
            ),
        ),
    ]


def cases(soak: bool) -> list[Any]:
    seeds = [1, 2, 3, 4, 5] if soak else [1]
    return [
        pytest.param((lms, mix), id=f"{lms}-{mix.name}-seed{seed}")
        for lms in ("canvas", "brightspace")
        for seed in seeds
        for mix in mixes(seed) + (soak_mixes(seed) if soak else [])
        if lms in mix.lms
    ]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "lms_mix" in metafunc.fixturenames:
        metafunc.parametrize("lms_mix", cases(soak_enabled(metafunc.config)))


def cause_of(exc: BaseException, kind: type[BaseException]) -> BaseException | None:
    seen: BaseException | None = exc
    while seen is not None and not isinstance(seen, kind):
        seen = seen.__cause__ or seen.__context__
    return seen


def world_of(request: pytest.FixtureRequest, lms: str) -> World:
    return request.getfixturevalue(f"{lms}_world")


def test_fault_mix(lms_mix: tuple[str, Mix], request: pytest.FixtureRequest, tmp_path: Path) -> None:
    lms, mix = lms_mix
    world = world_of(request, lms)
    sb = world.sandbox
    pipeline, db = world.fresh(tmp_path / "run")
    before = warehouse_snapshot(db, world.dataset)
    api = world.make_api()

    sb.faults = mix.plan
    try:
        try:
            info = world.run_source(pipeline, api)
            error: BaseException | None = None
        except PipelineStepFailed as exc:
            error = exc
        injected = sb.faults_injected()
    finally:
        sb.faults = None
    stats = api.stats.as_dict()
    outcome = type(cause_of(error, LmsApiError) or error).__name__ if error else "completed"
    print(f"{lms} {mix.name}: {outcome}; injected {injected}, retries {stats['retries']}")

    expect = mix.expect
    if expect == "either":
        expect = "stop" if injected.get(mix.stops_if or "") else "complete"
    if expect == "complete":
        assert error is None, f"{mix.name} should have completed: {error}"
        assert not info.has_failed_jobs
        world.assert_matches_truth(db)
        if mix.expect == "complete":
            assert sum(injected.values()) > 0, "the mix injected nothing: the test would prove nothing"
        return

    assert error is not None, f"{mix.name} should have stopped (injected {injected})"
    clear = cause_of(error, mix.error)
    assert clear is not None, f"expected {mix.error.__name__}, got {error!r}"
    message = str(clear)
    assert clear.url and clear.url in message, f"the error should name the URL path: {message}"
    assert "?" not in clear.url
    for secret in world.secrets(api):
        assert secret not in message and secret not in repr(error), "a secret reached the error"
    assert not pipeline.has_pending_data, "a stopped run left a package to load"
    assert warehouse_snapshot(db, world.dataset) == before, "a stopped run changed the warehouse"

    # the next run, faults off (Canvas: with a new token), completes exactly
    api = world.make_api(token=sb.issue_token()) if lms == "canvas" else world.make_api()
    info = world.run_source(world.pipeline(tmp_path / "run"), api)
    assert not info.has_failed_jobs
    world.assert_matches_truth(db)


@pytest.mark.parametrize(
    ("kind", "error", "cause"),
    [
        ("503", LmsServerError, "server_error"),
        ("reset", LmsConnectionError, "reset"),
        ("slow", LmsConnectionError, "timeout"),
        ("truncated", LmsBadReplyError, "malformed"),
        ("malformed", LmsBadReplyError, "malformed"),
        ("html", LmsBadReplyError, "html"),
        ("throttle", LmsThrottledError, "throttled"),
    ],
)
@pytest.mark.parametrize("lms", ["canvas", "brightspace"])
def test_a_fault_that_outlasts_the_retries_is_a_clear_error(
    lms: str, kind: str, error: type[LmsApiError], cause: str, request: pytest.FixtureRequest
) -> None:
    world = world_of(request, lms)
    api = world.make_api(policy=RetryPolicy(max_attempts=3))
    path = r"/users/?$"
    world.sandbox.faults = FaultPlan(
        schedule=[Scheduled(kind, path=path, count=3)], slow_seconds=SLOW_SECONDS
    )
    try:
        listing = "accounts/self/users" if lms == "canvas" else api.lp("users/")
        with pytest.raises(error) as raised:
            api.rows(listing)
        assert world.sandbox.faults_injected() == {kind: 3}
    finally:
        world.sandbox.faults = None
    assert api.stats.retries[cause] == 2
    assert api.stats.gave_up == {cause: 1}
    message = str(raised.value)
    assert raised.value.url and raised.value.url in message and "?" not in message
    assert "rerun" in message.lower() or "lower the concurrency" in message.lower()
    for secret in world.secrets(api):
        assert secret not in message
    # the same listing, faults off, reads every row
    assert len(api.rows(listing)) == world.sandbox.truth()["users"]
