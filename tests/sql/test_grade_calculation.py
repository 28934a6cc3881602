"""The course-grade SQL against the reference calculators on worked examples and random grade books."""

from __future__ import annotations

import random
from pathlib import Path

import dlt
import pytest

from pipelines.transform import TransformError, run_models
from tests.sql import synthetic

DATASETS = {"canvas": "canvas", "brightspace": "brightspace"}
SELECT = "+course_grade_agreement"


def query(pipeline: dlt.Pipeline, sql: str) -> list[tuple]:
    with pipeline.sql_client() as client:
        return [tuple(r) for r in client.execute_sql(sql)]


@pytest.fixture
def books(dlt_dir: Path) -> tuple[dlt.Pipeline, int]:
    """Worked examples plus random grade books of both LMSs in one DuckDB file; the number of
    (enrollment, score) pairs the LMSs report."""
    destination = dlt.destinations.duckdb(str(dlt_dir / "books.duckdb"))
    rng = random.Random(20261122)
    canvas_courses = synthetic.worked_example_courses() + synthetic.random_canvas_courses(rng, 30)
    brightspace_courses = synthetic.b7_courses() + synthetic.random_brightspace_courses(rng, 30)
    canvas = dlt.pipeline("books_canvas", destination=destination, dataset_name="canvas")
    synthetic.load_canvas_courses(canvas, canvas_courses)
    brightspace = dlt.pipeline("books_brightspace", destination=destination, dataset_name="brightspace")
    synthetic.load_brightspace_courses(brightspace, brightspace_courses)
    # Canvas stores four scores per student; a student with all four NULL (nothing counts) shows
    # no score at all, so course_grades cannot tell it from a missing `grades` object
    scores = ("current", "final", "unposted_current", "unposted_final")
    canvas_reported = 4 * sum(
        1
        for row in synthetic.canvas_rows(canvas_courses)["enrollments"]
        if any(row[f"grades__{s}_score"] is not None for s in scores)
    )
    brightspace_reported = sum(len(c.students) for c in brightspace_courses)
    return brightspace, canvas_reported + brightspace_reported


def test_course_grades_agree_with_the_reference_calculators(books: tuple[dlt.Pipeline, int]) -> None:
    """All reported scores agree; then one changed LMS score fails the build, naming the test."""
    pipeline, reported = books
    summary = run_models(pipeline, select=SELECT, datasets=DATASETS)
    assert {"course_grades", "course_grade_agreement"} <= set(summary.models)
    assert summary.tests_passed > 0

    # every reported score is compared (the dbt test cannot pass on an empty table) and agrees
    compared, disagreeing, worst = query(
        pipeline,
        "select count(*), sum(case when is_in_agreement then 0 else 1 end), max(score_difference) "
        "from analytics.course_grade_agreement where is_compared",
    )[0]
    assert compared == reported
    assert disagreeing == 0
    assert worst < 1e-9
    # and where Canvas shows no score, nothing counts for us either
    assert query(
        pipeline,
        "select count(*) from analytics.course_grades where lms = 'canvas' and not has_lms_score "
        "and coalesce(current_score, final_score, unposted_current_score, unposted_final_score) is not null",
    ) == [(0,)]

    # docs/grade-calculation.md A.9 and the A.4 Kane & Kane example, as Canvas stores them
    canvas = dict(
        (course, (current, final))
        for course, current, final in query(
            pipeline,
            "select course_id, current_score, final_score from analytics.course_grades "
            "where lms = 'canvas' and course_id in (801, 802, 803)",
        )
    )
    assert canvas == {801: (86.25, 34.5), 802: (88.33, 30.53), 803: (81.82, 81.82)}

    # B.7, to full precision and as displayed (half to even)
    rows = query(
        pipeline,
        "select course_id, unrounded_current_score, current_score, unrounded_final_score, final_score "
        "from analytics.course_grades where lms = 'brightspace' and course_id between 6900 and 6903 "
        "order by course_id",
    )
    assert [round(float(r[1]), 6) for r in rows[::2]] == [88.125, 88.571429]
    assert [float(r[2]) for r in rows[::2]] == [88.12, 88.57]
    assert [float(r[4]) for r in rows[1::2]] == [41.0, 29.57]

    # the agreement test is not vacuous: a Canvas score 0.02 off is a warning, and with
    # --strict-grades it fails the build, by name
    with pipeline.sql_client() as client:
        client.execute_sql(
            "update canvas.enrollments set grades__current_score = grades__current_score + 0.02 "
            "where id = (select min(id) from canvas.enrollments where grades__current_score is not null)"
        )
    assert run_models(pipeline, select=SELECT, datasets=DATASETS).tests_warned == 1
    with pytest.raises(TransformError) as failed:
        run_models(pipeline, select=SELECT, datasets=DATASETS, strict_grades=True)
    assert any("assert_course_grades_agree_with_lms" in f for f in failed.value.failures)
    assert "assert_course_grades_agree_with_lms" in str(failed.value)
