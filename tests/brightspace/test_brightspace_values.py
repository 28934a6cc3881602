"""Brightspace tables equal the sandbox value for value: grade values and points, times (UTC), every column.

Each table is compared row by row with the sandbox's truth (tests/values.py) after the renames the
source documents (sources/brightspace/shaping.py), written out again here rather than imported, so a
mistake in the source's shaping shows up as a difference: `Identifier`/`Id` become the table's id
column, RichText blocks become their `Text`, `Type`, `Activation`, `AssociatedTool` and the parent
org units of a course become named columns, a final grade's GradeValue is flattened into its row.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import dlt
import pytest

from pipelines.warehouse import load_file_format
from sandbox.brightspace import BrightspaceSandbox
from tests.brightspace.test_brightspace_source import TABLES, load, make_api
from tests.values import assert_values_match

Row = dict[str, Any]

VALUE_FIELDS = (
    "DisplayedGrade",
    "GradeObjectName",
    "GradeObjectType",
    "GradeObjectTypeName",
    "LastModified",
    "LastModifiedBy",
    "ReleasedDate",
    "PointsNumerator",
    "PointsDenominator",
    "WeightedNumerator",
    "WeightedDenominator",
)
# served (or truth) fields the source leaves out on purpose
NOT_LOADED: dict[str, dict[str, str]] = {
    "grade_values": {
        "is_exempt": "the truth adds it; the bulk GradeValue the API serves has no IsExempt",
        "grade_object_identifier": "loaded as the integer grade_object_id",
    },
    "enrollments": {
        "enrollment_date": "a User Enrollments data set column; the source reads the enrollments route",
        "enrollment_type": "a User Enrollments data set column; the source reads the enrollments route",
    },
}
# the tables where a wrong value hurts most come first, so a failure names them first
ORDER = ["grade_values", "final_grades", "grade_objects", "grade_categories", "grade_setup"] + [
    t
    for t in TABLES
    if t not in ("grade_values", "final_grades", "grade_objects", "grade_categories", "grade_setup")
]


def _text(rich: Any) -> Any:
    return rich.get("Text") if isinstance(rich, dict) else rich


def _int(value: Any) -> int | None:
    return None if value in (None, "") else int(value)


def _without(row: Row, *fields: str) -> Row:
    return {k: v for k, v in row.items() if k not in fields}


def org_unit(row: Row) -> Row:
    kind = row.get("Type") or {}
    return _without(row, "Identifier", "Type") | {f"Type{k}": kind.get(k) for k in ("Id", "Code", "Name")}


def course(row: Row) -> Row:
    out = _without(row, "Identifier", "CourseTemplate", "Semester", "Department")
    for name in ("CourseTemplate", "Semester", "Department"):
        parent = row.get(name) or {}
        out[f"{name}Id"] = _int(parent.get("Identifier"))
        out[f"{name}Code"] = parent.get("Code")
        if name != "CourseTemplate":
            out[f"{name}Name"] = parent.get("Name")
    return out | {"Description": _text(row.get("Description"))}


def user(row: Row) -> Row:
    return _without(row, "Activation") | {"IsActive": (row.get("Activation") or {}).get("IsActive")}


def classlist(row: Row) -> Row:
    return _without(row, "Identifier") | {"UserId": _int(row["Identifier"])}


def grade_category(row: Row) -> Row:
    return _without(row, "Id", "Grades") | {
        "CategoryId": _int(row["Id"]),
        "Description": _text(row.get("Description")),
    }


def grade_object(row: Row) -> Row:
    tool = row.get("AssociatedTool") or {}
    return _without(row, "Id", "AssociatedTool") | {
        "GradeObjectId": _int(row["Id"]),
        "CategoryId": _int(row.get("CategoryId")) or None,  # 0 means no category
        "Description": _text(row.get("Description")),
        "AssociatedToolId": tool.get("ToolId"),
        "AssociatedToolItemId": tool.get("ToolItemId"),
        "AssociatedToolName": tool.get("ToolName"),
    }


def grade_value(row: Row) -> Row:
    return row | {
        "Comments": _text(row.get("Comments")),
        "PrivateComments": _text(row.get("PrivateComments")),
    }


def final_grade(row: Row) -> Row:
    value = row.get("GradeValue")
    out = _without(row, "GradeValue") | {"HasGrade": value is not None}
    out |= {k: (value or {}).get(k) for k in VALUE_FIELDS}
    out["GradeObjectId"] = _int((value or {}).get("GradeObjectIdentifier"))
    out["Comments"] = _text((value or {}).get("Comments"))
    out["PrivateComments"] = _text((value or {}).get("PrivateComments"))
    return out


RESHAPE: dict[str, Callable[[Row], Row]] = {
    "org_units": org_unit,
    "courses": course,
    "users": user,
    "classlists": classlist,
    "grade_categories": grade_category,
    "grade_objects": grade_object,
    "grade_values": grade_value,
    "final_grades": final_grade,
}


def assert_all_tables_match(pipeline: dlt.Pipeline, sb: BrightspaceSandbox) -> dict[str, int]:
    compared = {}
    for table in ORDER:
        shape = RESHAPE.get(table, dict)
        truth = [shape(r) for r in sb.truth_rows(table)]
        compared[table] = assert_values_match(
            pipeline,
            sb,
            table,
            truth=truth,
            not_loaded=NOT_LOADED.get(table),
        )
    assert all(compared.values()), compared
    return compared


def test_every_table_equals_the_sandbox_after_full_and_incremental_runs(
    sandbox: BrightspaceSandbox, pipeline: dlt.Pipeline, dlt_dir: Path
) -> None:
    token_file = dlt_dir / "bs.token"
    load(pipeline, make_api(sandbox, token_file=token_file))
    compared = assert_all_tables_match(pipeline, sandbox)
    assert compared["grade_values"] >= 10_000
    changes = sandbox.advance(7 * 86_400)  # a week: grades changed, a student dropped, attendance marked
    assert changes.changed_grade_values and changes.removed_grade_values
    load(pipeline, make_api(sandbox, token_file=token_file))
    assert_all_tables_match(pipeline, sandbox)


@pytest.mark.postgres
def test_postgres_tables_equal_the_sandbox(
    sandbox: BrightspaceSandbox, dlt_dir: Path, postgres_dataset: str
) -> None:
    from tests.conftest import POSTGRES_DSN

    pipeline = dlt.pipeline(
        "brightspace_values_pg",
        destination=dlt.destinations.postgres(POSTGRES_DSN),
        dataset_name=postgres_dataset,
    )
    token_file = dlt_dir / "bs.token"
    # the format the load library picks (pipelines/warehouse.py): parquet through ADBC, so the
    # empty comments the sandbox serves arrive as '' (by dlt's CSV COPY they arrived as NULL)
    file_format = load_file_format(pipeline)
    assert file_format == "parquet"
    load(pipeline, make_api(sandbox, token_file=token_file), loader_file_format=file_format)
    compared = assert_all_tables_match(pipeline, sandbox)
    assert compared["grade_values"] >= 10_000
    with pipeline.sql_client() as client:
        empty = client.execute_sql("select count(*) from grade_values where comments = ''")[0][0]
    assert empty == sum(1 for r in sandbox.truth_rows("grade_values") if _text(r.get("Comments")) == "")
    assert empty > 0
