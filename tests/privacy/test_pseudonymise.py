"""Pseudonymise: personal fields become the keyed hash, the same on every run and in both LMSs and the
SIS roster for the same SIS id; another key gives other pseudonyms."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dlt
import pytest

from sandbox.brightspace import BrightspaceSandbox
from sandbox.canvas import CanvasSandbox
from tests.privacy.loads import (
    KEY,
    OTHER_KEY,
    destination_text_cells,
    expected_hash,
    load_brightspace,
    load_canvas,
    policy,
    query,
    working_files,
)

CANVAS_RESOURCES = ["courses", "users", "enrollments"]
BRIGHTSPACE_RESOURCES = ["courses", "users", "classlists", "grade_values"]


@pytest.fixture
def sandboxes() -> Iterator[tuple[CanvasSandbox, BrightspaceSandbox]]:
    with (
        CanvasSandbox(size="small", seed=7) as canvas,
        BrightspaceSandbox(size="small", seed=11) as brightspace,
    ):
        yield canvas, brightspace


def share_a_student(canvas: CanvasSandbox, brightspace: BrightspaceSandbox) -> tuple[int, int, str]:
    """Give one Brightspace student the SIS id of one Canvas student (one person at a school that
    runs both LMSs; the two sandboxes draw their SIS ids from different ranges).

    Returns:
        (Canvas user id, Brightspace user id, the shared SIS id).
    """
    enrolled = {e["user_id"] for e in canvas.truth_rows("enrollments") if e["type"] == "StudentEnrollment"}
    person = next(u for u in canvas.truth_rows("users") if u["sis_user_id"] and u["id"] in enrolled)
    taken = {u["OrgDefinedId"] for u in brightspace.truth_rows("users")}
    assert person["sis_user_id"] not in taken
    user = next(
        u
        for u in brightspace.institution.users.values()
        if u.org_defined_id and u.org_role.code.lower() == "student"
    )
    user.org_defined_id = person["sis_user_id"]
    return person["id"], user.id, person["sis_user_id"]


def canvas_users(pipeline: dlt.Pipeline) -> dict[int, tuple[Any, ...]]:
    rows = query(
        pipeline, "select id, name, sortable_name, short_name, login_id, sis_user_id from canvas.users"
    )
    return {r[0]: r[1:] for r in rows}


def expected_canvas_users(canvas: CanvasSandbox, key: str) -> dict[int, tuple[Any, ...]]:
    return {
        u["id"]: (
            expected_hash(key, "names", u["name"]),
            expected_hash(key, "names", u["sortable_name"]),
            expected_hash(key, "names", u["short_name"]),
            expected_hash(key, "login_ids", u["login_id"]),
            expected_hash(key, "sis_ids", u["sis_user_id"]),
        )
        for u in canvas.truth_rows("users")
    }


def test_pseudonyms_are_keyed_hashes_stable_across_runs_and_the_same_in_both_lms(
    sandboxes: tuple[CanvasSandbox, BrightspaceSandbox], dlt_dir: Path
) -> None:
    canvas, brightspace = sandboxes
    canvas_id, brightspace_id, sis_id = share_a_student(canvas, brightspace)
    destination: Any = dlt.destinations.duckdb(str(dlt_dir / "warehouse.duckdb"))
    inputs = dlt_dir / "inputs"
    inputs.mkdir()
    hashed = policy("pseudonymise")

    def load_both() -> tuple[dlt.Pipeline, dlt.Pipeline]:
        return (
            load_canvas(destination, canvas, hashed, inputs=inputs, resources=CANVAS_RESOURCES),
            load_brightspace(
                destination,
                brightspace,
                dlt_dir / "bs.token",
                hashed,
                inputs=inputs,
                resources=BRIGHTSPACE_RESOURCES,
            ),
        )

    cp, bp = load_both()
    # Canvas: every personal field of every user is the documented keyed hash
    first = canvas_users(cp)
    assert first == expected_canvas_users(canvas, KEY)
    enrollments = dict(query(cp, "select id, sis_user_id from canvas.enrollments"))
    assert enrollments == {
        e["id"]: expected_hash(KEY, "sis_ids", e["sis_user_id"]) for e in canvas.truth_rows("enrollments")
    }
    # Brightspace: the same for users, classlists and the SIS key on grade values
    got = query(
        bp,
        "select user_id, first_name, last_name, display_name, user_name, external_email, org_defined_id "
        "from brightspace.users",
    )
    assert {r[0]: r[1:] for r in got} == {
        u["UserId"]: (
            expected_hash(KEY, "names", u["FirstName"]),
            expected_hash(KEY, "names", u["LastName"]),
            expected_hash(KEY, "names", u["DisplayName"]),
            expected_hash(KEY, "login_ids", u["UserName"]),
            expected_hash(KEY, "emails", u["ExternalEmail"]),
            expected_hash(KEY, "sis_ids", u["OrgDefinedId"]),
        )
        for u in brightspace.truth_rows("users")
    }
    classlist = query(bp, "select org_unit_id, user_id, email, username from brightspace.classlists")
    assert {(r[0], r[1]): r[2:] for r in classlist} == {
        (r["OrgUnitId"], int(r["Identifier"])): (
            expected_hash(KEY, "emails", r["Email"]),
            expected_hash(KEY, "login_ids", r["Username"]),
        )
        for r in brightspace.truth_rows("classlists")
    }
    # grade comments (free text about the student) are hashed too
    (comments,) = query(
        bp, "select count(comments) from brightspace.grade_values where length(comments) = 64"
    )[0]
    assert comments == sum(
        1 for v in brightspace.truth_rows("grade_values") if (v["Comments"] or {}).get("Text")
    )

    # the same person (same SIS id) has the same pseudonym in Canvas and in Brightspace
    (in_canvas,) = query(cp, f"select sis_user_id from canvas.users where id = {canvas_id}")[0]
    (in_brightspace,) = query(
        bp, f"select org_defined_id from brightspace.users where user_id = {brightspace_id}"
    )[0]
    assert in_canvas == in_brightspace == expected_hash(KEY, "sis_ids", sis_id)
    # ... and in the SIS rosters, so the enrolment audit still joins the roster to the LMS
    for lms, csv_name, pipeline in (("canvas", "canvas", cp), ("brightspace", "brightspace", bp)):
        with (inputs / f"{csv_name}_sis_roster.csv").open(newline="") as fh:
            plain = [(r["course_id"], r["user_id"], r["role"]) for r in csv.DictReader(fh)]
        roster = query(pipeline, f"select course_id, user_id, role from {lms}.sis_roster")
        assert sorted(roster) == sorted((c, expected_hash(KEY, "sis_ids", u), r) for c, u, r in plain)
    plain_pairs = {
        (e["sis_course_id"], e["sis_user_id"]) for e in canvas.truth_rows("enrollments") if e["sis_user_id"]
    }
    with (inputs / "canvas_sis_roster.csv").open(newline="") as fh:
        roster_pairs = {(r["course_id"], r["user_id"]) for r in csv.DictReader(fh)}
    joined = query(
        cp,
        "select count(distinct (e.sis_course_id, e.sis_user_id)) from canvas.enrollments e "
        "join canvas.sis_roster r on r.course_id = e.sis_course_id and r.user_id = e.sis_user_id",
    )
    assert joined == [(len(plain_pairs & roster_pairs),)] and len(plain_pairs & roster_pairs) > 0

    # nothing personal is left in the clear
    cells = destination_text_cells(cp)
    clear = {u["name"] for u in canvas.truth_rows("users")} | {
        u["login_id"] for u in canvas.truth_rows("users")
    }
    clear |= {u["DisplayName"] for u in brightspace.truth_rows("users")}
    clear |= {u["OrgDefinedId"] for u in brightspace.truth_rows("users") if u["OrgDefinedId"]}
    assert not cells & clear

    # the hash key is a secret: not in any load package, schema, state or trace
    for pipeline in (cp, bp):
        assert not [path.name for path, text in working_files(pipeline) if KEY in text]

    # a second run re-reads every user; its pages hash to the same pseudonyms, so none is written again
    cp, bp = load_both()
    loads = ", ".join(f"'{load_id}'" for load_id in cp.last_trace.last_normalize_info.loads_ids)
    assert query(cp, f"select count(*) from canvas.users where _dlt_load_id in ({loads})") == [(0,)]
    assert canvas_users(cp) == first
    # the same key into a new dataset writes every user again, with the same pseudonyms
    same = load_canvas(
        destination,
        canvas,
        hashed,
        dataset="canvas_same_key",
        pipeline_name="privacy_canvas_same_key",
        resources=["users"],
    )
    rows = query(
        same, "select id, name, sortable_name, short_name, login_id, sis_user_id from canvas_same_key.users"
    )
    assert {r[0]: r[1:] for r in rows} == first
    (again,) = query(bp, f"select org_defined_id from brightspace.users where user_id = {brightspace_id}")[0]
    assert again == in_canvas

    # another key: other pseudonyms for every person
    other = load_canvas(
        destination,
        canvas,
        policy("pseudonymise", key=OTHER_KEY),
        dataset="canvas_other_key",
        pipeline_name="privacy_canvas_other_key",
        resources=["users"],
    )
    rekeyed = dict(
        query(other, "select id, sis_user_id from canvas_other_key.users where sis_user_id is not null")
    )
    assert rekeyed == {
        u["id"]: expected_hash(OTHER_KEY, "sis_ids", u["sis_user_id"])
        for u in canvas.truth_rows("users")
        if u["sis_user_id"]
    }
    assert not set(rekeyed.values()) & {row[4] for row in first.values()}
