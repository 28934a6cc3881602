"""dbt build over both sandboxes (DuckDB and Postgres): every model and test passes, marts equal the truths."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dlt
import pytest
from dbt.adapters.cache import RelationsCache

from pipelines.transform import TransformSummary, run_models
from sandbox.brightspace import BrightspaceSandbox
from sandbox.brightspace.attendance import SCHEMES
from sandbox.canvas import CanvasSandbox
from tests.conftest import POSTGRES_DSN
from tests.sql.warehouse import load_brightspace, load_canvas

MARTS = {
    "courses",
    "course_enrollments",
    "gradebook",
    "course_grades",
    "course_grade_agreement",
    "attendance_student_daily",
    "attendance_daily",
    "attendance_student_weekly",
    "attendance_weekly",
    "engagement_students",
    "engagement_weekly",
    "enrollment_audit",
    "participation_weekly",
}
CANVAS_SCORES = ("current_score", "final_score", "unposted_current_score", "unposted_final_score")


@pytest.fixture
def sandboxes() -> Iterator[tuple[CanvasSandbox, BrightspaceSandbox]]:
    with (
        CanvasSandbox(size="small", seed=7) as canvas,
        BrightspaceSandbox(size="small", seed=11) as brightspace,
    ):
        yield canvas, brightspace


def query(pipeline: dlt.Pipeline, sql: str) -> list[tuple[Any, ...]]:
    with pipeline.sql_client() as client:
        return [tuple(r) for r in client.execute_sql(sql)]


def load_both(
    destination: Any, canvas: CanvasSandbox, brightspace: BrightspaceSandbox, work: Path, prefix: str = ""
) -> dlt.Pipeline:
    """Both sandboxes, with their Roll Call reports and SIS rosters, into one destination."""
    (work / "inputs").mkdir(parents=True, exist_ok=True)
    pipeline = load_canvas(destination, canvas, inputs=work / "inputs", dataset=f"{prefix}canvas")
    load_brightspace(
        destination,
        brightspace,
        str(work / "brightspace.token"),
        inputs=work / "inputs",
        dataset=f"{prefix}brightspace",
    )
    return pipeline


def canvas_reported(canvas: CanvasSandbox) -> int:
    """(enrollment, score) pairs Canvas reports: four per student enrollment showing any score."""
    scores = ("current_score", "final_score", "unposted_current_score", "unposted_final_score")
    return 4 * sum(
        1
        for row in canvas.truth_rows("enrollments")
        if row.get("grades") and any(row["grades"][s] is not None for s in scores)
    )


def assert_build(summary: TransformSummary) -> None:
    assert MARTS <= set(summary.models)
    assert summary.tests_passed >= 100 and summary.tests_warned == 0


def assert_marts_equal_truths(
    pipeline: dlt.Pipeline, schema: str, canvas: CanvasSandbox, brightspace: BrightspaceSandbox
) -> None:
    # gradebook: Canvas = the submissions served; Brightspace = enrolled students x grade items
    rows = query(pipeline, f"select lms, course_id, student_id, item_id from {schema}.gradebook")
    got_canvas = {(c, i, s) for lms, c, s, i in rows if lms == "canvas"}
    assert len([r for r in rows if r[0] == "canvas"]) == canvas.truth()["submissions"]
    assert got_canvas == canvas.truth_keys("submissions")
    students: dict[int, set[int]] = {}
    for r in brightspace.truth_rows("final_grades"):
        students.setdefault(r["OrgUnitId"], set()).add(r["UserId"])
    items: dict[int, set[int]] = {}
    for r in brightspace.truth_rows("grade_objects"):
        items.setdefault(r["OrgUnitId"], set()).add(r["GradeObjectId"])
    expected = {(ou, s, i) for ou in students for s in students[ou] for i in items.get(ou, ())}
    got_brightspace = [(c, s, i) for lms, c, s, i in rows if lms == "brightspace"]
    assert len(got_brightspace) == len(expected) and set(got_brightspace) == expected

    # course grades: every score the LMS reports is compared, and all agree
    compared = dict(
        query(
            pipeline,
            f"select lms, count(*) from {schema}.course_grade_agreement where is_compared group by lms",
        )
    )
    assert compared == {
        "canvas": canvas_reported(canvas),
        "brightspace": len(brightspace.truth_rows("final_grades")),
    }
    assert query(
        pipeline, f"select count(*) from {schema}.course_grade_agreement where not is_in_agreement"
    ) == [(0,)]
    (worst,) = query(pipeline, f"select max(score_difference) from {schema}.course_grade_agreement")[0]
    assert float(worst) < 1e-9

    # attendance counts per course and status: Roll Call's reports; Brightspace's marks
    want: Counter[tuple[str, int, str]] = Counter(
        ("canvas", int(r["Course ID"]), r["Attendance"]) for r in canvas.rollcall_truth()
    )
    register_course = {
        r["AttendanceRegisterId"]: r["OrgUnitId"] for r in brightspace.truth_rows("attendance_registers")
    }
    session_register = {
        r["AttendanceSessionId"]: r["AttendanceRegisterId"]
        for r in brightspace.truth_rows("attendance_sessions")
    }
    symbols = {sym.id: sym.name.lower() for scheme in SCHEMES for sym in scheme.symbols}
    for r in brightspace.truth_rows("attendance_user_sessions"):
        ou = register_course[session_register[r["AttendanceSessionId"]]]
        want[("brightspace", ou, symbols[r["SchemeSymbolId"]])] += 1
    got: Counter[tuple[str, int, str]] = Counter()
    for lms, course, present, late, absent, excused, other in query(
        pipeline,
        "select lms, course_id, sum(present_count), sum(late_count), sum(absent_count), sum(excused_count), "
        f"sum(other_count) from {schema}.attendance_student_daily group by lms, course_id",
    ):
        for status, n in (("present", present), ("late", late), ("absent", absent), ("excused", excused)):
            if n:
                got[(lms, course, status)] += int(n)
        assert not other
    assert got == want
    for mart in ("attendance_daily", "attendance_weekly", "attendance_student_weekly"):
        assert query(pipeline, f"select sum(recorded_count) from {schema}.{mart}") == [(sum(want.values()),)]

    # the audit finds exactly the differences planted in each SIS roster
    audit = query(
        pipeline,
        f"select lms, audit_status, sis_course_id, sis_user_id from {schema}.enrollment_audit "
        "where audit_status <> 'in_sync'",
    )
    for lms, sandbox in (("canvas", canvas), ("brightspace", brightspace)):
        found = {
            status: {(c, u) for lms_, s, c, u in audit if lms_ == lms and s == status}
            for status in ("missing_in_lms", "extra_in_lms", "state_mismatch")
        }
        assert found == sandbox.roster_differences(), lms

    # engagement: page views per course equal Canvas's student summaries and daily activity, and
    # Brightspace's content visits
    views = dict(
        query(
            pipeline,
            f"select course_key, sum(page_views) from {schema}.engagement_students "
            "where page_views is not null group by course_key",
        )
    )
    want_views: Counter[str] = Counter()
    for r in canvas.truth_rows("student_summaries"):
        want_views[f"canvas-{r['course_id']}"] += r["page_views"]
    for r in brightspace.truth_rows("content_user_progress"):
        want_views[f"brightspace-{r['OrgUnitId']}"] += r["NumVisits"]
    assert {k: int(v) for k, v in views.items()} == dict(want_views)
    weekly = dict(
        query(
            pipeline,
            f"select course_id, sum(page_views) from {schema}.engagement_weekly "
            "where lms = 'canvas' and page_views is not null group by course_id",
        )
    )
    want_weekly: Counter[int] = Counter()
    for r in canvas.truth_rows("course_activity"):
        want_weekly[r["course_id"]] += r["views"]
    assert {k: int(v) for k, v in weekly.items()} == {k: v for k, v in want_weekly.items() if v}

    # Brightspace Data Sets feed engagement: quiz attempts, discussion posts and course access days
    hub = brightspace.app.hub
    posts, attempts = len(hub.live_rows("Discussion Posts")), len(hub.live_rows("Quiz Attempts"))
    access, handed_in = len(hub.live_rows("Course Access")), len(hub.live_rows("Assignment Submissions"))
    assert query(
        pipeline,
        f"select sum(quiz_attempt_count), sum(discussion_post_count), sum(course_access_count) "
        f"from {schema}.engagement_weekly where lms = 'brightspace'",
    ) == [(attempts, posts, access)]
    # participation: student x course x week, fed by both LMSs
    canvas_submitted = query(
        pipeline, f"select count(*) from {schema}.gradebook where lms = 'canvas' and submitted_at is not null"
    )[0][0]
    participation = dict(
        (lms, rest)
        for lms, *rest in query(
            pipeline,
            "select lms, sum(submitted_count), sum(discussion_post_count), sum(active_day_count), "
            f"sum(attendance_recorded_count) from {schema}.participation_weekly group by lms",
        )
    )
    marks = Counter(lms for lms, _, _ in want.elements())
    assert [int(v) if v is not None else None for v in participation["canvas"]] == [
        canvas_submitted,
        None,
        None,
        marks["canvas"],
    ]
    assert [int(v) for v in participation["brightspace"]] == [
        handed_in + attempts,
        posts,
        access,
        marks["brightspace"],
    ]


def test_duckdb_build_passes_and_marts_equal_the_sandboxes(
    dlt_dir: Path, sandboxes: tuple[CanvasSandbox, BrightspaceSandbox]
) -> None:
    canvas, brightspace = sandboxes
    pipeline = load_both(
        dlt.destinations.duckdb(str(dlt_dir / "warehouse.duckdb")), canvas, brightspace, dlt_dir
    )
    summary = run_models(pipeline)
    assert_build(summary)
    assert summary.headline["grades compared with the LMS"] == canvas_reported(canvas) + len(
        brightspace.truth_rows("final_grades")
    )
    assert_marts_equal_truths(pipeline, "analytics", canvas, brightspace)


def test_canvas_only_build(dlt_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # dbt fills its relation cache one relation at a time while other threads compile models; a
    # source looked up meanwhile must still be found (a half-filled cache once emptied the Canvas
    # courses on Postgres). Filling slowly makes that window wide on every run.
    fill = RelationsCache.add

    def slow_add(cache: RelationsCache, relation: Any) -> None:
        fill(cache, relation)
        time.sleep(0.02)

    monkeypatch.setattr(RelationsCache, "add", slow_add)
    """No Brightspace tables at all (and no Roll Call or roster): every model builds, every test passes."""
    with CanvasSandbox(size="small", seed=7) as canvas:
        pipeline = load_canvas(dlt.destinations.duckdb(str(dlt_dir / "canvas_only.duckdb")), canvas)
        summary = run_models(pipeline)
        assert_build(summary)
        by_lms = dict(query(pipeline, "select lms, count(*) from analytics.course_grades group by lms"))
        assert by_lms == {
            "canvas": sum(1 for r in canvas.truth_rows("enrollments") if r["type"] == "StudentEnrollment")
        }
        assert query(pipeline, "select count(*) from analytics.course_grade_agreement where is_compared") == [
            (canvas_reported(canvas),)
        ]
        assert query(
            pipeline, "select count(*) from analytics.course_grade_agreement where not is_in_agreement"
        ) == [(0,)]
        assert query(pipeline, "select count(*) from analytics.gradebook") == [
            (canvas.truth()["submissions"],)
        ]
        for empty in ("attendance_daily", "enrollment_audit"):
            assert query(pipeline, f"select count(*) from analytics.{empty}") == [(0,)]


@pytest.mark.postgres
def test_postgres_build_passes_and_marts_equal_the_sandboxes(
    dlt_dir: Path, postgres_dataset: str, sandboxes: tuple[CanvasSandbox, BrightspaceSandbox]
) -> None:
    canvas, brightspace = sandboxes
    prefix = f"{postgres_dataset}_"
    pipeline = load_both(dlt.destinations.postgres(POSTGRES_DSN), canvas, brightspace, dlt_dir, prefix=prefix)
    schema = f"{postgres_dataset}_analytics"
    summary = run_models(
        pipeline,
        analytics_schema=schema,
        datasets={"canvas": f"{prefix}canvas", "brightspace": f"{prefix}brightspace"},
    )
    assert summary.target == "postgres"
    assert_build(summary)
    assert_marts_equal_truths(pipeline, schema, canvas, brightspace)
