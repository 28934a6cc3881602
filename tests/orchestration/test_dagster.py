"""Dagster definitions in-process: two shards of each LMS materialised concurrently into one DuckDB file."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import duckdb
import pytest

pytest.importorskip(
    "dagster", reason="the orchestrate extra is not installed: pip install -e '.[orchestrate]'"
)

from dagster import DagsterInstance  # noqa: E402

from orchestration import build_definitions, resources  # noqa: E402
from orchestration.resources import BrightspaceConnection, CanvasConnection, Warehouse  # noqa: E402
from sandbox.brightspace import BrightspaceSandbox  # noqa: E402
from sandbox.canvas import CanvasSandbox  # noqa: E402
from sources.brightspace import BrightspaceApi  # noqa: E402
from sources.canvas import CanvasApi  # noqa: E402
from sources.lms_http.retry import RetryPolicy  # noqa: E402

FAST = RetryPolicy(max_attempts=10, base_delay=0.05, max_delay=1.0)
# both shard runs must be extracting at the same moment: each waits here at its first request
MEETING = threading.Barrier(2, timeout=60)


class MeetingCanvasApi(CanvasApi):
    """A Canvas client whose first request waits until the other shard's client makes its first."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._met = False
        self._meet_lock = threading.Lock()

    def _meet(self) -> None:
        with self._meet_lock:
            if not self._met:
                MEETING.wait()  # BrokenBarrierError if the shards ran one after the other
                self._met = True

    def get(self, *args: Any, **kwargs: Any) -> Any:
        self._meet()
        return super().get(*args, **kwargs)

    def pages(self, *args: Any, **kwargs: Any) -> Iterator[Any]:
        self._meet()
        yield from super().pages(*args, **kwargs)


class SandboxCanvas(CanvasConnection):
    """The sandbox's connection, with the meeting client."""

    def api(self) -> CanvasApi:
        base_url, token = self.connection()
        return MeetingCanvasApi(base_url, token, policy=FAST)


@pytest.fixture
def dagster_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "dagster_home"
    home.mkdir()
    # no step output capture: Dagster's local capture starts a `tail -F` per run, and parallel
    # in-process runs in one process left those behind after the test
    (home / "dagster.yaml").write_text(
        "compute_logs:\n"
        "  module: dagster._core.storage.noop_compute_log_manager\n"
        "  class: NoOpComputeLogManager\n"
    )
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    return home


def _keys(con: duckdb.DuckDBPyConnection, table: str, columns: str) -> list[tuple[Any, ...]]:
    return [tuple(r) for r in con.execute(f"select {columns} from canvas.{table}").fetchall()]


def materialise_in_parallel(job: Any, instance: DagsterInstance, shards: list[str]) -> None:
    """Run `job` for every shard partition at once, one thread each; every run must succeed."""
    outcomes: dict[str, Any] = {}

    def materialise(key: str) -> None:
        try:
            outcomes[key] = job.execute_in_process(partition_key=key, instance=instance, raise_on_error=True)
        except BaseException as exc:  # reported below, with the shard's name
            outcomes[key] = exc

    threads = [threading.Thread(target=materialise, args=(key,)) for key in shards]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=240)
    for key in shards:
        outcome = outcomes.get(key)
        assert outcome is not None and not isinstance(outcome, BaseException), f"shard {key}: {outcome!r}"
        assert outcome.success


