"""Brightspace engagement (content progress) and the SIS roster audit against the sandbox."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import dlt
import pytest

from sandbox.brightspace import BrightspaceSandbox
from sources.brightspace import BrightspaceApi, brightspace_source, connect
from sources.lms_http.jobs import PollPolicy
from sources.lms_http.retry import RetryPolicy
from sources.sis_roster import sis_roster_source

FAST = RetryPolicy(max_attempts=10, base_delay=0.05, max_delay=1.0)
FAST_POLL = PollPolicy(first_delay=0.05, factor=2.0, max_delay=0.5, timeout=30.0)
PROGRESS = ["courses", "content_user_progress"]
# The enrolment audit for Brightspace: an enrollment exists or not; an SIS 'deleted' row that is
# still enrolled is a state mismatch.
AUDIT = """
with lms as (
    select c.code as course_id, e.org_defined_id as user_id
    from enrollments e join courses c on c.org_unit_id = e.org_unit_id
    where e.org_defined_id is not null
)
select 'missing_in_lms', s.course_id, s.user_id from sis_roster s
    left join lms l on l.course_id = s.course_id and l.user_id = s.user_id
    where l.user_id is null and s.status <> 'deleted'
union all
select 'extra_in_lms', l.course_id, l.user_id from lms l
    left join sis_roster s on s.course_id = l.course_id and s.user_id = l.user_id
    where s.user_id is null
union all
select 'state_mismatch', s.course_id, s.user_id from sis_roster s
    join lms l on l.course_id = s.course_id and l.user_id = s.user_id
    where s.status = 'deleted'
"""


@pytest.fixture
def sandbox() -> Iterator[BrightspaceSandbox]:
    with BrightspaceSandbox(size="small", seed=11, throttle="off") as sb:
        yield sb


def make_api(sb: BrightspaceSandbox, token_file: Path) -> BrightspaceApi:
    return connect(
        sb.base_url,
        sb.client_id,
        sb.client_secret,
        sb.initial_refresh_token,
        token_url=sb.token_url,
        refresh_token_file=str(token_file),
        policy=FAST,
        poll_policy=FAST_POLL,
    )


def load(
    pipeline: dlt.Pipeline, api: BrightspaceApi, resources: list[str], extra: list[Any] | None = None
) -> None:
    source = brightspace_source(api=api)
    info = pipeline.run([source.with_resources(*resources), *(extra or [])])
    assert not info.has_failed_jobs


def query(pipeline: dlt.Pipeline, sql: str) -> list[tuple[Any, ...]]:
    with pipeline.sql_client() as client:
        return [tuple(r) for r in client.execute_sql(sql)]


def utc(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text.replace("Z", "+00:00")) if text else None


def test_content_progress_equals_truth_and_follows_a_drop(sandbox: BrightspaceSandbox, dlt_dir: Path) -> None:
    pipeline = dlt.pipeline(
        "bs_progress", destination=dlt.destinations.duckdb(str(dlt_dir / "w.duckdb")), dataset_name="bs"
    )
    api = make_api(sandbox, dlt_dir / "rt.token")
    load(pipeline, api, PROGRESS)
    columns = "org_unit_id, object_id, user_id, num_visits, total_time, last_visited, completed, completed_date, is_read, visited, is_exempt"
    rows = query(pipeline, f"select {columns} from content_user_progress")
    expected = {
        (
            r["OrgUnitId"],
            r["ObjectId"],
            r["UserId"],
            r["NumVisits"],
            r["TotalTime"],
            utc(r["LastVisited"]),
            r["Completed"],
            utc(r["CompletedDate"]),
            r["IsRead"],
            r["Visited"],
            r["IsExempt"],
        )
        for r in sandbox.truth_rows("content_user_progress")
    }
    assert len(rows) == len(set(rows)) == len(expected) > 500
    assert set(rows) == expected
    types = pipeline.default_schema.get_table_columns("content_user_progress")
    assert types["last_visited"]["data_type"] == "timestamp" and types["completed"]["data_type"] == "bool"
    # a dropped student's records leave with the next run; other courses stay as they were
    changes = sandbox.advance()
    load(pipeline, api, PROGRESS)
    keys = set(query(pipeline, "select org_unit_id, object_id, user_id from content_user_progress"))
    assert keys == sandbox.truth_keys("content_user_progress")
    ((ou, uid),) = changes.dropped_enrollments
    assert not [k for k in keys if k[0] == ou and k[2] == uid]


def test_roster_audit_finds_the_planted_differences(sandbox: BrightspaceSandbox, dlt_dir: Path) -> None:
    pipeline = dlt.pipeline(
        "bs_roster", destination=dlt.destinations.duckdb(str(dlt_dir / "r.duckdb")), dataset_name="bs"
    )
    roster = sandbox.write_sis_roster(dlt_dir / "roster.csv")
    api = make_api(sandbox, dlt_dir / "rt.token")
    load(pipeline, api, ["courses", "enrollments"], [sis_roster_source(str(roster))])
    assert query(pipeline, "select count(*) from sis_roster") == [(len(roster.read_text().splitlines()) - 1,)]
    found: dict[str, set[tuple[str, str]]] = {k: set() for k in sandbox.roster_differences()}
    for kind, course_id, user_id in query(pipeline, AUDIT):
        found[kind].add((course_id, user_id))
    assert found == sandbox.roster_differences()
    assert all(len(v) >= 3 for v in found.values())
