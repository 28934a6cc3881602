"""Canvas tables equal the sandbox value for value: scores, timestamps (UTC), states, points, every column.

The source tests compare keys and counts; here every column the sandbox serves is compared row by
row (tests/values.py), after the source's documented reshaping (sources/canvas/helpers.py):
enrollments lose the embedded `user` (the users table holds it) and keep the eight score and grade
fields of `grades` as `grades__*`; assignment groups carry `rules` as `drop_lowest`, `drop_highest`
and `never_drop` columns (0, 0 and [] when a rule is absent). On DuckDB after a full and an
incremental run, and on Postgres.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dlt
import pytest

from sandbox.canvas import CanvasSandbox
from tests.canvas.test_canvas_source import TABLES, load, make_api
from tests.values import assert_values_match

GRADE_FIELDS = (
    "current_score",
    "final_score",
    "current_grade",
    "final_grade",
    "unposted_current_score",
    "unposted_final_score",
    "unposted_current_grade",
    "unposted_final_grade",
)
# the tables where a wrong value hurts most come first, so a failure names them first
ORDER = ["submissions", "enrollments", "assignments", "assignment_groups"] + [
    t for t in TABLES if t not in ("submissions", "enrollments", "assignments", "assignment_groups")
]


def served_as_loaded(sb: CanvasSandbox, table: str) -> list[dict[str, Any]]:
    """The sandbox's rows, reshaped as the source documents it loads them."""
    rows = sb.truth_rows(table)
    if table == "enrollments":
        out = []
        for row in rows:
            shaped = {k: v for k, v in row.items() if k not in ("user", "grades")}
            grades = row.get("grades") or {}
            shaped.update({f"grades__{k}": grades.get(k) for k in GRADE_FIELDS})
            out.append(shaped)
        return out
    if table == "assignment_groups":
        out = []
        for row in rows:
            rules = row.get("rules") or {}
            shaped = {k: v for k, v in row.items() if k not in ("rules", "assignments")}
            shaped |= {
                "drop_lowest": rules.get("drop_lowest", 0),
                "drop_highest": rules.get("drop_highest", 0),
                "never_drop": rules.get("never_drop") or [],
            }
            out.append(shaped)
        return out
    return rows


def assert_all_tables_match(pipeline: dlt.Pipeline, sb: CanvasSandbox) -> dict[str, int]:
    compared = {}
    for table in ORDER:
        compared[table] = assert_values_match(pipeline, sb, table, truth=served_as_loaded(sb, table))
    # the comparison is not empty: scores, timestamps and states were among the values compared
    assert all(compared.values()), compared
    return compared


@pytest.fixture
def sandbox() -> Iterator[CanvasSandbox]:
    with CanvasSandbox(size="small", seed=7, throttle="off") as sb:
        yield sb


def test_every_table_equals_the_sandbox_after_full_and_incremental_runs(
    sandbox: CanvasSandbox, pipeline: dlt.Pipeline
) -> None:
    api = make_api(sandbox)
    load(pipeline, api)
    compared = assert_all_tables_match(pipeline, sandbox)
    assert compared["submissions"] >= 50_000
    # a day of activity: submissions merged in place, enrollments' grades recomputed, a new assignment
    changes = sandbox.advance()
    assert changes.graded and changes.regraded and changes.changed_enrollments
    load(pipeline, api)
    assert_all_tables_match(pipeline, sandbox)


def test_scores_and_times_are_the_values_canvas_served(
    sandbox: CanvasSandbox, pipeline: dlt.Pipeline
) -> None:
    """Spot check of the comparison itself on the columns that matter most (it would see a swap)."""
    load(pipeline, make_api(sandbox))
    served = {
        (r["course_id"], r["assignment_id"], r["user_id"]): r for r in sandbox.truth_rows("submissions")
    }
    graded = [k for k, r in served.items() if r["score"] is not None and r["graded_at"] is not None]
    assert graded
    with pipeline.sql_client() as client:
        rows = client.execute_sql(
            "select course_id, assignment_id, user_id, score, "
            "strftime(graded_at at time zone 'UTC', '%Y-%m-%dT%H:%M:%SZ'), workflow_state "
            "from submissions where score is not null and graded_at is not null"
        )
    loaded = {(r[0], r[1], r[2]): (r[3], r[4], r[5]) for r in rows}
    assert loaded == {
        k: (served[k]["score"], served[k]["graded_at"], served[k]["workflow_state"]) for k in graded
    }


@pytest.mark.postgres
def test_postgres_tables_equal_the_sandbox(
    sandbox: CanvasSandbox, dlt_dir: Path, postgres_dataset: str
) -> None:
    from tests.conftest import POSTGRES_DSN

    pipeline = dlt.pipeline(
        "canvas_values_pg", destination=dlt.destinations.postgres(POSTGRES_DSN), dataset_name=postgres_dataset
    )
    api = make_api(sandbox)
    load(pipeline, api)
    assert_all_tables_match(pipeline, sandbox)
    sandbox.advance()
    load(pipeline, api)
    assert_all_tables_match(pipeline, sandbox)
