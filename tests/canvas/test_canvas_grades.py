"""Canvas grades as the registrar sees them: documented payloads fully typed, rejects, grading
periods and overrides computed as Canvas computes them (sandbox + dbt), canvasapi on new routes."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import canvasapi
import dlt
import pytest
from dlt.pipeline.exceptions import PipelineStepFailed

from pipelines.transform import TransformError, run_models
from sandbox.canvas import CanvasSandbox
from sandbox.canvas.truth import GRADING_TABLES
from sources.canvas import CanvasApi, canvas_source
from sources.canvas.rejects import RejectedRowError
from sources.lms_http.retry import RetryPolicy

from .documented_payloads import Catalog, course, payload_server

FAST = RetryPolicy(max_attempts=3, base_delay=0.01, max_delay=0.05)
UNTYPED = "could not have their types inferred"
# the REST resources the documented payloads cover (analytics and Roll Call have their own tests)
RESOURCES = (
    "accounts", "terms", "courses", "users", "sections", "enrollments", "assignment_groups",
    "assignments", "submissions", "grading_period_sets", "grading_periods", "enrollment_period_grades",
    "late_policies", "custom_grade_statuses",
)  # fmt: skip


def query(pipeline: dlt.Pipeline, sql: str) -> list[tuple[Any, ...]]:
    with pipeline.sql_client() as client:
        return [tuple(r) for r in client.execute_sql(sql)]


def load_payloads(pipeline: dlt.Pipeline, catalog: Catalog, **kwargs: Any) -> CanvasApi:
    with payload_server(catalog) as url:
        api = CanvasApi(url, "token", policy=FAST)
        source = canvas_source(api=api, **kwargs)
        pipeline.run(source.with_resources(*RESOURCES))
    return api


def test_documented_payloads_load_typed_and_a_row_without_a_key_is_rejected(
    pipeline: dlt.Pipeline, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    # first a load where every documented field is null, then one where each is set
    load_payloads(pipeline, Catalog(nulls_only=True))
    assert UNTYPED not in caplog.text
    api = load_payloads(pipeline, Catalog(drop_key=("assignment_id", "missing")))

    assert UNTYPED not in caplog.text
    schema = pipeline.default_schema
    variants = [f"{t}.{c}" for t, table in schema.tables.items() for c in table["columns"] if "__v_" in c]
    assert variants == []
    untyped = [
        f"{table['name']}.{c}"
        for table in schema.data_tables()
        for c, col in table["columns"].items()
        if not col.get("data_type")
    ]
    assert untyped == []
    courses = schema.get_table_columns("courses")
    assert courses["grade_passback_setting"]["data_type"] == "text"
    assert query(pipeline, "select grade_passback_setting from courses order by id") == [
        ("nightly_sync",),
        (None,),
    ]
    enrollments = schema.get_table_columns("enrollments")
    for column in ("grades__override_score", "grades__current_points", "grades__unposted_current_points"):
        assert enrollments[column]["data_type"] == "double"
    assert enrollments["grades__html_url"]["data_type"] == "text"
    assert query(pipeline, "select grades__override_score, override_grade from enrollments order by id") == [
        (90.0, "A-"),
        (90.0, "A-"),
        (None, None),
        (None, None),
    ]
    assert schema.get_table_columns("assignments")["final_grader_id"]["data_type"] == "bigint"
    assert schema.get_table_columns("users")["last_login"]["data_type"] == "timestamp"

    # the row without assignment_id is set aside; its course's other rows and the other course load
    # (this fake server ignores the rerun's submitted_since / graded_since, so it is read twice)
    assert query(pipeline, "select distinct endpoint, course_id, key, reason from rejects") == [
        ("submissions", 1, "assignment_id", "missing")
    ]
    assert query(pipeline, "select course_id, count(*) from submissions group by 1 order by 1") == [
        (1, 2),
        (2, 2),
    ]
    rejected = api.stats.as_dict()["rejected"]
    assert rejected and all(
        r == {"endpoint": "submissions", "course_id": 1, "key": "assignment_id", "reason": "missing"}
        for r in rejected
    )
    assert query(pipeline, "select count(*) from rejects") == [(len(rejected),)]
    counts = {
        t: query(pipeline, f"select count(*) from {t}")[0][0]
        for t in ("grading_period_sets", "grading_periods", "late_policies", "custom_grade_statuses")
    }
    assert counts == {
        "grading_period_sets": 1,
        "grading_periods": 2,
        "late_policies": 2,
        "custom_grade_statuses": 1,
    }
    # both courses are in the set's term: 2 periods x 2 student enrollments each
    assert query(pipeline, "select count(*) from enrollment_period_grades") == [(8,)]


def test_a_mistyped_key_is_rejected_and_strict_stops_the_run(pipeline: dlt.Pipeline, dlt_dir: Path) -> None:
    load_payloads(pipeline, Catalog(drop_key=("user_id", "seven")))
    assert query(pipeline, "select endpoint, key, reason from rejects") == [
        ("submissions", "user_id", "wrong type: str 'seven', expected an integer id")
    ]

    strict = dlt.pipeline(
        "canvas_strict",
        destination=dlt.destinations.duckdb(str(dlt_dir / "strict.duckdb")),
        dataset_name="canvas",
    )
    with pytest.raises(PipelineStepFailed) as failed:
        load_payloads(strict, Catalog(drop_key=("assignment_id", "missing")), strict=True)
    cause: BaseException | None = failed.value
    while cause is not None and not isinstance(cause, RejectedRowError):
        cause = cause.__cause__ or cause.__context__
    assert isinstance(cause, RejectedRowError)
    assert str(cause).startswith("a Canvas submissions row of course 1 has key 'assignment_id' missing")


def test_a_course_without_a_usable_id_is_rejected_and_the_others_load(pipeline: dlt.Pipeline) -> None:
    catalog = Catalog()
    catalog.courses.append(course(3) | {"id": "three"})
    api = load_payloads(pipeline, catalog)
    reason = "wrong type: str 'three', expected an integer id"
    assert query(pipeline, "select endpoint, course_id, key, reason from rejects") == [
        ("courses", None, "id", reason)
    ]
    assert api.stats.as_dict()["rejected"] == [
        {"endpoint": "courses", "course_id": None, "key": "id", "reason": reason}
    ]
    # the course is in no table; the two others and their children load
    assert query(pipeline, "select id from courses order by id") == [(1,), (2,)]
    assert query(pipeline, "select course_id, count(*) from submissions group by 1 order by 1") == [
        (1, 2),
        (2, 2),
    ]
    assert query(pipeline, "select course_id from late_policies order by 1") == [(1,), (2,)]


def test_users_without_email_when_the_privacy_policy_drops_it(pipeline: dlt.Pipeline) -> None:
    from sources.privacy import PrivacyPolicy

    with CanvasSandbox(size="small", seed=7) as sb:
        api = CanvasApi(sb.base_url, sb.admin_token, policy=FAST)
        source = canvas_source(api=api, privacy=PrivacyPolicy(emails="drop")).with_resources("users")
        pipeline.run(source)
        columns = pipeline.default_schema.get_table_columns("users")
        assert "email" not in columns
        logins = {u.id: u.last_login for u in sb.institution.users}
    assert query(pipeline, "select count(*) from users where last_login is not null") == [
        (sum(1 for v in logins.values() if v is not None),)
    ]


def test_period_and_course_scores_equal_canvas_for_every_enrollment(dlt_dir: Path) -> None:
    with CanvasSandbox(size="small", seed=7) as sb:
        inst = sb.institution
        pipeline = dlt.pipeline(
            "canvas_grades",
            destination=dlt.destinations.duckdb(str(dlt_dir / "g.duckdb")),
            dataset_name="canvas",
        )
        api = CanvasApi(sb.base_url, sb.admin_token, policy=FAST)
        pipeline.run(canvas_source(api=api))
        # the grading setup tables hold exactly the sandbox's rows
        for table in GRADING_TABLES:
            key = "enrollment_id, grading_period_id" if table == "enrollment_period_grades" else "id"
            got = query(pipeline, f"select {key} from {table}")
            assert len(got) == len(set(got)) and set(got) == sb.truth_keys(table), table
        summary = run_models(pipeline)
        # the sandbox's truth: per period and per course, from its own calculator
        period_truth: dict[tuple[int, int, int], Any] = {}
        weighted_courses = unweighted_courses = 0
        overrides: dict[tuple[int, int], float] = {}
        for course in inst.courses:
            period_set = inst.period_set(course)
            if period_set is not None:
                weighted_courses += period_set.weighted
                unweighted_courses += not period_set.weighted
                for e in course.enrollments:
                    if e.type == "StudentEnrollment":
                        for p in period_set.periods:
                            period_truth[(course.id, e.user.id, p.id)] = inst.period_scores(course, p, e)
            for e in course.enrollments:
                if e.id in course.override_scores:
                    overrides[(course.id, e.user.id)] = course.override_scores[e.id]
    assert summary.tests_warned == 0
    assert weighted_courses >= 1 and unweighted_courses >= 1 and overrides

    rows = query(
        pipeline,
        "select course_id, student_id, grading_period_id, current_score, final_score,"
        " unposted_current_score, unposted_final_score, lms_current_score, lms_final_score,"
        " lms_unposted_current_score, lms_unposted_final_score from analytics.course_period_grades",
    )
    assert len(rows) == len(period_truth)
    for course_id, student_id, period_id, *ours_and_canvas in rows:
        ours, canvas = ours_and_canvas[:4], ours_and_canvas[4:]
        truth = period_truth[(course_id, student_id, period_id)]
        expected = (
            [None] * 4
            if truth is None
            else [
                truth.current_score,
                truth.final_score,
                truth.unposted_current_score,
                truth.unposted_final_score,
            ]
        )
        assert [None if v is None else float(v) for v in ours] == expected
        assert list(canvas) == expected

    # every course score (weighted periods included) agrees with Canvas's
    assert query(
        pipeline, "select count(*) from analytics.course_grade_agreement where not is_in_agreement"
    ) == [(0,)]
    got = {
        (c, s): float(o)
        for c, s, o in query(
            pipeline,
            "select course_id, student_id, override_score from analytics.course_grades where has_override",
        )
    }
    assert got == overrides
    posted = query(
        pipeline,
        "select count(*) from analytics.course_grades where has_override and posted_final_score <> override_score",
    )
    assert posted == [(0,)]


def test_canvasapi_reads_search_users_periods_and_late_policy() -> None:
    with CanvasSandbox(size="small", seed=7) as sb:
        canvas = canvasapi.Canvas(sb.base_url, sb.admin_token)
        inst = sb.institution
        course = next(c for c in inst.courses if inst.period_set(c) is not None)
        api_course = canvas.get_course(course.id)
        users = list(api_course.get_users(enrollment_type=["student"]))
        live = {
            e.user.id
            for e in course.enrollments
            if e.type == "StudentEnrollment" and e.state in ("active", "invited")
        }
        assert {u.id for u in users} == live
        periods = list(api_course.get_grading_periods())
        assert [p.id for p in periods] == [p.id for p in inst.period_set(course).periods]
        policy = api_course.get_late_policy()
        assert policy.course_id == course.id
        assert policy.late_submission_deduction == round(100 * course.late_policy_pct, 2)
        period = inst.period_set(course).periods[0]
        enrollments = list(
            api_course.get_enrollments(type=["StudentEnrollment"], grading_period_id=period.id)
        )
        by_id = {e.id: e for e in course.enrollments}
        for row in enrollments:
            truth = inst.period_scores(course, period, by_id[row.id])
            assert row.grades["current_score"] == (truth.current_score if truth else None)


def test_a_disagreement_is_reported_and_fails_only_with_strict_grades(dlt_dir: Path) -> None:
    with CanvasSandbox(size="small", seed=7) as sb:
        pipeline = dlt.pipeline(
            "canvas_agree",
            destination=dlt.destinations.duckdb(str(dlt_dir / "a.duckdb")),
            dataset_name="canvas",
        )
        api = CanvasApi(sb.base_url, sb.admin_token, policy=FAST)
        pipeline.run(canvas_source(api=api).with_resources(*RESOURCES))
    # Canvas reports one score 1 point higher than the gradebook gives
    query(
        pipeline,
        "update canvas.enrollments set grades__current_score = grades__current_score + 1"
        " where id = (select min(id) from canvas.enrollments where grades__current_score is not null)",
    )
    summary = run_models(pipeline)
    compared = summary.headline["grades compared with the LMS"]
    assert compared > 1
    assert summary.tests_warned == 1
    assert summary.headline["course grades agreeing with the LMS"] == (
        f"{compared - 1} of {compared} agree, 1 disagree (see analytics.course_grade_agreement)"
    )
    # the same test with --strict-grades fails the build (the models it reads are built above)
    with pytest.raises(TransformError) as failed:
        run_models(pipeline, "assert_course_grades_agree_with_lms", strict_grades=True, headline=False)
    assert "assert_course_grades_agree_with_lms" in str(failed.value)
    assert run_models(pipeline, "assert_course_grades_agree_with_lms", headline=False).tests_warned == 1
