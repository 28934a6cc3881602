"""Reliability fixtures: served sandboxes, a baseline warehouse per LMS copied per test, exact comparisons."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dlt
import duckdb
import pytest

from sandbox.brightspace import BrightspaceSandbox
from sandbox.canvas import CanvasSandbox
from sources.brightspace import BrightspaceApi, brightspace_source, connect
from sources.canvas import CanvasApi, canvas_source
from sources.lms_http.governor import LeakyBucketModel
from sources.lms_http.jobs import PollPolicy
from sources.lms_http.oauth import MemoryTokenStore
from sources.lms_http.retry import RetryPolicy

# Resources each fault-mix run loads: every paging shape, parent -> child fetches, incremental
# submissions / grade values and (Brightspace) a Data Hub export, without the slowest extras.
CANVAS_RESOURCES = ["courses", "users", "enrollments", "assignments", "submissions"]
CANVAS_KEYS: dict[str, tuple[str, ...]] = {
    "courses": ("id",),
    "users": ("id",),
    "enrollments": ("id",),
    "assignments": ("id",),
    "submissions": ("course_id", "assignment_id", "user_id"),
}
BRIGHTSPACE_RESOURCES = [
    "users",
    "courses",
    "enrollments",
    "grade_objects",
    "grade_values",
    "attendance_registers",
]
BRIGHTSPACE_KEYS: dict[str, tuple[str, ...]] = {
    "users": ("user_id",),
    "courses": ("org_unit_id",),
    "enrollments": ("org_unit_id", "user_id"),
    "grade_objects": ("org_unit_id", "grade_object_id"),
    "grade_values": ("org_unit_id", "grade_object_id", "user_id"),
    "attendance_registers": ("attendance_register_id",),
}
# 8 attempts per request; backoff never sleeps for real (see `no_sleep`)
POLICY = RetryPolicy(max_attempts=8, base_delay=0.5, max_delay=8.0)
# the client gives up on a reply after this long; "slow" faults stall longer
CLIENT_TIMEOUT = 1.0
SLOW_SECONDS = 1.5
# a bucket that drains fast: an injected throttle storm costs milliseconds of pacing, not seconds
FAST_BUCKET = LeakyBucketModel(outflow=5000.0)


def soak_enabled(config: pytest.Config) -> bool:
    """The longer soak variant: `pytest --soak` (tests/conftest.py) or LMS_SOAK=1."""
    try:
        flag = bool(config.getoption("--soak"))
    except ValueError:
        flag = False
    return flag or os.environ.get("LMS_SOAK") == "1"


@pytest.fixture(scope="session")
def soak(pytestconfig: pytest.Config) -> bool:
    """Whether to run the soak variant (more mixes and seeds)."""
    return soak_enabled(pytestconfig)


def no_sleep(seconds: float) -> None:
    """Backoff stand-in: retries go out at once (the sandbox's faults do not depend on time)."""


def warehouse_snapshot(db: Path, dataset: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table of a dataset (load ids included), sorted: "as it was" is equality."""
    if not db.exists():
        return {}
    with duckdb.connect(str(db), read_only=True) as con:
        tables = [
            r[0]
            for r in con.execute(
                "select table_name from information_schema.tables where table_schema = ? order by 1",
                [dataset],
            ).fetchall()
        ]
        return {
            t: sorted(con.execute(f'select * from "{dataset}"."{t}"').fetchall(), key=repr) for t in tables
        }


def keys_in(db: Path, dataset: str, table: str, columns: tuple[str, ...]) -> list[tuple[Any, ...]]:
    """The key columns of every row of a table."""
    with duckdb.connect(str(db), read_only=True) as con:
        cols = ", ".join(columns)
        return [tuple(r) for r in con.execute(f'select {cols} from "{dataset}"."{table}"').fetchall()]


@dataclass
class World:
    """One LMS: its sandbox (advanced past the baseline), the baseline warehouse and how to load."""

    lms: str
    sandbox: Any
    keys: dict[str, tuple[str, ...]]
    dataset: str
    baseline: Path
    run_source: Callable[[dlt.Pipeline, Any], Any]
    make_api: Callable[..., Any]
    made: list[Any] = field(default_factory=list)

    def fresh(self, where: Path) -> tuple[dlt.Pipeline, Path]:
        """A copy of the baseline (pipeline state and warehouse) under `where`, and its pipeline."""
        shutil.copytree(self.baseline, where)
        return self.pipeline(where), where / "warehouse.duckdb"

    def pipeline(self, where: Path) -> dlt.Pipeline:
        return dlt.pipeline(
            f"{self.lms}_faults",
            pipelines_dir=str(where / "pipelines"),
            destination=dlt.destinations.duckdb(str(where / "warehouse.duckdb")),
            dataset_name=self.dataset,
        )

    def secrets(self, api: Any) -> list[str]:
        """The credentials a client holds (none may appear in an error)."""
        if self.lms == "canvas":
            return [api._auth.token]
        sb = self.sandbox
        return [
            s
            for s in (sb.client_secret, api.auth.store.load(), getattr(api.auth, "_access_token", None))
            if s
        ]

    def advance(self) -> None:
        """Change the sandbox so the baseline is stale: a stopped run is then told from a completed one."""
        self.sandbox.advance()
        with pytest.raises(AssertionError):
            self.assert_matches_truth(self.baseline / "warehouse.duckdb")

    def assert_matches_truth(self, db: Path) -> None:
        """Row counts and keys equal the sandbox's truth, no duplicates."""
        truth = self.sandbox.truth()
        for table, columns in self.keys.items():
            keys = keys_in(db, self.dataset, table, columns)
            assert len(keys) == len(set(keys)), f"{self.lms} {table}: duplicate keys"
            assert len(keys) == truth[table], f"{self.lms} {table}: {len(keys)} rows, truth {truth[table]}"
            assert set(keys) == self.sandbox.truth_keys(table), f"{self.lms} {table}: keys differ"


def _canvas_api(sb: CanvasSandbox, token: str | None = None, policy: RetryPolicy = POLICY) -> CanvasApi:
    return CanvasApi(
        sb.base_url,
        token or sb.issue_token(),  # a token per client: a test may revoke its own
        policy=policy,
        bucket=FAST_BUCKET,
        request_timeout=CLIENT_TIMEOUT,
        sleep=no_sleep,
    )


def _run_canvas(pipeline: dlt.Pipeline, api: CanvasApi) -> Any:
    source = canvas_source(api=api, strict=True)
    return pipeline.run(source.with_resources(*CANVAS_RESOURCES))


def _brightspace_api(sb: BrightspaceSandbox, policy: RetryPolicy = POLICY) -> BrightspaceApi:
    return connect(
        sb.base_url,
        sb.client_id,
        sb.client_secret,
        sb.initial_refresh_token,
        token_url=sb.token_url,
        token_store=_shared_store(sb),
        policy=policy,
        request_timeout=CLIENT_TIMEOUT,
        poll_policy=PollPolicy(first_delay=0.01, factor=1.0, max_delay=0.01, timeout=30.0),
        sleep=no_sleep,
    )


_STORES: dict[int, MemoryTokenStore] = {}


def _shared_store(sb: BrightspaceSandbox) -> MemoryTokenStore:
    # refresh tokens rotate and are single-use: every client of one sandbox shares the latest one
    return _STORES.setdefault(id(sb), MemoryTokenStore())


def _run_brightspace(pipeline: dlt.Pipeline, api: BrightspaceApi) -> Any:
    source = brightspace_source(api=api, strict=True)
    return pipeline.run(source.with_resources(*BRIGHTSPACE_RESOURCES))


@pytest.fixture(scope="module")
def canvas_world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """Canvas small, a baseline load, then one day of changes: a stopped run must leave the baseline."""
    with CanvasSandbox(size="small", seed=7, throttle="off") as sb:
        base = tmp_path_factory.mktemp("canvas_baseline")
        world = World(
            "canvas", sb, CANVAS_KEYS, "canvas", base, _run_canvas, lambda **kw: _canvas_api(sb, **kw)
        )
        info = _run_canvas(world.pipeline(base), world.make_api())
        assert not info.has_failed_jobs
        world.assert_matches_truth(base / "warehouse.duckdb")
        world.advance()
        yield world


@pytest.fixture(scope="module")
def brightspace_world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """Brightspace small, a baseline load, then one day of changes."""
    with BrightspaceSandbox(size="small", seed=11, throttle="off", job_step_seconds=0.0) as sb:
        base = tmp_path_factory.mktemp("brightspace_baseline")
        world = World(
            "brightspace",
            sb,
            BRIGHTSPACE_KEYS,
            "brightspace",
            base,
            _run_brightspace,
            lambda **kw: _brightspace_api(sb, **kw),
        )
        info = _run_brightspace(world.pipeline(base), world.make_api())
        assert not info.has_failed_jobs
        world.assert_matches_truth(base / "warehouse.duckdb")
        world.advance()
        yield world
