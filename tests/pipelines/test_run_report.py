"""The run report: printed and appended to `run_reports` with exact figures; the run options plumbing."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dlt
import duckdb
import pytest
from dlt.common.schema.exceptions import DataValidationError

from pipelines import brightspace_pipeline, canvas_pipeline
from pipelines.load import LoadRequest, describe_error, load_source
from pipelines.run_report import (
    DISCARDED_SUFFIX,
    REPORT_COLUMNS,
    REPORT_PIPELINE_SUFFIX,
    REPORT_TABLE,
    RunReport,
    redact,
    report_pipeline,
    report_resource,
    report_schema,
    store_run_report,
)
from sandbox.brightspace import BrightspaceSandbox
from sandbox.canvas import CanvasSandbox
from sandbox.canvas.truth import GRADING_TABLES
from sources.brightspace import BrightspaceSettings
from sources.lms_http.retry import RetryPolicy
from sources.lms_http.stats import RequestStats


@pytest.fixture(scope="module")
def canvas() -> Iterator[CanvasSandbox]:
    with CanvasSandbox(size="small", seed=7, throttle="off") as sb:
        yield sb


def _rows(con: duckdb.DuckDBPyConnection, sql: str, *params: Any) -> list[dict[str, Any]]:
    cur = con.execute(sql, list(params))
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def test_canvas_run_appends_its_report_with_exact_figures(
    dlt_dir: Path, canvas: CanvasSandbox, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SOURCES__CANVAS__BASE_URL", canvas.base_url)
    monkeypatch.setenv("SOURCES__CANVAS__ACCESS_TOKEN", canvas.admin_token)
    requests = []
    for _ in range(2):  # the second run appends a second report
        canvas.reset_stats()
        assert canvas_pipeline.main(["--no-transform"]) == 0
        requests.append(canvas.stats.requests)
    out = capsys.readouterr().out
    truth = canvas.truth()
    truth.update(canvas.truth(["student_summaries", "course_activity"]))
    truth.update(canvas.truth(GRADING_TABLES))

    con = duckdb.connect(str(dlt_dir / "canvas_pipeline.duckdb"), read_only=True)
    reports = _rows(con, "select * from canvas.run_reports order by started_at")
    assert [r["requests"] for r in reports] == requests
    assert len({r["run_id"] for r in reports}) == 2
    first = reports[0]
    assert f"run report {first['run_id']} (succeeded) stored in table canvas.run_reports" in out
    assert (first["pipeline_name"], first["lms"], first["shard"], first["status"]) == (
        "canvas_pipeline",
        "canvas",
        "all",
        "succeeded",
    )
    assert (first["dataset_name"], first["destination"], first["schema_contract"], first["strict"]) == (
        "canvas",
        "duckdb",
        "evolve",
        False,
    )
    assert first["error_class"] is None and first["error_message"] is None
    assert first["started_at"] <= first["finished_at"]
    assert (first["throttled"], first["retries_total"], first["skipped_scopes"]) == (0, 0, 0)
    # the load id joins the report to dlt's own _dlt_loads
    loads = [
        r[0]
        for r in con.execute("select load_id from canvas._dlt_loads where schema_name = 'canvas'").fetchall()
    ]
    assert sorted(loads) == sorted(r["load_ids"] for r in reports)
    # rows per table: the first run loaded the whole institution; both runs end at the truth
    for report in reports:
        tables = {
            r["table_name"]: (r["rows_loaded"], r["rows_in_table"])
            for r in _rows(con, "select * from canvas.run_reports__tables where run_id = ?", report["run_id"])
        }
        assert {t: v[1] for t, v in tables.items()} == truth
        if report is first:
            assert {t: v[0] for t, v in tables.items()} == truth
            assert first["rows_loaded"] == sum(truth.values())
        stages = {
            r["stage"]: r["seconds"]
            for r in _rows(con, "select * from canvas.run_reports__stages where run_id = ?", report["run_id"])
        }
        assert {"extract", "normalize", "load"} <= set(stages) and all(s >= 0 for s in stages.values())
        assert report["seconds_total"] == pytest.approx(sum(stages.values()), abs=0.01)
    # the destination holds what the report says
    for table, count in truth.items():
        assert con.execute(f"select count(*) from canvas.{table}").fetchone() == (count,)
    con.close()


def test_shard_run_names_its_shard_and_counts_retries_by_cause(
    dlt_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # backoff without real waiting: retries go out at once
    monkeypatch.setattr(
        BrightspaceSettings,
        "retry_policy",
        lambda settings: RetryPolicy(base_delay=0.0, max_delay=0.0, jitter=False),
    )
    with BrightspaceSandbox(size="small", seed=11, throttle="off", job_step_seconds=0.0) as sb:
        org_unit = min(k[0] for k in sb.truth_keys("courses"))
        monkeypatch.setenv("SOURCES__BRIGHTSPACE__BASE_URL", sb.base_url)
        monkeypatch.setenv("SOURCES__BRIGHTSPACE__CLIENT_ID", sb.client_id)
        monkeypatch.setenv("SOURCES__BRIGHTSPACE__CLIENT_SECRET", sb.client_secret)
        monkeypatch.setenv("SOURCES__BRIGHTSPACE__REFRESH_TOKEN", sb.initial_refresh_token)
        monkeypatch.setenv("SOURCES__BRIGHTSPACE__TOKEN_URL", sb.token_url)
        monkeypatch.setenv("SOURCES__BRIGHTSPACE__REFRESH_TOKEN_FILE", str(dlt_dir / "rt.token"))
        sb.reset_stats()
        sb.fail_next(3, 503)
        argv = [
            "--no-transform",
            "--org-units",
            str(org_unit),
            "--resources",
            "courses,enrollments,grade_objects",
        ]
        assert brightspace_pipeline.main(argv) == 0
        stats = sb.stats
    capsys.readouterr()
    con = duckdb.connect(str(dlt_dir / "brightspace_pipeline.duckdb"), read_only=True)
    (report,) = _rows(con, "select * from brightspace.run_reports")
    assert (report["lms"], report["shard"], report["status"]) == (
        "brightspace",
        f"org_units={org_unit}",
        "succeeded",
    )
    assert report["pipeline_name"] == f"brightspace_pipeline__org_units_{org_unit}"
    assert stats["by_status"][503] == 3
    # the client counts API calls; the sandbox also counts the OAuth token request
    assert report["requests"] == stats["requests"] - stats["token_requests"]
    retries = _rows(con, "select cause, retries, gave_up from brightspace.run_reports__retries")
    assert sum(r["retries"] for r in retries) == report["retries_total"] == 3
    assert all(r["gave_up"] == 0 for r in retries)
    tables = {
        r["table_name"]: r["rows_loaded"] for r in _rows(con, "select * from brightspace.run_reports__tables")
    }
    for table in ("courses", "enrollments", "grade_objects"):
        expected = sum(1 for k in sb.truth_keys(table) if k[0] == org_unit)
        assert tables[table] == expected
        assert con.execute(f"select count(*) from brightspace.{table}").fetchone() == (expected,)
    con.close()


@pytest.mark.parametrize("module", [canvas_pipeline, brightspace_pipeline])
def test_both_pipelines_take_strict_and_schema_contract(module: Any) -> None:
    args = module.parse_args([])
    assert args.strict is False and args.schema_contract is None  # None: dlt's default, evolve
    for mode in ("evolve", "freeze", "discard_row", "discard_value"):
        args = module.parse_args(["--schema-contract", mode, "--strict"])
        assert args.schema_contract == mode and args.strict is True
    with pytest.raises(SystemExit):
        module.parse_args(["--schema-contract", "lenient"])


class _Client:
    """What the load library reads of a client: its base URL and request statistics."""

    base_url = "https://canvas.test"

    def __init__(self) -> None:
        self.stats = RequestStats()


def _request(**overrides: Any) -> LoadRequest:
    return LoadRequest(lms="canvas", client=_Client(), models=None, **overrides)


def _source(extra_column: bool) -> Any:
    @dlt.source(name="canvas")
    def tiny() -> Any:
        @dlt.resource(name="courses", primary_key="id", write_disposition="merge")
        def courses() -> Any:
            yield [
                {"id": 1, "name": "a"},
                {"id": 2, "name": "b", **({"blueprint": True} if extra_column else {})},
            ]

        return courses

    return tiny()


def test_a_frozen_contract_fails_cleanly_and_leaves_the_warehouse_as_it_was(dlt_dir: Path) -> None:
    pipeline = dlt.pipeline("contract_pipeline", destination="duckdb", dataset_name="canvas")
    load_source(pipeline, _source(False), _request(), ["courses"])
    with pytest.raises(Exception) as failure:
        load_source(pipeline, _source(True), _request(schema_contract="freeze"), ["courses"])
    violation = failure.value
    while not isinstance(violation, DataValidationError):
        violation = violation.__cause__ or violation.__context__  # type: ignore[assignment]
    message = describe_error(violation)
    assert "--schema-contract freeze" in message and "courses" in message and "blueprint" in message
    # the run's package was aborted: nothing pending, the next run loads cleanly
    assert not pipeline.has_pending_data
    con = duckdb.connect(str(dlt_dir / "contract_pipeline.duckdb"), read_only=True)
    columns = {
        r[0]
        for r in con.execute(
            "select column_name from information_schema.columns where table_name = 'courses'"
        ).fetchall()
    }
    assert "blueprint" not in columns
    assert con.execute("select count(*) from canvas.courses").fetchone() == (2,)
    reports = _rows(
        con,
        "select status, schema_contract, error_class, error_message from canvas.run_reports order by started_at",
    )
    con.close()
    assert [(r["status"], r["schema_contract"]) for r in reports] == [
        ("succeeded", "evolve"),
        ("failed", "freeze"),
    ]
    assert (
        reports[1]["error_class"] == "DataValidationError"
        and "--schema-contract" in reports[1]["error_message"]
    )
    # evolve takes the new column on the next run
    load_source(pipeline, _source(True), _request(), ["courses"])
    con = duckdb.connect(str(dlt_dir / "contract_pipeline.duckdb"), read_only=True)
    assert con.execute("select count(*) from canvas.courses where blueprint").fetchone() == (1,)
    con.close()


def test_report_text_never_carries_a_secret() -> None:
    text = "Authorization: Bearer 7~abcdefghijklmnopqrstuvwxyz1234 client_secret=s3cr3t&refresh_token=rt.XYZ"
    assert redact(text) == "Authorization: Bearer *** client_secret=***&refresh_token=***"
    report = RunReport(pipeline_name="p", lms="canvas")
    report.finish("failed", RuntimeError("token=abc123 at postgresql://loader:pw@db/x"))
    assert report.error_message == "token=*** at postgresql://loader:***@db/x"
    assert report.as_row()["error_class"] == "RuntimeError"
    assert redact("{'refresh_token': 'rt.abc', \"client_secret\": \"xyz\"}") == (
        "{'refresh_token': '***', \"client_secret\": \"***\"}"
    )
    # prose about tokens stays readable
    prose = "refused at /core/connect/token: get a new refresh token; set [sources.canvas] access_token"
    assert redact(prose) == prose


def _succeeded_report() -> RunReport:
    report = RunReport(
        pipeline_name="canvas_pipeline", lms="canvas", dataset_name="canvas", destination="duckdb"
    )
    report.finish("succeeded")
    return report


def _deletion_order(folder: Path) -> list[Path]:
    """Files and folders under `folder` in the order a recursive delete removes them (children first)."""
    order: list[Path] = []
    for root, dirs, files in os.walk(folder, topdown=False):
        order += [Path(root, name) for name in files]
        order += [Path(root, name) for name in dirs]
    return order


def test_a_report_folder_a_killed_run_left_behind_never_stops_later_reports(dlt_dir: Path) -> None:
    """A kill while the report pipeline deletes or fills its working folder costs at most that report."""
    pipeline = dlt.pipeline(
        "canvas_pipeline",
        destination=dlt.destinations.duckdb(str(dlt_dir / "reports.duckdb")),
        dataset_name="canvas",
    )
    stored = [_succeeded_report()]
    store_run_report(pipeline, stored[0])
    working = Path(pipeline.pipelines_dir) / ("canvas_pipeline" + REPORT_PIPELINE_SUFFIX)
    whole = dlt_dir / "whole"
    shutil.copytree(working, whole)
    order = _deletion_order(whole)
    assert len(order) > 10
    # every point a recursive delete of the folder can be killed at (as the earlier dlt `drop()` was)
    for done in range(1, len(order)):
        shutil.rmtree(working)
        shutil.copytree(whole, working)
        for path in order[:done]:
            target = working / path.relative_to(whole)
            target.rmdir() if target.is_dir() else target.unlink()
        stored.append(_succeeded_report())
        store_run_report(pipeline, stored[-1])
    # a report extracted and normalized, but killed before its load, is loaded by the next run
    pending = report_pipeline(pipeline)
    pending.extract(report_resource(left_pending := _succeeded_report()), schema=report_schema(pending))
    pending.normalize()
    # and a folder a killed run had renamed to delete it is gone after the next report
    shutil.copytree(whole, working.with_name(working.name + DISCARDED_SUFFIX + "killed"))
    stored += [left_pending, _succeeded_report()]
    store_run_report(pipeline, stored[-1])

    con = duckdb.connect(str(dlt_dir / "reports.duckdb"), read_only=True)
    run_ids = [r for (r,) in con.execute("select run_id from canvas.run_reports").fetchall()]
    con.close()
    assert sorted(run_ids) == sorted(r.run_id for r in stored)
    assert [p.name for p in working.parent.iterdir() if p.name.startswith(working.name)] == [working.name]


def _reports_pipeline(dlt_dir: Path) -> Any:
    return dlt.pipeline(
        "canvas_pipeline",
        destination=dlt.destinations.duckdb(str(dlt_dir / "reports.duckdb")),
        dataset_name="canvas",
    )


def _cut_after_its_copies(pipeline: Any) -> Path:
    """Put the last report package back where a kill after its copy jobs leaves it: the jobs ran but
    are not marked done (a merge follow-up, if any, not run)."""
    load_dir = Path(report_pipeline(pipeline).working_dir) / "load"
    (load_id,) = [p.name for p in (load_dir / "loaded").iterdir()]
    package = load_dir / "normalized" / load_id
    shutil.move(str(load_dir / "loaded" / load_id), str(package))
    (package / "package_completed.json").unlink()
    for job in (package / "completed_jobs").iterdir():
        job.unlink() if job.name.endswith(".sql") else job.rename(package / "new_jobs" / job.name)
    return package


def _each_report_once(dlt_dir: Path, reports: list[RunReport]) -> None:
    con = duckdb.connect(str(dlt_dir / "reports.duckdb"), read_only=True)
    try:
        run_ids = sorted(r for (r,) in con.execute("select run_id from canvas.run_reports").fetchall())
        nested = {
            table: con.execute(f"select run_id, count(*) from canvas.{table} group by run_id").fetchall()
            for table in ("run_reports__stages", "run_reports__tables")
        }
    finally:
        con.close()
    assert run_ids == sorted(r.run_id for r in reports)
    for table, counts in nested.items():  # one stage and one table per report
        assert sorted(counts) == sorted((r.run_id, 1) for r in reports), table


def test_a_report_whose_load_a_kill_cut_after_its_copies_is_loaded_once(dlt_dir: Path) -> None:
    """Reports are appended: a copy job replayed after a kill that came after its commit would write
    its rows a second time. The replay first deletes the package's run from the tables whose jobs
    were not done."""
    pipeline = _reports_pipeline(dlt_dir)
    first, cut = _report_with_nested_rows(), _report_with_nested_rows()
    store_run_report(pipeline, first)
    store_run_report(pipeline, cut)
    _cut_after_its_copies(pipeline)  # its rows are in the dataset; its jobs will run again

    store_run_report(pipeline, last := _report_with_nested_rows())
    _each_report_once(dlt_dir, [first, cut, last])


def test_a_merged_report_an_earlier_version_left_cut_after_its_staging_copy_is_merged_once(
    dlt_dir: Path,
) -> None:
    """Reports were merged on `run_id` before: a package of that kind a kill left is still loaded
    once (dlt truncates staging once per package, so a replayed copy job would write its rows
    to staging a second time and both copies would be merged), and appended reports follow it into
    the tables the merge made."""
    pipeline = _reports_pipeline(dlt_dir)
    first, cut = _report_with_nested_rows(), _report_with_nested_rows()
    for report in (first, cut):  # as the earlier version stored them: a fresh working folder each
        shutil.rmtree(Path(pipeline.pipelines_dir) / (pipeline.pipeline_name + REPORT_PIPELINE_SUFFIX), True)
        merged = report_pipeline(pipeline)
        merged.extract(
            dlt.resource(
                [report.as_row()],
                name=REPORT_TABLE,
                write_disposition="merge",
                primary_key="run_id",
                columns=REPORT_COLUMNS,
                max_table_nesting=1,
            )
        )
        merged.normalize()
        merged.load()
    _cut_after_its_copies(pipeline)
    con = duckdb.connect(str(dlt_dir / "reports.duckdb"))
    try:  # the merge never ran: the cut report's rows are only in staging
        assert con.execute("select count(*) from canvas_staging.run_reports").fetchone() == (1,)
        (row_id,) = con.execute(
            "select _dlt_id from canvas.run_reports where run_id = ?", [cut.run_id]
        ).fetchone()
        con.execute("delete from canvas.run_reports where run_id = ?", [cut.run_id])
        for nested in ("run_reports__stages", "run_reports__tables"):
            con.execute(f"delete from canvas.{nested} where _dlt_root_id = ?", [row_id])
    finally:
        con.close()

    store_run_report(pipeline, last := _report_with_nested_rows())
    _each_report_once(dlt_dir, [first, cut, last])


def _report_with_nested_rows() -> RunReport:
    report = RunReport(
        pipeline_name="canvas_pipeline", lms="canvas", dataset_name="canvas", destination="duckdb"
    )
    report.loaded, report.totals, report.seconds = {"courses": 3}, {"courses": 3}, {"extract": 1.0}
    report.finish("succeeded")
    return report
