"""The Canvas Data 2 source: a snapshot first, then exactly the changed and deleted rows, schema
versions followed or refused with a way out, job creation within DAP's limit, secrets kept out."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import dlt
import pytest
from dlt.pipeline.exceptions import PipelineStepFailed

from sandbox.canvas_data2 import CanvasData2Sandbox
from sandbox.canvas_data2.encode import ts_text
from sandbox.canvas_data2.tables import TEXT, Table
from sources.canvas_data2 import TableChangedError, canvas_data2, resolve_tables
from sources.canvas_data2.client import DapClient, JobLimiter
from sources.canvas_data2.settings import MART_TABLES
from sources.lms_http.jobs import PollPolicy
from tests.canvas_data2.conftest import CLIENT_ID, CLIENT_SECRET, rows, source

TABLES = [t.rpartition(".")[2] for t in MART_TABLES]


def namespace_of(table: str) -> str:
    return "canvas_logs" if table == "web_logs" else "canvas"


def loaded_counts(pipeline: dlt.Pipeline) -> dict[str, int]:
    counts = pipeline.last_trace.last_normalize_info.row_counts
    return {t: n for t, n in counts.items() if not t.startswith("_dlt")}


def test_first_run_is_a_snapshot_of_every_mart_table(dap: CanvasData2Sandbox, pipeline: dlt.Pipeline) -> None:
    pipeline.run(source(dap))
    truth = {t: dap.truth(namespace_of(t), t) for t in TABLES}
    assert loaded_counts(pipeline) == {t: len(v) for t, v in truth.items()}
    for table in TABLES:
        keys = [r[0] for r in rows(pipeline, table, "id")]
        assert len(keys) == len(set(keys)) == len(truth[table])
        assert set(keys) == set(truth[table])
    # values as DAP holds them, typed from the schema
    scores = dict(rows(pipeline, "submissions", "id, score"))
    assert scores == {k: v["score"] for k, v in truth["submissions"].items()}
    with pipeline.sql_client() as client:
        kinds = dict(
            client.execute_sql(
                "select column_name, data_type from information_schema.columns "
                "where table_schema = 'canvas_data2' and table_name = 'enrollments'"
            )
        )
    assert kinds["created_at"] == "TIMESTAMP WITH TIME ZONE"
    assert kinds["total_activity_time"] == "INTEGER"  # int32 in the DAP schema
    assert kinds["id"] == "BIGINT"
    state = pipeline.state["sources"]["canvas_data2"]["resources"]["users"]
    assert state["until"] == ts_text(dap.refreshed_at) and state["schema_version"] == 1


def test_after_advance_an_incremental_loads_exactly_the_changed_and_deleted_rows(
    dap: CanvasData2Sandbox, pipeline: dlt.Pipeline
) -> None:
    pipeline.run(source(dap))
    since = dap.refreshed_at
    changes = dap.advance()
    expected = {}
    for table in TABLES:
        upserted, deleted = dap.changed_since(namespace_of(table), table, since)
        if upserted or deleted:
            expected[table] = len(upserted) + len(deleted)
    # the REST sandbox's change sets, seen through CD2
    sub_ids = {
        (c.id, s.assignment.id, s.user_id): s.id for c in dap.institution.courses for s in c.submissions
    }
    upserted, deleted = dap.changed_since("canvas", "submissions", since)
    assert deleted == {sub_ids[k] for k in changes.removed_submissions} and deleted
    assert upserted == {sub_ids[k] for k in changes.changed_submissions}
    pipeline.run(source(dap))
    assert loaded_counts(pipeline) == expected
    for table in TABLES:
        if table != "web_logs":
            assert {r[0] for r in rows(pipeline, table, "id")} == set(dap.truth(namespace_of(table), table))
    # logs leave DAP without a delete record (section 10's 30 days; the sandbox also drops the views
    # of a student who left): the warehouse keeps every row it was sent
    logs = {r[0] for r in rows(pipeline, "web_logs", "id")}
    live = set(dap.truth("canvas_logs", "web_logs"))
    assert live <= logs and logs - live
    truth = dap.truth("canvas", "submissions")
    assert dict(rows(pipeline, "submissions", "id, score")) == {k: v["score"] for k, v in truth.items()}
    enrollment_states = dict(rows(pipeline, "enrollments", "id, workflow_state"))
    assert all(enrollment_states[e] == "deleted" for e in changes.dropped_enrollments)  # soft delete: U
    # nothing changed since: a rerun loads no rows and keeps every table as it is
    pipeline.run(source(dap))
    assert loaded_counts(pipeline) == {}
    assert len(rows(pipeline, "submissions", "id")) == len(truth)


def test_a_new_column_evolves_the_table(dap: CanvasData2Sandbox, pipeline: dlt.Pipeline) -> None:
    pipeline.run(source(dap, tables="users"))
    assert dap.add_column("canvas", "users", "sis_batch_note", TEXT, fill=lambda key, value: f"n{key}") == 2
    dap.publish()
    pipeline.run(source(dap, tables="users"))
    notes = dict(rows(pipeline, "users", "id, sis_batch_note"))
    assert notes == {k: f"n{k}" for k in dap.truth("canvas", "users")}
    assert pipeline.state["sources"]["canvas_data2"]["resources"]["users"]["schema_version"] == 2


def test_an_incompatible_change_stops_with_how_to_take_a_new_snapshot(
    dap: CanvasData2Sandbox, pipeline: dlt.Pipeline
) -> None:
    pipeline.run(source(dap, tables="users"))
    old = dap.tables[("canvas", "users")]
    columns = {k: v for k, v in old.columns.items() if k != "pronouns"}
    dap.tables[("canvas", "users")] = Table(old.namespace, old.name, old.key, columns, old.version + 1)
    with pytest.raises(PipelineStepFailed) as failed:
        pipeline.run(source(dap, tables="users"))
    cause = failed.value.__cause__
    while cause is not None and not isinstance(cause, TableChangedError):
        cause = cause.__cause__ or cause.__context__
    assert isinstance(cause, TableChangedError)
    assert "column pronouns was removed" in str(cause) and "--resnapshot users" in str(cause)
    pipeline.abort_packages()  # the failed extract left nothing to load; keep the run clean
    pipeline.run(source(dap, tables="users", resnapshot="users"))
    assert loaded_counts(pipeline) == {"users": len(dap.truth("canvas", "users"))}


def test_a_reload_answered_snapshot_required_is_resnapshotted_on_request(
    dap: CanvasData2Sandbox, pipeline: dlt.Pipeline
) -> None:
    pipeline.run(source(dap, tables="users,enrollments"))
    dap.reload_table("canvas", "users")
    with pytest.raises(PipelineStepFailed, match="--resnapshot users"):
        pipeline.run(source(dap, tables="users,enrollments"))
    pipeline.run(source(dap, tables="users,enrollments", resnapshot=["users"]))
    assert loaded_counts(pipeline) == {"users": len(dap.truth("canvas", "users"))}
    assert len(rows(pipeline, "users", "id")) == len(dap.truth("canvas", "users"))


def test_job_creation_waits_for_the_per_minute_limit_instead_of_hitting_it() -> None:
    now = [0.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    with CanvasData2Sandbox("small", 7, job_polls=0, limit_clock=lambda: now[0]) as dap:
        client = DapClient(
            dap.base_url,
            "sandbox-client",
            "sandbox-secret",
            poll=PollPolicy(0, 1, 0),
            sleep=sleep,
            clock=lambda: now[0],
        )
        for _ in range(7):
            now[0] += 1.0
            client.query("canvas", "accounts", {"format": "jsonl"})
        assert dap.requests["create_job"] == 7  # every call counted: none was refused and retried
    # jobs at t=1..5; the 6th (t=6) waits until the first leaves our 61 s window (t=62); by the
    # 7th (t=63) the first two have left
    assert slept == [56.0]


def test_job_limiter_counts_a_sliding_minute() -> None:
    now = [0.0]
    limiter = JobLimiter(2, clock=lambda: now[0], sleep=lambda s: now.__setitem__(0, now[0] + s))
    for _ in range(5):
        limiter.acquire()
    # two at t=0, the 3rd and 4th at t=61, the 5th at t=122
    assert now[0] == 122.0 and limiter.waited_seconds == 122.0


def test_a_failed_job_is_one_clear_error(dap: CanvasData2Sandbox, pipeline: dlt.Pipeline) -> None:
    dap.fail_next_jobs(1)
    with pytest.raises(
        PipelineStepFailed,
        match=r"Canvas Data 2 job 'canvas.accounts' .* ended with status failed: ProcessingError",
    ):
        pipeline.run(source(dap, tables="accounts"))


def test_bad_credentials_name_the_setting(dap: CanvasData2Sandbox, pipeline: dlt.Pipeline) -> None:
    with pytest.raises(PipelineStepFailed, match=r"\[sources.canvas_data2\] client_id and client_secret"):
        pipeline.run(
            canvas_data2(client_id=CLIENT_ID, client_secret="wrong", base_url=dap.base_url, tables="accounts")
        )


def test_all_lists_both_namespaces(dap: CanvasData2Sandbox) -> None:
    client = DapClient(dap.base_url, CLIENT_ID, CLIENT_SECRET)
    assert set(resolve_tables("all", client)) == set(dap.tables)


def test_secrets_never_reach_state_or_logs(
    dap: CanvasData2Sandbox, pipeline: dlt.Pipeline, caplog: pytest.LogCaptureFixture, dlt_dir: Path
) -> None:
    caplog.set_level(logging.DEBUG)
    pipeline.run(source(dap, tables="accounts"))
    assert CLIENT_SECRET not in json.dumps(pipeline.state, default=str)
    assert CLIENT_SECRET not in caplog.text
    for path in dlt_dir.rglob("*"):
        if path.is_file() and path.suffix in (".json", ".jsonl", ".yaml", ".log", ".gz"):
            assert CLIENT_SECRET.encode() not in path.read_bytes(), path
