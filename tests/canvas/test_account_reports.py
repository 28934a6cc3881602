"""Account-report resources against the sandbox: one job per report, polled on an injected clock,
rows equal to what the sandbox holds, typed columns, idempotent reruns, term shards."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import dlt
import pytest
from dlt.pipeline.exceptions import PipelineStepFailed

from sandbox.canvas import CanvasSandbox
from sources.canvas import CanvasApi
from sources.canvas.account_reports import canvas_account_reports
from sources.lms_http.jobs import JobPoller, JobTimeoutError, PollPolicy
from sources.lms_http.retry import RetryPolicy

TABLES = [
    "provisioning_users",
    "provisioning_courses",
    "provisioning_sections",
    "provisioning_enrollments",
    "last_user_access",
]


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()


@pytest.fixture
def sandbox(fake_time: FakeTime) -> Iterator[CanvasSandbox]:
    with CanvasSandbox(size="small", seed=7, throttle="default") as sb:
        sb.job_clock = fake_time.clock
        sb.job_step_seconds = 1.0
        yield sb


def source(sb: CanvasSandbox, fake_time: FakeTime, timeout: float = 600.0, **kwargs: Any) -> Any:
    api = CanvasApi(
        sb.base_url, sb.admin_token, policy=RetryPolicy(max_attempts=8, base_delay=0.05, max_delay=1.0)
    )
    poller = JobPoller(
        PollPolicy(first_delay=0.5, factor=2.0, max_delay=4.0, timeout=timeout),
        lms="Canvas",
        sleep=fake_time.sleep,
        clock=fake_time.clock,
    )
    return canvas_account_reports(
        base_url=sb.base_url, access_token="unused", api=api, poller=poller, **kwargs
    )


def column(pipeline: dlt.Pipeline, table: str, name: str, where: str = "") -> list[Any]:
    with pipeline.sql_client() as client:
        return [r[0] for r in client.execute_sql(f"select {name} from {table} {where}")]


def test_report_resources_load_exactly_the_sandbox_enrollments_and_users(
    sandbox: CanvasSandbox, fake_time: FakeTime, pipeline: dlt.Pipeline
) -> None:
    info = pipeline.run(source(sandbox, fake_time))
    assert not info.has_failed_jobs
    enrollments = sandbox.truth_rows("enrollments")
    # include_deleted (the default): everything but deleted enrollments Canvas did not get from SIS
    expected = {
        e["id"]
        for e in enrollments
        if e["enrollment_state"] != "deleted" or (e["sis_course_id"] and e["sis_user_id"])
    }
    loaded = column(pipeline, "provisioning_enrollments", "canvas_enrollment_id")
    assert len(loaded) == len(set(loaded)) == len(expected)
    assert set(loaded) == expected
    users = {u.id: u for u in sandbox.institution.users}
    assert sorted(column(pipeline, "provisioning_users", "canvas_user_id")) == sorted(users)
    assert sorted(column(pipeline, "provisioning_courses", "canvas_course_id")) == sorted(
        k for (k,) in sandbox.truth_keys("courses")
    )
    assert sorted(column(pipeline, "provisioning_sections", "canvas_section_id")) == sorted(
        k for (k,) in sandbox.truth_keys("sections")
    )
    # last access: one row per user, the time in UTC
    with pipeline.sql_client() as client:
        access = {
            r[0]: r[1] for r in client.execute_sql("select user_id, last_access_at from last_user_access")
        }
    assert set(access) == set(users)
    assert all(
        (access[uid] is None) == (u.last_login is None)
        and (u.last_login is None or access[uid] == datetime.fromtimestamp(u.last_login, UTC))
        for uid, u in users.items()
    )
    # one report job each: two POSTs, a few polls, two downloads; the poll waits were never real
    routes = sandbox.stats.by_route
    assert routes["POST /api/v1/accounts/:account_id/reports/:report"] == 2
    assert routes["/files/:file_id/download"] == 2
    assert fake_time.sleeps[:3] == [0.5, 1.0, 2.0]


def test_provisioning_rows_match_the_api_fields_and_are_typed(
    sandbox: CanvasSandbox, fake_time: FakeTime, pipeline: dlt.Pipeline
) -> None:
    pipeline.run(source(sandbox, fake_time, last_user_access=False))
    schema = pipeline.default_schema
    cols = schema.get_table_columns("provisioning_enrollments")
    assert {
        cols[c]["data_type"]
        for c in ("canvas_enrollment_id", "canvas_user_id", "canvas_course_id", "role_id")
    } == {"bigint"}
    assert cols["created_by_sis"]["data_type"] == "bool" and cols["user_id"]["data_type"] == "text"
    assert schema.get_table_columns("provisioning_courses")["canvas_term_id"]["data_type"] == "bigint"
    state_names = {"completed": "concluded"}
    expected = {
        e["id"]: (
            e["course_id"],
            e["user_id"],
            e["sis_user_id"],
            e["course_section_id"],
            e["type"],
            state_names.get(e["enrollment_state"], e["enrollment_state"]),
        )
        for e in sandbox.truth_rows("enrollments")
    }
    with pipeline.sql_client() as client:
        rows = client.execute_sql(
            "select canvas_enrollment_id, canvas_course_id, canvas_user_id, user_id, canvas_section_id, base_role_type, status "
            "from provisioning_enrollments"
        )
    assert rows and all(tuple(r[1:]) == expected[r[0]] for r in rows)


def test_reruns_replace_and_a_term_shard_merges(
    sandbox: CanvasSandbox, fake_time: FakeTime, pipeline: dlt.Pipeline
) -> None:
    pipeline.run(source(sandbox, fake_time, provisioning=["enrollments"], last_user_access=False))
    first = sorted(column(pipeline, "provisioning_enrollments", "canvas_enrollment_id"))
    pipeline.run(source(sandbox, fake_time, provisioning=["enrollments"], last_user_access=False))
    assert sorted(column(pipeline, "provisioning_enrollments", "canvas_enrollment_id")) == first
    # a shard of one term merges: its rows update, the other terms' rows stay
    fall = next(t["id"] for t in sandbox.truth_rows("terms") if t["sis_term_id"] == "2026FA")
    pipeline.run(
        source(
            sandbox,
            fake_time,
            provisioning=["enrollments"],
            last_user_access=False,
            enrollment_term_id="sis_term_id:2026FA",
        )
    )
    assert sorted(column(pipeline, "provisioning_enrollments", "canvas_enrollment_id")) == first
    fall_courses = {c["id"] for c in sandbox.truth_rows("courses") if c["enrollment_term_id"] == fall}
    loaded = pipeline.last_trace.last_normalize_info.row_counts["provisioning_enrollments"]
    assert loaded == sum(
        1 for e in column(pipeline, "provisioning_enrollments", "canvas_course_id") if e in fall_courses
    )


def test_a_report_that_never_finishes_times_out_with_a_clear_error(
    sandbox: CanvasSandbox, fake_time: FakeTime, pipeline: dlt.Pipeline
) -> None:
    sandbox.job_step_seconds = 10_000
    with pytest.raises(PipelineStepFailed) as exc:
        pipeline.run(source(sandbox, fake_time, timeout=30.0, last_user_access=False))
    cause: BaseException | None = exc.value
    while cause is not None and not isinstance(cause, JobTimeoutError):
        cause = cause.__cause__ or cause.__context__
    assert isinstance(cause, JobTimeoutError)
    assert "provisioning_csv" in str(cause) and "was still created after 30s" in str(cause)
    assert fake_time.now == pytest.approx(30.0)
