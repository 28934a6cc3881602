"""Bounded batches: a table whose job has several objects is loaded one object per load package,
exactly (rows = the lake's, keys unique), continued from state after a kill between batches or after
one extracted but not loaded, and started again when its job expired."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dlt
import pytest

from pipelines.canvas_data2_pipeline import load_in_batches
from pipelines.load import LoadRequest, open_pipeline
from pipelines.warehouse import duckdb_destination
from sandbox.canvas_data2 import CanvasData2Sandbox
from sandbox.canvas_data2.encode import ts_text
from sources.canvas_data2 import canvas_data2
from sources.canvas_data2.client import DapClient
from sources.lms_http.jobs import PollPolicy
from tests.canvas_data2.conftest import CLIENT_ID, CLIENT_SECRET, rows

TABLES = ["users", "submissions", "scores"]
OBJECT_ROWS = 500  # small: users 1 object, submissions 5, scores 1 (checked below)


@pytest.fixture
def dap() -> Iterator[CanvasData2Sandbox]:
    with CanvasData2Sandbox(
        "small",
        7,
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        job_polls=0,
        object_rows=OBJECT_ROWS,
        limits={"create_job": 1000},
    ) as sandbox:
        yield sandbox


def client_of(dap: CanvasData2Sandbox) -> DapClient:
    return DapClient(
        dap.base_url, CLIENT_ID, CLIENT_SECRET, jobs_per_minute=1000, poll=PollPolicy(0.0, 1.0, 0.0)
    )


def request_of(dap: CanvasData2Sandbox, dlt_dir: Path, notes: list[str]) -> LoadRequest:
    return LoadRequest(
        lms="canvas_data2",
        client=client_of(dap),
        destination=duckdb_destination(str(dlt_dir / "warehouse.duckdb")),
        dataset="canvas_data2",
        models=None,
        pipeline_name="cd2_batches",
        notify=notes.append,
    )


def run(dap: CanvasData2Sandbox, dlt_dir: Path) -> tuple[dlt.Pipeline, list[str], Any]:
    notes: list[str] = []
    request = request_of(dap, dlt_dir, notes)
    pipeline = open_pipeline(request)
    outcome = load_in_batches(pipeline, request, request.client, TABLES, objects_per_batch=1)
    return pipeline, [n for n in notes if n.startswith("Batch ")], outcome


def assert_exact(pipeline: dlt.Pipeline, dap: CanvasData2Sandbox) -> None:
    for table in TABLES:
        truth = dap.truth("canvas", table)
        keys = [r[0] for r in rows(pipeline, table, "id")]
        assert len(keys) == len(set(keys)) == len(truth), table
        assert set(keys) == set(truth), table
    scores = dict(rows(pipeline, "submissions", "id, score"))
    assert scores == {k: v["score"] for k, v in dap.truth("canvas", "submissions").items()}
    states = pipeline.state["sources"]["canvas_data2"]["resources"]
    for table in TABLES:
        assert "job" not in states[table] and states[table]["until"] == ts_text(dap.refreshed_at)


def test_a_snapshot_in_several_batches_is_exact_and_an_incremental_too(
    dap: CanvasData2Sandbox, dlt_dir: Path
) -> None:
    assert len(dap.truth("canvas", "submissions")) > 4 * OBJECT_ROWS  # 5 objects
    pipeline, batches, outcome = run(dap, dlt_dir)
    # one object of each table per package: submissions' 5 objects take 5 batches
    assert len(batches) == 4 and all("submissions" in b and "users" not in b for b in batches)
    assert outcome.loaded["submissions"] == len(dap.truth("canvas", "submissions"))
    assert_exact(pipeline, dap)
    # one run of five packages: one run report naming them all
    assert len(outcome.report.load_ids) == 5
    assert [r[0] for r in rows(pipeline, "run_reports", "run_id")] == [outcome.report.run_id]
    dap.advance()
    pipeline, batches, _ = run(dap, dlt_dir)
    assert_exact(pipeline, dap)
    assert len(rows(pipeline, "run_reports", "run_id")) == 2


def test_a_run_killed_between_batches_continues_the_same_job(dap: CanvasData2Sandbox, dlt_dir: Path) -> None:
    notes: list[str] = []
    request = request_of(dap, dlt_dir, notes)
    pipeline = open_pipeline(request)
    # batch 1 loaded, batch 2 extracted but not loaded: a kill before its load step
    source = canvas_data2(client=request.client, tables=TABLES, objects_per_batch=1)
    pipeline.run(source)
    job = pipeline.state["sources"]["canvas_data2"]["resources"]["submissions"]["job"]
    assert job["next"] == 1 and len(job["objects"]) == 5
    pipeline.extract(
        canvas_data2(client=request.client, tables=["submissions"], objects_per_batch=1, pending_only=True)
    )
    jobs_before = dap.requests["create_job"]
    pipeline, batches, _ = run(dap, dlt_dir)
    assert dap.requests["create_job"] - jobs_before == 2  # users and scores: incrementals; no new snapshot
    assert len(batches) == 2  # objects 3 and 4 (object 2 was the pending package)
    assert_exact(pipeline, dap)


def test_an_expired_job_is_taken_again_from_the_start(dap: CanvasData2Sandbox, dlt_dir: Path) -> None:
    notes: list[str] = []
    request = request_of(dap, dlt_dir, notes)
    pipeline = open_pipeline(request)
    pipeline.run(canvas_data2(client=request.client, tables=TABLES, objects_per_batch=1))
    dap.app.jobs.clear()  # 24 hours later: jobs and objects are gone (section 4)
    pipeline, batches, _ = run(dap, dlt_dir)
    # a new snapshot of submissions, its first batch replacing what the old one had loaded
    assert len(batches) == 4
    assert_exact(pipeline, dap)


def test_jsonl_objects_load_the_same_rows_as_parquet(dap: CanvasData2Sandbox, dlt_dir: Path) -> None:
    def load(file_format: str) -> dict[str, dict[int, tuple[Any, ...]]]:
        pipeline = dlt.pipeline(
            f"cd2_{file_format}",
            destination=duckdb_destination(str(dlt_dir / f"{file_format}.duckdb")),
            dataset_name="canvas_data2",
        )
        pipeline.run(canvas_data2(client=client_of(dap), tables=TABLES, file_format=file_format))
        out = {}
        for table in TABLES:
            names = [c for c in pipeline.default_schema.get_table_columns(table) if not c.startswith("_dlt")]
            out[table] = {
                r[0]: r for r in rows(pipeline, table, ", ".join(sorted(names, key=lambda c: c != "id")))
            }
        return out

    assert load("jsonl") == load("parquet")


def test_an_unknown_file_format_is_one_clear_error(dap: CanvasData2Sandbox) -> None:
    with pytest.raises(ValueError, match="file_format must be one of parquet, jsonl, not 'csv'"):
        canvas_data2(client=client_of(dap), tables=TABLES, file_format="csv")
