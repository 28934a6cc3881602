"""SIS roster source: the sandbox's roster loads exactly, an audit over it finds the planted differences."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import dlt
import pytest

from sandbox.canvas import CanvasSandbox
from sources.canvas import CanvasApi, canvas_source
from sources.lms_http.retry import RetryPolicy
from sources.sis_roster import SisRosterFileError, sis_roster_source

# The enrolment audit as SQL: Canvas states read as SIS statuses (invited counts as active).
AUDIT = """
with lms as (
    select sis_course_id as course_id, sis_user_id as user_id,
           case enrollment_state when 'invited' then 'active' else enrollment_state end as status
    from enrollments
    where sis_course_id is not null and sis_user_id is not null and type <> 'ObserverEnrollment'
)
select 'missing_in_lms', s.course_id, s.user_id from sis_roster s
    left join lms l on l.course_id = s.course_id and l.user_id = s.user_id
    where l.user_id is null and s.status <> 'deleted'
union all
select 'extra_in_lms', l.course_id, l.user_id from lms l
    left join sis_roster s on s.course_id = l.course_id and s.user_id = l.user_id
    where s.user_id is null and l.status <> 'deleted'
union all
select 'state_mismatch', s.course_id, s.user_id from sis_roster s
    join lms l on l.course_id = s.course_id and l.user_id = s.user_id
    where l.status <> s.status
"""


@pytest.fixture
def pipeline(dlt_dir: Path) -> dlt.Pipeline:
    return dlt.pipeline(
        "sis_roster_test", destination=dlt.destinations.duckdb(str(dlt_dir / "w.duckdb")), dataset_name="lms"
    )


def query(pipeline: dlt.Pipeline, sql: str) -> list[tuple[Any, ...]]:
    with pipeline.sql_client() as client:
        return [tuple(r) for r in client.execute_sql(sql)]


def file_rows(path: Path) -> set[tuple[str, ...]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return {
            (r["course_id"], r["user_id"], r["role"], r["section_id"] or None, r["status"])
            for r in csv.DictReader(fh)
        }


def roster_rows(pipeline: dlt.Pipeline) -> list[tuple[Any, ...]]:
    return query(pipeline, "select course_id, user_id, role, section_id, status from sis_roster")


def test_roster_loads_exactly_and_the_audit_finds_the_planted_differences(
    pipeline: dlt.Pipeline, dlt_dir: Path
) -> None:
    with CanvasSandbox(size="small", seed=7, throttle="off") as sb:
        path = sb.write_sis_roster(dlt_dir / "in" / "roster.csv")
        api = CanvasApi(sb.base_url, sb.admin_token, policy=RetryPolicy(max_attempts=5, base_delay=0.05))
        canvas = canvas_source(api=api).with_resources("courses", "enrollments")
        info = pipeline.run([canvas, sis_roster_source(str(path))])
        assert not info.has_failed_jobs
        rows = roster_rows(pipeline)
        assert len(rows) == len(set(rows)) and set(rows) == file_rows(path)
        columns = pipeline.schemas["sis_roster"].get_table_columns("sis_roster")
        assert {
            c: columns[c]["data_type"] for c in ("course_id", "user_id", "role", "section_id", "status")
        } == dict.fromkeys(("course_id", "user_id", "role", "section_id", "status"), "text")
        found: dict[str, set[tuple[str, str]]] = {k: set() for k in sb.roster_differences()}
        for kind, course_id, user_id in query(pipeline, AUDIT):
            found[kind].add((course_id, user_id))
        assert found == sb.roster_differences()
        # a rerun replaces the roster: the same rows, not twice as many
        pipeline.run(sis_roster_source(str(path)))
        assert sorted(roster_rows(pipeline)) == sorted(rows)


def test_a_folder_of_files_loads_as_one_roster(pipeline: dlt.Pipeline, dlt_dir: Path) -> None:
    folder = dlt_dir / "roster"
    folder.mkdir()
    (folder / "fall.csv").write_text(
        "course_id,user_id,role,section_id,status\nC1,U1,student,C1-1,active\n", encoding="utf-8"
    )
    # other column order, upper-case header, a BOM and an extra column
    (folder / "spring.csv").write_text(
        "\ufeffUSER_ID,COURSE_ID,STATUS,ROLE,term_id\nU2,C2,Deleted,Student,2026SP\n", encoding="utf-8"
    )
    (folder / "notes.txt").write_text("not a roster", encoding="utf-8")
    pipeline.run(sis_roster_source(str(folder)))
    assert sorted(roster_rows(pipeline)) == [
        ("C1", "U1", "student", "C1-1", "active"),
        ("C2", "U2", "student", None, "deleted"),
    ]
    assert query(pipeline, "select term_id from sis_roster where user_id = 'U2'") == [("2026SP",)]


def test_a_bad_file_fails_by_name_and_keeps_the_previous_roster(
    pipeline: dlt.Pipeline, dlt_dir: Path
) -> None:
    folder = dlt_dir / "roster"
    folder.mkdir()
    good = folder / "a.csv"
    good.write_text("course_id,user_id,role,status\nC1,U1,student,active\n", encoding="utf-8")
    pipeline.run(sis_roster_source(str(folder)))
    (folder / "b.csv").write_text("course,user_id,status\nC1,U2,active\n", encoding="utf-8")
    with pytest.raises(Exception) as info:
        pipeline.run(sis_roster_source(str(folder)))
    err: BaseException | None = info.value
    while err is not None and not isinstance(err, SisRosterFileError):
        err = err.__cause__ or err.__context__
    assert isinstance(err, SisRosterFileError)
    assert "b.csv" in str(err) and "course_id" in str(err) and "role" in str(err)
    assert roster_rows(pipeline) == [("C1", "U1", "student", None, "active")]


def test_nothing_to_read_is_an_error(dlt_dir: Path) -> None:
    with pytest.raises(SisRosterFileError, match="no such file or folder"):
        sis_roster_source(str(dlt_dir / "nope.csv"))
    (dlt_dir / "empty").mkdir()
    pipeline = dlt.pipeline(
        "sis_empty", destination=dlt.destinations.duckdb(str(dlt_dir / "e.duckdb")), dataset_name="x"
    )
    with pytest.raises(Exception, match="no file matches"):
        pipeline.run(sis_roster_source(str(dlt_dir / "empty")))
