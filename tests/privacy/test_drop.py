"""Drop: on a first run no dropped column and no personal value reaches the destination or a load
package, in either LMS, the Roll Call reports, the SIS rosters or the account reports; dbt still builds."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dlt
import pytest

from pipelines.transform import run_models
from sandbox.brightspace import BrightspaceSandbox
from sandbox.canvas import CanvasSandbox
from tests.privacy.loads import (
    destination_columns,
    destination_text_cells,
    load_brightspace,
    load_canvas,
    loaded_packages,
    policy,
    query,
    working_files,
)

# columns that hold personal data wherever they appear
PERSONAL_COLUMNS = {
    "email",
    "external_email",
    "email_address",
    "login_id",
    "username",
    "user_name",
    "unique_identifier",
    "first_name",
    "middle_name",
    "last_name",
    "full_name",
    "display_name",
    "sortable_name",
    "student_name",
    "teacher_name",
    "pronouns",
    "avatar_url",
    "profile_identifier",
    "comments",
    "private_comments",
    "last_ip",
    "body",
}
# columns whose name is personal only in these tables (courses and grade objects have names too)
PERSONAL_IN = {
    ("users", "name"),
    ("users", "short_name"),
    ("provisioning_users", "short_name"),
    ("submissions", "url"),
}
# no e-mail address may appear anywhere, in any form
EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")


@pytest.fixture
def sandboxes() -> Iterator[tuple[CanvasSandbox, BrightspaceSandbox]]:
    with (
        CanvasSandbox(size="small", seed=7) as canvas,
        BrightspaceSandbox(size="small", seed=11) as brightspace,
    ):
        yield canvas, brightspace


def personal_values(canvas: CanvasSandbox, brightspace: BrightspaceSandbox) -> set[str]:
    """Names, login ids, e-mails and grade comments as the sandboxes serve them."""
    # Canvas lists e-mails only with include[]=email; the sandbox's users hold them
    values: set[str] = {user.email for user in canvas.institution.users if user.email}
    for user in canvas.truth_rows("users"):
        values.update(user[k] for k in ("name", "sortable_name", "short_name", "login_id") if user.get(k))
    for user in brightspace.truth_rows("users"):
        names = ("FirstName", "LastName", "DisplayName", "UserName", "ExternalEmail", "UniqueIdentifier")
        values.update(user[k] for k in names if user.get(k))
    for value in brightspace.truth_rows("grade_values"):
        for field in ("Comments", "PrivateComments"):
            text = (value.get(field) or {}).get("Text")
            if text:
                values.add(text)
    return values


def is_personal(table: str, column: str) -> bool:
    return column in PERSONAL_COLUMNS or (table, column) in PERSONAL_IN


def test_dropped_fields_never_reach_the_destination_and_the_models_still_build(
    sandboxes: tuple[CanvasSandbox, BrightspaceSandbox], dlt_dir: Path
) -> None:
    canvas, brightspace = sandboxes
    secrets = personal_values(canvas, brightspace)
    # a bare first or last name ("Sandbox") can be part of other text; full names, logins and
    # comments cannot
    telling = {s for s in secrets if " " in s or any(ch.isdigit() for ch in s)}
    assert len(telling) > 300 and len(secrets) > len(telling)  # the checks below have teeth
    destination: Any = dlt.destinations.duckdb(str(dlt_dir / "warehouse.duckdb"))
    inputs = dlt_dir / "inputs"
    inputs.mkdir()
    drop = policy("drop", key=None, sis_ids="keep")
    canvas_pipeline = load_canvas(destination, canvas, drop, inputs=inputs, reports=True)
    brightspace_pipeline = load_brightspace(
        destination, brightspace, dlt_dir / "bs.token", drop, inputs=inputs
    )

    # the tables loaded, and every row: nothing was lost with the fields
    tables = {t for _, t, _ in destination_columns(canvas_pipeline)}
    assert {"users", "enrollments", "submissions", "rollcall_attendance", "sis_roster"} <= tables
    assert {"provisioning_users", "provisioning_enrollments", "last_user_access", "classlists"} <= tables
    assert {"grade_values", "final_grades", "grade_results"} <= tables
    assert query(canvas_pipeline, "select count(*) from canvas.users") == [(canvas.truth()["users"],)]
    assert query(brightspace_pipeline, "select count(*) from brightspace.users") == [
        (brightspace.truth()["users"],)
    ]
    # SIS ids are kept, so the SQL models can still join the LMSs and the rosters
    with_sis = sum(1 for u in canvas.truth_rows("users") if u["sis_user_id"])
    assert query(canvas_pipeline, "select count(sis_user_id) from canvas.users") == [(with_sis,)]

    # no dropped column in the destination (staging datasets included) nor in dlt's schemas
    leaked = sorted(c for c in destination_columns(canvas_pipeline) if is_personal(c[1], c[2]))
    assert leaked == []
    for pipeline in (canvas_pipeline, brightspace_pipeline):
        for schema in pipeline.schemas.values():
            for table in schema.data_tables():
                assert not [c for c in table["columns"] if is_personal(table["name"], c)], table["name"]

    # ... nor in any load package: their schemas, their job files, the state and the trace
    for pipeline in (canvas_pipeline, brightspace_pipeline):
        assert loaded_packages(pipeline)
        everything: list[str] = []
        for path, text in working_files(pipeline):
            table = path.name.split(".")[0]
            found = [c for c in PERSONAL_COLUMNS if f'"{c}"' in text]
            if path.parent.name == "completed_jobs":
                found += [c for t, c in PERSONAL_IN if t == table and f'"{c}"' in text]
            assert not found, f"{path.name} names the dropped columns {found}"
            assert not EMAIL.search(text), f"{path.name} holds an e-mail address"
            everything.append(text)
        text = "\n".join(everything)
        assert not [s for s in telling if s in text], f"{pipeline.pipeline_name} kept personal values"

    # no personal value in any table, and no e-mail address in any text
    cells = destination_text_cells(canvas_pipeline)
    assert not cells & secrets
    assert not [c for c in cells if EMAIL.search(c)]

    # the dbt models build and test green; the marts show no names
    summary = run_models(canvas_pipeline, datasets={"brightspace": "brightspace"})
    assert summary.tests_warned == 0 and summary.tests_passed >= 100
    assert {"course_enrollments", "course_grades", "enrollment_audit"} <= set(summary.models)
    rows = query(canvas_pipeline, "select count(*), count(user_name) from analytics.course_enrollments")
    assert rows[0][0] > 0 and rows[0][1] == 0
    assert query(canvas_pipeline, "select count(student_name) from analytics.course_grades") == [(0,)]
    # the enrolment audit still matches roster and LMS on SIS ids
    (matched,) = query(canvas_pipeline, "select count(*) from analytics.enrollment_audit")[0]
    assert matched > 0
