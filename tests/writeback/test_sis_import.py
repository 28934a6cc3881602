"""The SIS import command against the sandbox: local refusal, upload, watching with an injected
clock, exit statuses, the warehouse record, and the next extract seeing the imported rows."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dlt
import duckdb
import pytest

from pipelines import sis_import
from sandbox.canvas import CanvasSandbox
from sources.canvas import CanvasApi, canvas_source
from sources.lms_http.retry import RetryPolicy


class FakeTime:
    """One clock for the command's poller and the sandbox's jobs; sleeping only moves it."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()


@pytest.fixture
def sb(fake_time: FakeTime, monkeypatch: pytest.MonkeyPatch) -> Iterator[CanvasSandbox]:
    with CanvasSandbox(size="small", seed=7, throttle="off") as sandbox:
        sandbox.job_clock = fake_time.clock
        sandbox.job_step_seconds = 1.0
        monkeypatch.setenv("SOURCES__CANVAS__ACCESS_TOKEN", sandbox.admin_token)
        yield sandbox


def run_tool(sb: CanvasSandbox, fake_time: FakeTime, *args: str | Path) -> int:
    argv = [str(a) for a in args] + [
        "--base-url",
        sb.base_url,
        "--poll-interval",
        "0.5",
        "--max-poll-interval",
        "8",
    ]
    return sis_import.main(argv, sleep=fake_time.sleep, clock=fake_time.clock)


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text)
    return path


def write_zip(folder: Path, name: str, files: dict[str, str]) -> Path:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        for inner, text in files.items():
            archive.writestr(inner, text)
    path = folder / name
    path.write_bytes(buf.getvalue())
    return path


NEW_TERM = {
    "terms.csv": "term_id,name,status,start_date,end_date\n2027SP,Spring 2027,active,2027-01-11,2027-05-08T05:00:00Z\n",
    "courses.csv": (
        "course_id,short_name,long_name,account_id,term_id,status\n"
        "2027SP-DATA-101-01,DATA-101-01,DATA 101 (Spring 2027),COL-CAS,2027SP,active\n"
        "2027SP-DATA-201-01,DATA-201-01,DATA 201 (Spring 2027),,2027SP,published\n"
    ),
    "sections.csv": (
        "section_id,course_id,name,status\n"
        "2027SP-DATA-101-01-001,2027SP-DATA-101-01,Section 001,active\n"
        "2027SP-DATA-201-01-001,2027SP-DATA-201-01,Section 001,active\n"
    ),
    "users.csv": (
        "user_id,login_id,first_name,last_name,email,status\n"
        "S9900001,ada.l,Ada,Lovelace,ada@x.test,active\n"
        "S9900002,alan.t,Alan,Turing,alan@x.test,active\n"
        "T9900001,grace.h,Grace,Hopper,grace@x.test,active\n"
    ),
    "enrollments.csv": (
        "course_id,user_id,role,section_id,status\n"
        "2027SP-DATA-101-01,S9900001,student,2027SP-DATA-101-01-001,active\n"
        "2027SP-DATA-101-01,S9900002,student,2027SP-DATA-101-01-001,active\n"
        "2027SP-DATA-101-01,T9900001,teacher,2027SP-DATA-101-01-001,active\n"
        "2027SP-DATA-201-01,S9900001,student,,active\n"
    ),
}
EXTRACT_TABLES = ["accounts", "terms", "courses", "sections", "users", "enrollments"]


def sis_import_rows(dlt_dir: Path) -> list[tuple[Any, ...]]:
    con = duckdb.connect(str(dlt_dir / "canvas_pipeline.duckdb"), read_only=True)
    try:
        return con.execute(
            "select id, workflow_state, counts__users, counts__enrollments, counts__warning_count, "
            "processing_warnings, processing_errors from canvas.sis_imports order by id"
        ).fetchall()
    finally:
        con.close()


