"""Dagster definitions in-process: two Canvas shards materialised concurrently, then the SQL models."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest

pytest.importorskip(
    "dagster", reason="the orchestrate extra is not installed: pip install -e '.[orchestrate]'"
)

from dagster import DagsterInstance  # noqa: E402

from orchestration import build_definitions  # noqa: E402
from orchestration.resources import CanvasConnection, Warehouse  # noqa: E402
from sandbox.canvas import CanvasSandbox  # noqa: E402
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
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    return home


def _keys(con: duckdb.DuckDBPyConnection, table: str, columns: str) -> list[tuple[Any, ...]]:
    return [tuple(r) for r in con.execute(f"select {columns} from canvas.{table}").fetchall()]


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
        outcomes: dict[str, Any] = {}

        def materialise(key: str) -> None:
            try:
                outcomes[key] = job.execute_in_process(
                    partition_key=key, instance=instance, raise_on_error=True
                )
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
        assert names == {"canvas_pipeline__account_2", f"canvas_pipeline__courses_{listed[0]}_{listed[1]}"}
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
