"""Canvas source against the sandbox: exact counts, unique keys, idempotent and incremental reruns."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dlt
import pytest

from sandbox.canvas import CanvasSandbox
from sources.canvas import CanvasApi, canvas_source
from sources.lms_http.errors import LmsAuthError, LmsPermissionError
from sources.lms_http.retry import RetryPolicy

TABLES = [
    "accounts",
    "terms",
    "courses",
    "users",
    "sections",
    "enrollments",
    "assignment_groups",
    "assignments",
    "submissions",
]
KEYS = {t: ("id",) for t in TABLES} | {"submissions": ("course_id", "assignment_id", "user_id")}
# fast retries: the sandbox's throttle leaks in real time, backoff is tested with an injected clock
FAST = RetryPolicy(max_attempts=10, base_delay=0.05, max_delay=1.0)


def make_api(sb: CanvasSandbox, token: str | None = None, **kwargs: Any) -> CanvasApi:
    return CanvasApi(sb.base_url, token or sb.admin_token, policy=FAST, **kwargs)


def load(pipeline: dlt.Pipeline, api: CanvasApi, **kwargs: Any) -> Any:
    info = pipeline.run(canvas_source(api=api, **kwargs))
    assert not info.has_failed_jobs
    return info


def keys_in(pipeline: dlt.Pipeline, table: str, where: str = "") -> list[tuple[Any, ...]]:
    cols = ", ".join(KEYS[table])
    with pipeline.sql_client() as client:
        return [tuple(r) for r in client.execute_sql(f"select {cols} from {table} {where}")]


def assert_matches_truth(pipeline: dlt.Pipeline, sb: CanvasSandbox) -> None:
    truth = sb.truth()
    for table in TABLES:
        keys = keys_in(pipeline, table)
        assert len(keys) == len(set(keys)), f"duplicate keys in {table}"
        assert len(keys) == truth[table], f"{table}: {len(keys)} rows, sandbox holds {truth[table]}"
        assert set(keys) == sb.truth_keys(table), f"{table}: keys differ from the sandbox"


@pytest.fixture
def sandbox() -> Iterator[CanvasSandbox]:
    with CanvasSandbox(size="small", seed=7, throttle="default") as sb:
        yield sb


def test_full_load_equals_sandbox_truth(sandbox: CanvasSandbox, pipeline: dlt.Pipeline) -> None:
    api = make_api(sandbox)
    load(pipeline, api)
    assert_matches_truth(pipeline, sandbox)
    assert api.stats.throttled == 0
    assert api.stats.as_dict()["by_status"] == {"200": api.stats.requests}


def test_column_types_are_explicit(sandbox: CanvasSandbox, pipeline: dlt.Pipeline) -> None:
    load(pipeline, make_api(sandbox))
    schema = pipeline.default_schema
    subs = schema.get_table_columns("submissions")
    assert subs["submitted_at"]["data_type"] == "timestamp"
    assert subs["score"]["data_type"] == "double"
    assert subs["grade"]["data_type"] == "text"
    enr = schema.get_table_columns("enrollments")
    assert enr["grades__current_score"]["data_type"] == "double"
    assert enr["sis_user_id"]["data_type"] == "text"
    # no variant columns (a value that did not fit its declared type)
    for table in TABLES:
        assert not [c for c in schema.get_table_columns(table) if "__v_" in c], table
    # timestamps are stored in UTC
    with pipeline.sql_client() as client:
        (tz,) = client.execute_sql("select typeof(submitted_at) from submissions limit 1")[0]
    assert tz == "TIMESTAMP WITH TIME ZONE"


def test_enrollment_grades_equal_what_canvas_reports(sandbox: CanvasSandbox, pipeline: dlt.Pipeline) -> None:
    load(pipeline, make_api(sandbox))
    expected = {
        r["id"]: (r["grades"]["current_score"], r["grades"]["final_score"])
        for r in sandbox.truth_rows("enrollments")
        if r.get("grades")
    }
    with pipeline.sql_client() as client:
        got = {
            r[0]: (r[1], r[2])
            for r in client.execute_sql(
                "select id, grades__current_score, grades__final_score from enrollments where type = 'StudentEnrollment'"
            )
        }
    assert got == expected


def test_second_run_adds_and_changes_nothing(sandbox: CanvasSandbox, pipeline: dlt.Pipeline) -> None:
    api = make_api(sandbox)
    load(pipeline, api)
    load(pipeline, api)
    assert_matches_truth(pipeline, sandbox)
    # unchanged submissions are not loaded again (the overlap window is de-duplicated)
    assert pipeline.last_trace.last_normalize_info.row_counts.get("submissions", 0) == 0


def test_incremental_run_loads_exactly_the_changed_submissions(
    sandbox: CanvasSandbox, pipeline: dlt.Pipeline
) -> None:
    api = make_api(sandbox)
    load(pipeline, api)
    changes = sandbox.advance()
    assert changes.changed_submissions and changes.removed_submissions and changes.new_assignments
    load(pipeline, api)
    assert_matches_truth(pipeline, sandbox)
    last = pipeline.last_trace.last_normalize_info.loads_ids[-1]
    touched = set(keys_in(pipeline, "submissions", f"where _dlt_load_id = '{last}'"))
    assert touched == changes.changed_submissions
    assert not touched & changes.removed_submissions
    dropped = sandbox.truth_rows("enrollments")
    assert {r["id"] for r in dropped if r["enrollment_state"] == "deleted"} >= changes.dropped_enrollments


def test_strict_throttle_completes_with_nothing_lost(dlt_dir: Path) -> None:
    for status in (403, 429):
        with CanvasSandbox(size="small", seed=7, throttle="strict", throttle_status=status) as sb:
            pipeline = dlt.pipeline(
                f"canvas_strict_{status}",
                destination=dlt.destinations.duckdb(str(dlt_dir / f"strict{status}.duckdb")),
                dataset_name="canvas",
            )
            api = make_api(sb)
            load(pipeline, api)
            assert_matches_truth(pipeline, sb)
            # every throttled reply the server sent was seen and retried, none failed the run
            assert api.stats.throttled == sb.stats["throttled"]
            assert api.stats.retries.get("throttled", 0) == api.stats.throttled
            # the governor keeps throttling rare even against the strict bucket
            assert api.stats.throttled <= 0.01 * api.stats.requests + 1


def test_course_shard_loads_only_its_courses(sandbox: CanvasSandbox, pipeline: dlt.Pipeline) -> None:
    courses = sorted(r["id"] for r in sandbox.truth_rows("courses"))
    shard = courses[:2]
    load(pipeline, make_api(sandbox), course_ids=shard)
    assert sorted(k[0] for k in keys_in(pipeline, "courses")) == shard
    expected = {k for k in sandbox.truth_keys("submissions") if k[0] in shard}
    assert set(keys_in(pipeline, "submissions")) == expected
    # a second shard into the same dataset leaves the first one's rows alone
    load(pipeline, make_api(sandbox), course_ids=courses[2:4])
    expected |= {k for k in sandbox.truth_keys("submissions") if k[0] in courses[2:4]}
    assert set(keys_in(pipeline, "submissions")) == expected


def test_invalid_token_fails_fast_with_a_clear_error(sandbox: CanvasSandbox, pipeline: dlt.Pipeline) -> None:
    api = make_api(sandbox, token="7~not-a-real-token")
    with pytest.raises(Exception) as info:
        load(pipeline, api)
    err = info.value
    while err is not None and not isinstance(err, LmsAuthError):
        err = err.__cause__ or err.__context__
    assert isinstance(err, LmsAuthError)
    assert "access_token" in str(err) and "7~not-a-real-token" not in str(err)
    assert api.stats.retries.total() == 0
    assert api.stats.requests <= 4  # one per resource started before the failure, no retry storm


def test_forbidden_course_is_skipped_and_reported_or_fails_in_strict_mode(
    sandbox: CanvasSandbox, pipeline: dlt.Pipeline
) -> None:
    forbidden = sorted(r["id"] for r in sandbox.truth_rows("courses"))[0]
    sandbox.forbidden_courses = {forbidden}
    api = make_api(sandbox)
    load(pipeline, api)
    skipped = api.stats.skipped
    # every course child of the forbidden course is reported, nothing else
    assert {s["course_id"] for s in skipped} == {forbidden}
    assert {s["resource"] for s in skipped} == {
        "sections",
        "enrollments",
        "assignment_groups",
        "assignments",
        "submissions",
        "late_policies",
        "student_summaries",
        "course_activity",
    }
    assert forbidden not in {k[0] for k in keys_in(pipeline, "submissions")}
    with pytest.raises(Exception) as info:
        load(pipeline, make_api(sandbox), strict=True)
    err = info.value
    while err is not None and not isinstance(err, LmsPermissionError):
        err = err.__cause__ or err.__context__
    assert isinstance(err, LmsPermissionError)


def test_token_never_reaches_state_trace_or_destination(
    sandbox: CanvasSandbox, pipeline: dlt.Pipeline
) -> None:
    load(pipeline, make_api(sandbox))
    token = sandbox.admin_token
    assert token not in str(pipeline.state)
    assert token not in str(pipeline.last_trace)
    for path in Path(pipeline.working_dir).rglob("*"):
        if path.is_file():
            assert token.encode() not in path.read_bytes(), path


@pytest.mark.postgres
def test_postgres_load_gives_the_same_counts(
    sandbox: CanvasSandbox, dlt_dir: Path, postgres_dataset: str
) -> None:
    from tests.conftest import POSTGRES_DSN

    pipeline = dlt.pipeline(
        "canvas_pg", destination=dlt.destinations.postgres(POSTGRES_DSN), dataset_name=postgres_dataset
    )
    api = make_api(sandbox)
    load(pipeline, api)
    assert_matches_truth(pipeline, sandbox)
    sandbox.advance()
    load(pipeline, api)
    assert_matches_truth(pipeline, sandbox)