def test_a_valid_zip_imports_and_the_next_extract_shows_the_new_rows(
    dlt_dir: Path, sb: CanvasSandbox, fake_time: FakeTime, capsys: pytest.CaptureFixture[str]
) -> None:
    before = sb.truth()
    code = run_tool(sb, fake_time, write_zip(dlt_dir, "spring.zip", NEW_TERM))
    out = capsys.readouterr().out
    assert code == sis_import.EXIT_IMPORTED, out
    assert "Submitted spring.zip" in out and "== SIS import 1: imported (100%) ==" in out
    assert "counts: terms 1, courses 2, sections 2, users 3, enrollments 4" in out
    assert "exit status 0: imported" in out
    # watched with capped exponential backoff on the injected clock, no real sleeping
    assert fake_time.sleeps[:4] == [0.5, 1.0, 2.0, 4.0]
    after = sb.truth()
    assert {k: after[k] - before[k] for k in after if after[k] != before[k]} == {
        "terms": 1,
        "courses": 2,
        "sections": 2,
        "users": 3,
        "enrollments": 4,
    }
    assert sis_import_rows(dlt_dir) == [(1, "imported", 3, 4, 0, "[]", "[]")]
    # the next extract, into the same warehouse, holds exactly the sandbox's updated truth
    pipeline = dlt.pipeline(
        "canvas_pipeline",
        destination=dlt.destinations.duckdb(str(dlt_dir / "canvas_pipeline.duckdb")),
        dataset_name="canvas",
    )
    api = CanvasApi(sb.base_url, sb.admin_token, policy=RetryPolicy(max_attempts=5, base_delay=0.05))
    info = pipeline.run(canvas_source(api=api).with_resources(*EXTRACT_TABLES))
    assert not info.has_failed_jobs
    with pipeline.sql_client() as client:
        for table in EXTRACT_TABLES:
            keys = {tuple(r) for r in client.execute_sql(f"select id from {table}")}
            assert keys == sb.truth_keys(table), table
            assert len(keys) == after[table], table
        new = client.execute_sql(
            "select e.sis_course_id, e.sis_user_id, e.type, e.enrollment_state from enrollments e "
            "where e.sis_course_id like '2027SP-%' order by 1, 2"
        )
    assert [tuple(r) for r in new] == [
        ("2027SP-DATA-101-01", "S9900001", "StudentEnrollment", "active"),
        ("2027SP-DATA-101-01", "S9900002", "StudentEnrollment", "active"),
        ("2027SP-DATA-101-01", "T9900001", "TeacherEnrollment", "active"),
        ("2027SP-DATA-201-01", "S9900001", "StudentEnrollment", "active"),
    ]


def test_an_invalid_file_is_refused_locally_with_file_and_line_and_nothing_is_uploaded(
    dlt_dir: Path, sb: CanvasSandbox, fake_time: FakeTime, capsys: pytest.CaptureFixture[str]
) -> None:
    users = write(
        dlt_dir,
        "users.csv",
        "user_id,login_id,first_name,last_name,status\n"
        "U1,u.one,Una,One,active\n"
        "U2,u.two,Dos,Two,actve\n"
        ",u.three,Tres,Three,active\n"
        "U1,u.four,Cuatro,Four,active\n",
    )
    courses = write(
        dlt_dir,
        "courses.csv",
        "course_id,short_name,long_name,status,start_date,end_date\n"
        "C1,C-1,Course,active,2027-13-01,\n"
        "C2,C-2,Course 2,active,2027-05-01,2027-01-01\n",
    )
    sb.reset_stats()
    code = run_tool(sb, fake_time, users, courses)
    out = capsys.readouterr().out
    assert code == sis_import.EXIT_REFUSED
    errors = [line.strip() for line in out.splitlines() if line.strip().startswith("error")]
    assert errors == [
        "error  users.csv:3: status 'actve' is not one of active, suspended, deleted",
        "error  users.csv:4: missing user_id",
        "error  users.csv:5: duplicate user_id 'U1' (first on line 2)",
        "error  courses.csv:2: start_date '2027-13-01' is not an ISO 8601 date (YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ)",
        "error  courses.csv:3: end_date is before start_date",
    ]
    assert "nothing was uploaded" in out
    assert sb.stats.requests == 0  # not even a status request, let alone a POST
    assert not (dlt_dir / "canvas_pipeline.duckdb").exists()


def test_a_file_with_row_warnings_imports_with_warnings_and_exit_status_3(
    dlt_dir: Path, sb: CanvasSandbox, fake_time: FakeTime, capsys: pytest.CaptureFixture[str]
) -> None:
    course = next(
        c for c in sb.truth_rows("courses") if c["workflow_state"] == "available" and c["sis_course_id"]
    )
    user = next(u for u in sb.truth_rows("users") if u["sis_user_id"])
    enrollments = write(
        dlt_dir,
        "enrollments.csv",
        "course_id,user_id,role,section_id,status\n"
        f"{course['sis_course_id']},{user['sis_user_id']},observer,,active\n"
        f"{course['sis_course_id']},S0NOBODY,student,,active\n",
    )
    code = run_tool(sb, fake_time, enrollments)
    out = capsys.readouterr().out
    assert code == sis_import.EXIT_WARNINGS, out
    message = f"User not found for enrollment (User ID: S0NOBODY, Course ID: {course['sis_course_id']}, Section ID: , Role: student)"
    assert f"  enrollments.csv: {message}" in out
    assert "exit status 3: imported with warnings" in out
    rows = sis_import_rows(dlt_dir)
    assert rows[0][:5] == (1, "imported_with_messages", 0, 1, 1)
    assert message in rows[0][5]


