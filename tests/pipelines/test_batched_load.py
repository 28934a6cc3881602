"""A run that loads its courses in several packages (`[load] batch_courses`): exactly the sandbox's
truth, idempotent reruns, incremental cursors kept per course, and a run stopped between batches
finished exactly by the next."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest
from dlt.pipeline.pipeline import Pipeline

from pipelines import brightspace_pipeline, canvas_pipeline, load
from sandbox.brightspace import BrightspaceSandbox
from sandbox.brightspace.truth import KEYS as BRIGHTSPACE_KEYS
from sandbox.canvas import CanvasSandbox

CANVAS_KEYS = {"submissions": ("course_id", "assignment_id", "user_id")}


@pytest.fixture
def canvas(monkeypatch: pytest.MonkeyPatch) -> Iterator[CanvasSandbox]:
    # 12 courses in batches of 5: three packages
    monkeypatch.setenv("LOAD__BATCH_COURSES", "5")
    with CanvasSandbox(size="small", seed=7, throttle="off") as sb:
        monkeypatch.setenv("SOURCES__CANVAS__BASE_URL", sb.base_url)
        monkeypatch.setenv("SOURCES__CANVAS__ACCESS_TOKEN", sb.admin_token)
        yield sb


def _canvas_rows(path: Path, sb: CanvasSandbox) -> None:
    """Every table holds exactly the sandbox's keys, each once; submissions carry the latest grades."""
    with duckdb.connect(str(path), read_only=True) as con:
        for table, count in sb.truth().items():
            key = ", ".join(CANVAS_KEYS.get(table, ("id",)))
            (rows, keys) = con.execute(  # type: ignore[misc]
                f"select count(*), count(distinct ({key})) from canvas.{table}"
            ).fetchone()
            assert (rows, keys) == (count, count), table
        served = {
            (r["course_id"], r["assignment_id"], r["user_id"]): (r["workflow_state"], r["score"])
            for r in sb.truth_rows("submissions")
        }
        loaded = con.execute(
            "select course_id, assignment_id, user_id, workflow_state, score from canvas.submissions"
        ).fetchall()
    assert {(c, a, u): (w, s) for c, a, u, w, s in loaded} == served


def _reports(path: Path, dataset: str) -> list[tuple[Any, ...]]:
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute(
            f"select status, load_ids from {dataset}.run_reports order by started_at"
        ).fetchall()