def test_two_shards_in_parallel_then_models_equal_the_sandbox(dlt_dir: Path, dagster_home: Path) -> None:
    warehouse_file = dlt_dir / "lms.duckdb"
    with CanvasSandbox(size="small", seed=7, throttle="default") as sb:
        courses = sb.truth_rows("courses")
        in_account = {c["id"] for c in courses if c["account_id"] == 2}
        listed = sorted(c["id"] for c in courses if c["account_id"] != 2)[:2]
        assert in_account and len(listed) == 2
        union = in_account | set(listed)
        shards = ["account=2", f"courses={listed[0]}+{listed[1]}"]
        defs = build_definitions(
            canvas_shards=shards,
            brightspace_shards=["all"],
            resources={
                "canvas": SandboxCanvas(base_url=sb.base_url, access_token=sb.admin_token),
                "warehouse": Warehouse(duckdb_path=str(warehouse_file)),
            },
        )
        instance = DagsterInstance.get()
        job = defs.resolve_job_def("canvas_shards")
        materialise_in_parallel(job, instance, shards)
        models = defs.resolve_job_def("sql_models").execute_in_process(instance=instance)
        assert models.success

        truth = sb.truth()
        by_course = {
            table: {(r["id"],) for r in sb.truth_rows(table) if r["course_id"] in union}
            for table in ("sections", "enrollments", "assignments")
        }
        groups = {(g.id,) for c in sb.institution.courses if c.id in union for g in c.groups}
        submissions = {k for k in sb.truth_keys("submissions") if k[0] in union}

    with duckdb.connect(str(warehouse_file)) as con:
        # the course shard ran with the root account: accounts, terms and users are whole
        for table in ("accounts", "terms", "users"):
            keys = _keys(con, table, "id")
            assert len(keys) == len(set(keys)) == truth[table], table
        assert set(_keys(con, "courses", "id")) == {(c,) for c in union}
        for table, expected in {**by_course, "assignment_groups": groups}.items():
            keys = _keys(con, table, "id")
            assert len(keys) == len(set(keys)), f"duplicate keys in {table}"
            assert set(keys) == expected, table
        subs = _keys(con, "submissions", "course_id, assignment_id, user_id")
        assert len(subs) == len(set(subs)) == len(submissions)
        assert set(subs) == submissions
        # each shard kept its own dlt state
        names = {
            r[0]
            for r in con.execute("select distinct pipeline_name from canvas._dlt_pipeline_state").fetchall()
        }
        shard_pipelines = {"canvas_pipeline__account_2", f"canvas_pipeline__courses_{listed[0]}_{listed[1]}"}
        assert names == shard_pipelines
        # each materialisation stored its run report, as a CLI run does (the load library's)
        reports = con.execute(
            "select pipeline_name, lms, shard, status, schema_contract, rows_loaded, run_id "
            "from canvas.run_reports"
        ).fetchall()
        assert {r[:5] for r in reports} == {
            ("canvas_pipeline__account_2", "canvas", "account=2", "succeeded", "evolve"),
            (
                f"canvas_pipeline__courses_{listed[0]}_{listed[1]}",
                "canvas",
                shards[1],
                "succeeded",
                "evolve",
            ),
        }
        for *_, rows_loaded, run_id in reports:
            tables = con.execute(
                "select sum(rows_loaded) from canvas.run_reports__tables where run_id = ?", [run_id]
            ).fetchone()
            assert tables is not None and rows_loaded == tables[0] > 0
        # the models saw both shards
        mart = {
            r[0]
            for r in con.execute("select course_id from analytics.courses where lms = 'canvas'").fetchall()
        }
        assert mart == union
        graded = con.execute(
            "select count(distinct course_id) from analytics.gradebook where lms = 'canvas'"
        ).fetchone()
        assert graded is not None and graded[0] == len(union)


# Brightspace tables and their keys as loaded (snake_case columns)
BS_KEYS: dict[str, tuple[str, ...]] = {
    "org_units": ("org_unit_id",),
    "users": ("user_id",),
    "courses": ("org_unit_id",),
    "enrollments": ("org_unit_id", "user_id"),
    "classlists": ("org_unit_id", "user_id"),
    "grade_setup": ("org_unit_id",),
    "grade_categories": ("org_unit_id", "category_id"),
    "grade_objects": ("org_unit_id", "grade_object_id"),
    "grade_values": ("org_unit_id", "grade_object_id", "user_id"),
    "final_grades": ("org_unit_id", "user_id"),
    "content_user_progress": ("org_unit_id", "object_id", "user_id"),
    "attendance_registers": ("attendance_register_id",),
    "attendance_sessions": ("attendance_session_id",),
    "attendance_user_sessions": ("user_id", "attendance_session_id"),
}
# read in full by every shard (Brightspace Data Sets are organisation-wide extracts); the rest
# belong to the shard's course offerings
BS_ACCOUNT_WIDE = (
    "org_units",
    "users",
    "attendance_registers",
    "attendance_sessions",
    "attendance_user_sessions",
)
# sandbox truth tables whose first key column is the course offering's OrgUnitId
BS_BY_ORG_UNIT = (
    "courses",
    "enrollments",
    "classlists",
    "grade_setup",
    "grade_categories",
    "grade_objects",
    "grade_values",
    "final_grades",
    "content_user_progress",
)


