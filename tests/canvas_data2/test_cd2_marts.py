"""The same institution loaded through REST and through Canvas Data 2 builds the same marts: identical
`course_grades`, `gradebook` and `course_enrollments`, keys and values; and web_logs feed weekly
engagement and participation with exactly the sandbox log's counts."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import dlt
import pytest

from pipelines.transform import run_models
from sandbox.canvas import CanvasSandbox
from sandbox.canvas_data2 import CanvasData2Sandbox
from sources.canvas_data2 import canvas_data2
from tests.canvas_data2.conftest import CLIENT_ID, CLIENT_SECRET
from tests.sql.warehouse import load_canvas

MARTS = ("course_grades", "gradebook", "course_enrollments", "course_period_grades")


@dataclass(frozen=True)
class Cd2Build:
    """The CD2 sandbox loaded and the marts built with canvas_channel=cd2, and the sandbox's truth."""

    pipeline: dlt.Pipeline
    web_logs: list[dict[str, Any]]  # the lake's live canvas_logs.web_logs rows
    enrollments: list[dict[str, Any]]  # the lake's live canvas.enrollments rows


@pytest.fixture(scope="module")
def cd2_build(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cd2Build]:
    work = tmp_path_factory.mktemp("cd2_build")
    with pytest.MonkeyPatch.context() as patch:
        (work / "dlt").mkdir()
        patch.setenv("DLT_DATA_DIR", str(work / "dlt"))
        patch.chdir(work)
        with CanvasData2Sandbox(
            "small", 7, limits={"create_job": 1000}, client_id=CLIENT_ID, client_secret=CLIENT_SECRET
        ) as dap:
            pipeline = dlt.pipeline(
                "cd2_marts",
                destination=dlt.destinations.duckdb(str(work / "cd2.duckdb")),
                dataset_name="canvas_data2",
            )
            pipeline.run(
                canvas_data2(
                    client_id=CLIENT_ID,
                    client_secret=CLIENT_SECRET,
                    base_url=dap.base_url,
                    poll_seconds=0.0,
                    jobs_per_minute=1000,
                )
            )
            run_models(  # raises on any failed model or data test
                pipeline,
                datasets={"canvas_channel": "cd2", "canvas_data2_dataset": "canvas_data2"},
            )
            web_logs = list(dap.truth("canvas_logs", "web_logs").values())
            enrollments = list(dap.truth("canvas", "enrollments").values())
        yield Cd2Build(pipeline, web_logs, enrollments)


def query(pipeline: dlt.Pipeline, sql: str) -> list[tuple[Any, ...]]:
    with pipeline.sql_client() as client:
        return [tuple(r) for r in client.execute_sql(sql)]


def mart_rows(pipeline: dlt.Pipeline, mart: str) -> list[tuple[Any, ...]]:
    with pipeline.sql_client() as client:
        columns = [
            r[0]
            for r in client.execute_sql(
                "select column_name from information_schema.columns "
                f"where table_schema = 'analytics' and table_name = '{mart}' order by column_name"
            )
        ]
        rows = client.execute_sql(f"select {', '.join(columns)} from analytics.{mart}")
    return sorted((tuple(zip(columns, row, strict=True)) for row in rows), key=repr)


def test_rest_and_cd2_give_the_same_marts(dlt_dir: Path, cd2_build: Cd2Build) -> None:
    with CanvasSandbox("small", 7) as rest:
        rest_pipeline = load_canvas(dlt.destinations.duckdb(str(dlt_dir / "rest.duckdb")), rest)
        run_models(rest_pipeline)  # raises on any failed model or data test
    cd2_pipeline = cd2_build.pipeline
    for mart in MARTS:
        ours, theirs = mart_rows(rest_pipeline, mart), mart_rows(cd2_pipeline, mart)
        assert len(ours) == len(theirs) > 0, mart
        for a, b in zip(ours, theirs, strict=True):
            assert [name for name, _ in a] == [name for name, _ in b]
            for (name, x), (_, y) in zip(a, b, strict=True):
                if isinstance(x, float) and isinstance(y, float):
                    # unrounded doubles are sums whose order follows the physical row order
                    assert math.isclose(x, y, rel_tol=1e-12), (mart, name, a)
                else:
                    assert x == y, (mart, name, a)
    # the late policies, staged from the Late Policy API and from CD2's late_policies, are the same
    policies = "select * from analytics_staging.{} order by late_policy_id"
    rest_policies = query(rest_pipeline, policies.format("stg_canvas__late_policies"))
    assert len(rest_policies) > 0
    assert query(cd2_pipeline, policies.format("stg_canvas_data2__late_policies")) == rest_policies
    # Canvas's own period scores came through CD2's scores table (not only the calculated ones)
    reported = query(
        cd2_pipeline,
        "select count(*) filter (where has_lms_score), count(lms_current_score) "
        "from analytics.course_period_grades",
    )
    assert reported[0][0] > reported[0][1] > 0
    weekly = query(
        cd2_pipeline,
        "select sum(page_views), sum(participations) from analytics_intermediate.int_canvas_web_logs_weekly",
    )
    assert weekly[0][0] == len(cd2_build.web_logs) and weekly[0][1] > 0
    # the engagement marts have the same columns, in the same order, on both channels
    for mart in ("engagement_weekly", "participation_weekly", "engagement_students"):
        names = (
            "select column_name from information_schema.columns where table_schema = 'analytics' "
            f"and table_name = '{mart}' order by ordinal_position"
        )
        rest_columns = query(rest_pipeline, names)
        assert len(rest_columns) > 10 and rest_columns == query(cd2_pipeline, names), mart


