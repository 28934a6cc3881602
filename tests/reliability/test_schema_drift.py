"""Schema drift between runs: new fields become columns, type changes land in variant columns, freeze refuses."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dlt
import duckdb
import pytest
from dlt.common.schema.exceptions import DataValidationError
from dlt.pipeline.exceptions import PipelineStepFailed

from sandbox.brightspace import BrightspaceSandbox
from sandbox.canvas import CanvasSandbox
from sandbox.faults import NESTED_FIELD, NESTED_VALUE, NEW_FIELD, FaultPlan, SchemaDrift
from sources.brightspace import brightspace_source
from sources.canvas import canvas_source

from .conftest import _brightspace_api, _canvas_api, warehouse_snapshot

DRIFT = FaultPlan(drift=SchemaDrift())


@dataclass
class Case:
    """Where drift shows in one LMS: the table, its key, the retyped field (raw and column name)."""

    lms: str
    table: str
    key: tuple[str, ...]
    raw_key: tuple[str, ...]
    retyped: str
    column: str


CASES = {
    "canvas": Case("canvas", "assignments", ("id",), ("id",), "points_possible", "points_possible"),
    "brightspace": Case(
        "brightspace",
        "grade_objects",
        ("org_unit_id", "grade_object_id"),
        ("OrgUnitId", "Id"),
        "MaxPoints",
        "max_points",
    ),
}


@pytest.fixture(params=["canvas", "brightspace"])
def lms(request: pytest.FixtureRequest) -> Iterator[tuple[Case, Any]]:
    if request.param == "canvas":
        with CanvasSandbox(size="small", seed=7, throttle="off") as sb:
            yield CASES["canvas"], sb
    else:
        with BrightspaceSandbox(size="small", seed=11, throttle="off", job_step_seconds=0.0) as sb:
            yield CASES["brightspace"], sb


def make_pipeline(where: Path, lms: str) -> dlt.Pipeline:
    return dlt.pipeline(
        f"{lms}_drift",
        pipelines_dir=str(where / "pipelines"),
        destination=dlt.destinations.duckdb(str(where / "warehouse.duckdb")),
        dataset_name=lms,
    )


def load(pipeline: dlt.Pipeline, case: Case, sb: Any, **run_kwargs: Any) -> Any:
    """Load the drift table (and its parent) with the real source."""
    if case.lms == "canvas":
        api = _canvas_api(sb)
        source = canvas_source(api=api, strict=True)
        source = source.with_resources("courses", "assignments")
    else:
        api = _brightspace_api(sb)
        source = brightspace_source(api=api, strict=True)
        source = source.with_resources("courses", "grade_objects")
    return pipeline.run(source, **run_kwargs)


def rows(db: Path, dataset: str, sql: str) -> list[tuple[Any, ...]]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql.format(d=dataset)).fetchall()


def test_drift_evolves_the_schema_without_losing_values(lms: tuple[Case, Any], tmp_path: Path) -> None:
    case, sb = lms
    pipeline = make_pipeline(tmp_path, case.lms)
    db = tmp_path / "warehouse.duckdb"
    load(pipeline, case, sb)
    before = pipeline.default_schema.get_table_columns(case.table)
    assert NEW_FIELD not in before and f"{case.column}__v_text" not in before

    sb.faults = DRIFT
    try:
        info = load(pipeline, case, sb)
    finally:
        sb.faults = None
    assert not info.has_failed_jobs
    columns = pipeline.default_schema.get_table_columns(case.table)
    # a new field arrives as a new column, on every row the run refreshed
    assert columns[NEW_FIELD]["data_type"] == "text"
    # a nested object: the sources cap nesting at 0, so it lands as one json column, no child table
    assert columns[NESTED_FIELD]["data_type"] == "json"
    assert not [t for t in pipeline.default_schema.tables if t.startswith(f"{case.table}__")]
    # a number turned text: the column keeps its type, the text lands in a variant column
    assert columns[case.column]["data_type"] == "double"
    assert columns[f"{case.column}__v_text"]["data_type"] == "text"

    key_cols = ", ".join(case.key)
    got = {
        tuple(r[: len(case.key)]): r[len(case.key) :]
        for r in rows(
            db,
            case.lms,
            f"select {key_cols}, {NEW_FIELD}, {NESTED_FIELD}, {case.column}, {case.column}__v_text "
            f"from {{d}}.{case.table}",
        )
    }
    truth = {tuple(r[k] for k in case.raw_key): r for r in sb.truth_rows(case.table)}
    assert set(got) == set(truth) and len(got) == sb.truth()[case.table]
    retyped = 0
    for key, (note, detail, number, text) in got.items():
        assert note is not None
        assert (detail if isinstance(detail, dict) else json.loads(detail)) == NESTED_VALUE
        original = truth[key].get(case.retyped)
        if isinstance(original, (int, float)):
            retyped += 1
            assert number is None and text == f"{original:g} points", f"{key}: value lost ({number}, {text})"
    assert retyped > 0


def test_freeze_contract_refuses_drift_and_keeps_the_warehouse(lms: tuple[Case, Any], tmp_path: Path) -> None:
    case, sb = lms
    pipeline = make_pipeline(tmp_path, case.lms)
    db = tmp_path / "warehouse.duckdb"
    load(pipeline, case, sb)
    before = warehouse_snapshot(db, case.lms)

    sb.faults = DRIFT
    try:
        with pytest.raises(PipelineStepFailed) as failed:
            load(pipeline, case, sb, schema_contract="freeze")
    finally:
        sb.faults = None
    cause: BaseException | None = failed.value
    while cause is not None and not isinstance(cause, DataValidationError):
        cause = cause.__cause__ or cause.__context__
    assert cause is not None, f"expected a schema contract violation, got {failed.value!r}"
    # the error names the table and the drifted column, and says why
    message = str(cause)
    drifted = (f"`{NEW_FIELD}`", f"`{NESTED_FIELD}`", f"`{case.column}__v_text`")
    assert "frozen" in message and any(col in message for col in drifted), message
    assert warehouse_snapshot(db, case.lms) == before
    # dlt refuses in normalize and keeps the refused package pending (dlt #3227): a next run would
    # try it again first. Aborting it restores the state and schema of before the refused run.
    assert pipeline.has_pending_data
    pipeline.abort_packages()
    assert not pipeline.has_pending_data
    assert NEW_FIELD not in pipeline.default_schema.get_table_columns(case.table)
    assert warehouse_snapshot(db, case.lms) == before

    # the next run, still frozen and without drift, completes exactly
    info = load(pipeline, case, sb, schema_contract="freeze")
    assert not info.has_failed_jobs
    keys = rows(db, case.lms, f"select {', '.join(case.key)} from {{d}}.{case.table}")
    assert len(keys) == len(set(keys)) == sb.truth()[case.table]
    assert {tuple(k) for k in keys} == sb.truth_keys(case.table)