def test_canvas_in_three_batches_loads_the_truth_and_reruns_exactly(
    canvas: CanvasSandbox, dlt_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    warehouse = dlt_dir / "canvas_pipeline.duckdb"
    assert canvas_pipeline.main(["--no-transform"]) == 0
    out = capsys.readouterr().out
    for line in (
        "Normalizing ... (batch 1 of 3)",
        "Extracting batch 2 of 3 ...",
        "Loading into duckdb ... (batch 3 of 3)",
    ):
        assert line in out, out
    assert "batch 4" not in out
    # the account's grading period sets are read once for the run, not once per batch
    assert canvas.stats.by_route["/api/v1/accounts/:account_id/grading_period_sets"] == 1
    _canvas_rows(warehouse, canvas)
    ((status, load_ids),) = _reports(warehouse, "canvas")
    assert status == "succeeded" and len(load_ids.split(",")) == 3

    # a rerun without change, then one after the sandbox changed submissions: still exact
    assert canvas_pipeline.main(["--no-transform"]) == 0
    _canvas_rows(warehouse, canvas)
    changed = canvas.advance()
    assert changed.changed_submissions, "the sandbox changed no submission"
    assert canvas_pipeline.main(["--no-transform"]) == 0
    _canvas_rows(warehouse, canvas)
    assert [status for status, _ in _reports(warehouse, "canvas")] == ["succeeded"] * 3


def test_canvas_stopped_between_batches_is_finished_exactly_by_the_next_run(
    canvas: CanvasSandbox, dlt_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    warehouse = dlt_dir / "canvas_pipeline.duckdb"
    loads = {"n": 0}
    load = Pipeline.load

    def stop_before_the_second_load(self: Pipeline, *args: Any, **kwargs: Any) -> Any:
        # the run dies with batch 1 loaded and batch 2 normalized, as a kill between batches leaves it
        loads["n"] += 1
        if self.pipeline_name == "canvas_pipeline" and loads["n"] == 2:
            raise KeyboardInterrupt("stopped between batches")
        return load(self, *args, **kwargs)

    with monkeypatch.context() as patch:
        patch.setattr(Pipeline, "load", stop_before_the_second_load)
        with pytest.raises(KeyboardInterrupt):
            canvas_pipeline.main(["--no-transform"])
    with duckdb.connect(str(warehouse), read_only=True) as con:
        (partial,) = con.execute("select count(distinct course_id) from canvas.submissions").fetchone()  # type: ignore[misc]
    assert 0 < partial <= 5, "batch 1 was not loaded alone"

    canvas.advance()  # the next run sees changes too
    assert canvas_pipeline.main(["--no-transform"]) == 0
    _canvas_rows(warehouse, canvas)


def test_brightspace_in_batches_loads_the_truth_and_reruns_exactly(
    dlt_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("LOAD__BATCH_COURSES", "4")  # 10 offerings: three packages
    with BrightspaceSandbox(size="small", seed=11, throttle="off", job_step_seconds=0.0) as sb:
        for name, value in (
            ("BASE_URL", sb.base_url),
            ("TOKEN_URL", sb.token_url),
            ("CLIENT_ID", sb.client_id),
            ("CLIENT_SECRET", sb.client_secret),
            ("REFRESH_TOKEN", sb.initial_refresh_token),
            ("REFRESH_TOKEN_FILE", str(dlt_dir / "brightspace_refresh.token")),
        ):
            monkeypatch.setenv(f"SOURCES__BRIGHTSPACE__{name}", value)
        warehouse = dlt_dir / "brightspace_pipeline.duckdb"
        for run in range(3):
            if run == 2:
                sb.advance()
            assert brightspace_pipeline.main(["--no-transform"]) == 0
            if run == 0:
                out = capsys.readouterr().out
                assert "Extracting batch 3 of 3 ..." in out and "batch 4" not in out, out
            truth = sb.truth()
            with duckdb.connect(str(warehouse), read_only=True) as con:
                for table, columns in BRIGHTSPACE_KEYS.items():
                    key = ", ".join(_snake(c) for c in columns)
                    (rows, keys) = con.execute(  # type: ignore[misc]
                        f"select count(*), count(distinct ({key})) from brightspace.{table}"
                    ).fetchone()
                    assert (rows, keys) == (truth[table], truth[table]), (run, table)
                served = {
                    (r["OrgUnitId"], r["GradeObjectId"], r["UserId"]): r["PointsNumerator"]
                    for r in sb.truth_rows("grade_values")
                }
                loaded = con.execute(
                    "select org_unit_id, grade_object_id, user_id, points_numerator from brightspace.grade_values"
                ).fetchall()
            assert {(o, g, u): p for o, g, u, p in loaded} == served, run


def _snake(name: str) -> str:
    import re

    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def test_a_package_over_duckdbs_memory_limit_is_finished_without_it(
    canvas: CanvasSandbox, dlt_dir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The load's DuckDB memory limit comes from the package's size; a merge that needs more is
    finished without the limit, not left failed (here every package gets a limit far too small)."""
    from pipelines import warehouse

    limits: list[int] = []

    def tiny(rows: int) -> str:
        limits.append(rows)
        return "1MB"

    monkeypatch.setattr(warehouse, "load_memory_limit", tiny)
    assert canvas_pipeline.main(["--no-transform"]) == 0
    out = capsys.readouterr().out
    assert len(limits) == 3, limits  # one limit per package
    assert out.count("finishing it without the limit") == 3, out
    _canvas_rows(dlt_dir / "canvas_pipeline.duckdb", canvas)
    ((status, _),) = _reports(dlt_dir / "canvas_pipeline.duckdb", "canvas")
    assert status == "succeeded"


def test_a_storage_a_kill_left_half_made_is_finished_by_the_next_run(
    canvas: CanvasSandbox, dlt_dir: Path
) -> None:
    """A kill while dlt made the pipeline's load storage (its root and version file written, its
    package folders not yet: the crash loop hit it) must not stop every later run."""
    import shutil

    assert canvas_pipeline.main(["--no-transform"]) == 0
    working = dlt_dir / "dlt" / "pipelines" / "canvas_pipeline"
    for folder in ("load/normalized", "load/new", "normalize/extracted"):
        shutil.rmtree(working / folder)
    canvas.advance()
    assert canvas_pipeline.main(["--no-transform"]) == 0
    _canvas_rows(dlt_dir / "canvas_pipeline.duckdb", canvas)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/fd")
def test_the_row_counts_and_the_report_share_one_open_of_the_warehouse(
    canvas: CanvasSandbox, dlt_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Three packages: the file is opened for the state check and for each load; the last load, the
    row counts and the run report share one open (each used to open and checkpoint it on its own).
    The next run's state check does not open it at all."""
    warehouse = str(dlt_dir / "canvas_pipeline.duckdb")
    events: list[str] = []
    connect = duckdb.connect

    def counted_connect(database: Any = ":memory:", *args: Any, **kwargs: Any) -> Any:
        # DuckDB hands a process a second connection to a database it has open: an open of the file
        # is a connect while no descriptor of this process points at it
        if str(database) == warehouse and not _holds_open(warehouse):
            events.append("open")
        return connect(database, *args, **kwargs)

    def marked(name: str, step: Any) -> Any:
        def run(*args: Any, **kwargs: Any) -> Any:
            events.append(name)
            return step(*args, **kwargs)

        return run

    monkeypatch.setattr(duckdb, "connect", counted_connect)
    monkeypatch.setattr(load, "table_counts", marked("counts", load.table_counts))
    monkeypatch.setattr(load, "store_run_report", marked("report", load.store_run_report))
    monkeypatch.setattr(load, "_load_kept_open", marked("load", load._load_kept_open))
    assert canvas_pipeline.main(["--no-transform"]) == 0
    # state check; two loads that open the file themselves; the last one inside the run's open
    assert events == ["open"] + ["load", "open"] * 2 + ["open", "load", "counts", "counts", "report"]
    _canvas_rows(dlt_dir / "canvas_pipeline.duckdb", canvas)
    assert [status for status, _ in _reports(dlt_dir / "canvas_pipeline.duckdb", "canvas")] == ["succeeded"]

    # the next run's state check finds the file as this run left it (its mark) and does not open it
    canvas.advance()
    events.clear()
    assert canvas_pipeline.main(["--no-transform"]) == 0
    assert events[:2] == ["load", "open"], events
    _canvas_rows(dlt_dir / "canvas_pipeline.duckdb", canvas)


def _holds_open(path: str) -> bool:
    """Whether this process has `path` open (Linux: a descriptor in /proc/self/fd points at it)."""
    fds = Path("/proc/self/fd")
    return any(os.path.realpath(fds / fd) == os.path.realpath(path) for fd in os.listdir(fds))