class MeetingBrightspaceApi:
    """One shard run's view of the process's shared Brightspace client: its first request waits
    until the other shard run has made its first."""

    def __init__(self, shared: BrightspaceApi, meeting: threading.Barrier) -> None:
        self._shared = shared
        self._meeting = meeting
        self._met = False
        self._meet_lock = threading.Lock()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._shared, name)

    def _meet(self) -> None:
        with self._meet_lock:
            if not self._met:
                self._meeting.wait()  # BrokenBarrierError if the shards ran one after the other
                self._met = True

    def get(self, *args: Any, **kwargs: Any) -> Any:
        self._meet()
        return self._shared.get(*args, **kwargs)

    def pages(self, *args: Any, **kwargs: Any) -> Iterator[Any]:
        self._meet()
        yield from self._shared.pages(*args, **kwargs)

    def rows(self, *args: Any, **kwargs: Any) -> list[Any]:
        self._meet()
        return self._shared.rows(*args, **kwargs)


BRIGHTSPACE_MEETING = threading.Barrier(2, timeout=60)


class SandboxBrightspace(BrightspaceConnection):
    """The sandbox's OAuth2 app: the shared client of `BrightspaceConnection`, met per shard run."""

    def api(self) -> BrightspaceApi:
        return cast(BrightspaceApi, MeetingBrightspaceApi(super().api(), BRIGHTSPACE_MEETING))


def _bs_keys(con: duckdb.DuckDBPyConnection, table: str) -> list[tuple[Any, ...]]:
    columns = ", ".join(BS_KEYS[table])
    return [tuple(r) for r in con.execute(f"select {columns} from brightspace.{table}").fetchall()]


def _bs_expected(sb: BrightspaceSandbox, union: set[int]) -> dict[str, set[tuple[Any, ...]]]:
    """The truth's keys of every table, per-course tables restricted to the org units in `union`."""
    expected = {table: sb.truth_keys(table) for table in BS_ACCOUNT_WIDE}
    for table in BS_BY_ORG_UNIT:
        expected[table] = {k for k in sb.truth_keys(table) if k[0] in union}
    return expected


def test_two_brightspace_shards_in_parallel_equal_the_sandbox(
    dlt_dir: Path, dagster_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    warehouse_file = dlt_dir / "lms.duckdb"
    # this test's own process-wide client cache (one client per OAuth2 app, shared by the shards)
    monkeypatch.setattr(resources, "_BRIGHTSPACE_CLIENTS", {})
    with BrightspaceSandbox(size="small", seed=11, throttle="default", job_step_seconds=0.05) as sb:
        offerings = sorted(k[0] for k in sb.truth_keys("courses"))
        assert len(offerings) >= 6
        first, second = offerings[:2], offerings[3:5]
        union = {*first, *second}
        shards = [f"org_units={first[0]}+{first[1]}", f"org_units={second[0]}+{second[1]}"]
        connection = SandboxBrightspace(
            base_url=sb.base_url,
            client_id=sb.client_id,
            client_secret=sb.client_secret,
            refresh_token=sb.initial_refresh_token,
            token_url=sb.token_url,
            refresh_token_file=str(dlt_dir / "tokens" / "brightspace.token"),
        )
        defs = build_definitions(
            canvas_shards=["all"],
            brightspace_shards=shards,
            resources={"brightspace": connection, "warehouse": Warehouse(duckdb_path=str(warehouse_file))},
        )
        instance = DagsterInstance.get()
        job = defs.resolve_job_def("brightspace_shards")
        materialise_in_parallel(job, instance, shards)
        truth = sb.truth()
        expected = _bs_expected(sb, union)
        # one client served both shard runs: one refresh-token grant chain, never a rejected refresh
        assert len(resources._BRIGHTSPACE_CLIENTS) == 1
        assert sb.stats["refreshes_rejected"] == 0

    with duckdb.connect(str(warehouse_file)) as con:
        for table in BS_ACCOUNT_WIDE:
            assert len(expected[table]) == truth[table], table
        assert {k[0] for k in expected["courses"]} == union
        for table, keys in expected.items():
            assert keys, f"the sandbox has no {table} rows in the shards: pick other org units"
            loaded = _bs_keys(con, table)
            assert len(loaded) == len(set(loaded)), f"duplicate keys in {table}"
            assert set(loaded) == keys, table
        names = {
            r[0]
            for r in con.execute(
                "select distinct pipeline_name from brightspace._dlt_pipeline_state"
            ).fetchall()
        }
        assert names == {
            f"brightspace_pipeline__org_units_{first[0]}_{first[1]}",
            f"brightspace_pipeline__org_units_{second[0]}_{second[1]}",
        }