def _utc_day(timestamp: Any) -> date:
    if isinstance(timestamp, str):
        timestamp = datetime.strptime(timestamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    return timestamp.astimezone(UTC).date()


def test_web_logs_feed_weekly_participation_and_engagement(cd2_build: Cd2Build) -> None:
    """Per student x course x week (and per course x week) the marts hold exactly the page views,
    participations and active days counted here from the sandbox's own web_logs rows."""
    students = {
        (e["course_id"], e["user_id"]) for e in cd2_build.enrollments if e["type"] == "StudentEnrollment"
    }
    views: Counter[tuple[int, int, date]] = Counter()
    parts: Counter[tuple[int, int, date]] = Counter()
    days: dict[tuple[int, int, date], set[date]] = {}
    course_days: dict[tuple[int, date], set[date]] = {}
    for row in cd2_build.web_logs:
        if (row["course_id"], row["user_id"]) not in students:
            continue
        day = _utc_day(row["timestamp"])
        week = day - timedelta(days=day.weekday())
        key = (row["course_id"], row["user_id"], week)
        views[key] += 1
        parts[key] += 1 if row["participated"] else 0
        days.setdefault(key, set()).add(day)
        course_days.setdefault((row["course_id"], week), set()).add(day)
    enrolled_rows = sum(views.values())
    assert enrolled_rows > 0 and sum(parts.values()) > 0
    want = {key: (views[key], parts[key], len(days[key])) for key in views}

    pipeline = cd2_build.pipeline
    got = {
        (course, student, week): (int(v), int(p), int(d))
        for course, student, week, v, p, d in query(
            pipeline,
            "select course_id, student_id, week_start_date, page_views, participations, active_day_count "
            "from analytics.participation_weekly where lms = 'canvas' and page_views > 0",
        )
    }
    assert got == want
    assert query(pipeline, "select sum(page_views) from analytics.participation_weekly") == [(enrolled_rows,)]
    # a week the logs cover without a request reads 0, one before them NULL
    first_week = min(week for _, _, week in want)
    assert query(
        pipeline,
        "select count(*) from analytics.participation_weekly where lms = 'canvas' and ("
        "(page_views = 0 and (participations <> 0 or active_day_count <> 0 or week_start_date < "
        f"date '{first_week}')) or (page_views is null and week_start_date >= date '{first_week}'))",
    ) == [(0,)]

    want_course: Counter[tuple[int, date]] = Counter()
    want_course_parts: Counter[tuple[int, date]] = Counter()
    for (course, student, week), n in views.items():
        want_course[(course, week)] += n
        want_course_parts[(course, week)] += parts[(course, student, week)]
    got_course = {
        (course, week): (int(v), int(p), int(d))
        for course, week, v, p, d in query(
            pipeline,
            "select course_id, week_start_date, page_views, participations, active_day_count "
            "from analytics.engagement_weekly where lms = 'canvas' and page_views is not null",
        )
    }
    assert got_course == {
        key: (n, want_course_parts[key], len(course_days[key])) for key, n in want_course.items()
    }

    # per enrollment: the totals, measured as web_logs
    totals: Counter[tuple[int, int]] = Counter()
    for (course, student, _), n in views.items():
        totals[(course, student)] += n
    got_totals = {
        (course, student): int(v)
        for course, student, v in query(
            pipeline,
            "select course_id, student_id, page_views from analytics.engagement_students "
            "where lms = 'canvas' and page_views_measure = 'canvas_web_logs' and page_views > 0",
        )
    }
    assert got_totals == dict(totals)