def test_an_import_that_outlives_the_time_limit_gives_the_timeout_status(
    dlt_dir: Path, sb: CanvasSandbox, fake_time: FakeTime, capsys: pytest.CaptureFixture[str]
) -> None:
    sb.job_step_seconds = 10_000  # the job stays `created` far beyond the limit
    code = run_tool(sb, fake_time, write_zip(dlt_dir, "spring.zip", NEW_TERM), "--timeout", "60")
    out = capsys.readouterr().out
    assert code == sis_import.EXIT_TIMEOUT
    assert "exit status 5: still running when the time limit ran out" in out
    assert fake_time.now == pytest.approx(60.0)
    assert fake_time.sleeps == [0.5, 1.0, 2.0, 4.0, 8.0, 8.0, 8.0, 8.0, 8.0, 8.0, 4.5]
    assert sis_import_rows(dlt_dir)[0][:2] == (1, "created")


def test_a_failed_import_gives_exit_status_4_and_its_errors(
    dlt_dir: Path, sb: CanvasSandbox, fake_time: FakeTime, capsys: pytest.CaptureFixture[str]
) -> None:
    mystery = write(dlt_dir, "mystery.csv", "name,colour\nx,blue\n")
    code = run_tool(sb, fake_time, mystery, "--no-validate")
    out = capsys.readouterr().out
    assert code == sis_import.EXIT_FAILED
    assert "  mystery.csv: Couldn't find Canvas CSV import headers" in out
    assert "exit status 4: import failed" in out


def test_several_csvs_go_up_as_one_zip_with_the_import_parameters(
    dlt_dir: Path, sb: CanvasSandbox, fake_time: FakeTime, capsys: pytest.CaptureFixture[str]
) -> None:
    paths = [write(dlt_dir, name, text) for name, text in NEW_TERM.items()]
    code = run_tool(
        sb,
        fake_time,
        *paths,
        "--batch-mode",
        "--batch-mode-term-id",
        "sis_term_id:2026SU",
        "--skip-deletes",
        "--override-sis-stickiness",
        "--diffing-data-set-identifier",
        "spring-feed",
        "--change-threshold",
        "10",
        "--history",
    )
    out = capsys.readouterr().out
    assert code == sis_import.EXIT_IMPORTED, out
    assert "Submitted sis_import.zip" in out
    record = sb.app.writes.sis_imports[1]
    assert (
        record.params["batch_mode"] == "true" and record.params["batch_mode_term_id"] == "sis_term_id:2026SU"
    )
    assert (
        record.params["diffing_data_set_identifier"] == "spring-feed"
        and record.params["change_threshold"] == "10"
    )
    assert record.params["skip_deletes"] == "true" and record.params["override_sis_stickiness"] == "true"
    assert (
        record.result is not None and record.result.counts["batch_enrollments_deleted"] == 0
    )  # skip_deletes
    con = duckdb.connect(str(dlt_dir / "canvas_pipeline.duckdb"), read_only=True)
    row = con.execute(
        "select batch_mode, skip_deletes, diffing_data_set_identifier, files from canvas.sis_imports"
    ).fetchone()
    con.close()
    assert row == (True, True, "spring-feed", '["sis_import.zip"]')


def test_reruns_merge_the_history_on_id(dlt_dir: Path, sb: CanvasSandbox, fake_time: FakeTime) -> None:
    users = write(dlt_dir, "users.csv", NEW_TERM["users.csv"])
    assert run_tool(sb, fake_time, users) == 0
    assert run_tool(sb, fake_time, users, "--history") == 0
    assert [r[:2] for r in sis_import_rows(dlt_dir)] == [(1, "imported"), (2, "imported")]


def test_validate_only_and_help(dlt_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    users = write(dlt_dir, "users.csv", NEW_TERM["users.csv"])
    assert sis_import.main([str(users), "--validate-only"]) == 0
    assert "The files pass the local check." in capsys.readouterr().out
    with pytest.raises(SystemExit) as exc:
        sis_import.main(["--help"])
    assert exc.value.code == 0
    text = capsys.readouterr().out
    for line in (
        "0  imported",
        "2  refused",
        "3  imported with warnings",
        "4  the import failed",
        "5  still running",
    ):
        assert line in text
    for option in (
        "--batch-mode-term-id",
        "--override-sis-stickiness",
        "--diffing-data-set-identifier",
        "--change-threshold",
        "--skip-deletes",
    ):
        assert option in text
