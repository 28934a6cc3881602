"""Canvas engagement and attendance inputs against the sandbox: analytics tables and Roll Call CSVs."""

from __future__ import annotations

import csv
import logging
import os
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import dlt
import pytest

from sandbox.canvas import CanvasSandbox
from sources.canvas import CanvasApi, canvas_source
from sources.canvas.engagement import shape_student_summary
from sources.canvas.rollcall import RollcallFileError, parse_rollcall_csv
from sources.lms_http.retry import RetryPolicy

FAST = RetryPolicy(max_attempts=10, base_delay=0.05, max_delay=1.0)
ENGAGEMENT = ["courses", "student_summaries", "course_activity"]
ROLLCALL_COLUMNS = (
    "course_id",
    "sis_course_id",
    "course_code",
    "course_name",
    "section_name",
    "section_id",
    "sis_section_id",
    "teacher_id",
    "sis_teacher_id",
    "teacher_name",
    "student_id",
    "sis_student_id",
    "student_name",
    "class_date",
    "attendance",
    "timestamp",
)


@pytest.fixture(scope="module")
def sandbox() -> Iterator[CanvasSandbox]:
    with CanvasSandbox(size="small", seed=7, throttle="off") as sb:
        yield sb


def make_api(sb: CanvasSandbox) -> CanvasApi:
    return CanvasApi(sb.base_url, sb.admin_token, policy=FAST)


def load(pipeline: dlt.Pipeline, api: CanvasApi, resources: list[str], **kwargs: Any) -> None:
    source = canvas_source(api=api, **kwargs)
    info = pipeline.run(source.with_resources(*resources))
    assert not info.has_failed_jobs


def query(pipeline: dlt.Pipeline, sql: str) -> list[tuple[Any, ...]]:
    with pipeline.sql_client() as client:
        return [tuple(r) for r in client.execute_sql(sql)]


def expected_rollcall(sb: CanvasSandbox) -> set[tuple[Any, ...]]:
    """rollcall_truth() as typed rows in ROLLCALL_COLUMNS order."""
    out = set()
    for r in sb.rollcall_truth():
        out.add(
            (
                int(r["Course ID"]),
                r["SIS Course ID"] or None,
                r["Course Code"],
                r["Course Name"],
                r["Section Name"],
                int(r["Section ID"]),
                r["SIS Section ID"] or None,
                int(r["Teacher ID"]),
                r["SIS Teacher ID"] or None,
                r["Teacher Name"],
                int(r["Student ID"]),
                r["SIS Student ID"] or None,
                r["Student Name"],
                date.fromisoformat(r["Class Date"]),
                r["Attendance"],
                datetime.strptime(r["Timestamp"], "%Y-%m-%d %H:%M:%S UTC").replace(tzinfo=UTC),
            )
        )
    return out


def loaded_rollcall(pipeline: dlt.Pipeline) -> set[tuple[Any, ...]]:
    rows = query(pipeline, f"select {', '.join(ROLLCALL_COLUMNS)} from rollcall_attendance")
    assert len(rows) == len(set(rows))
    return set(rows)


# ---- analytics ---------------------------------------------------------------------------------


def test_analytics_tables_equal_sandbox_truth(sandbox: CanvasSandbox, pipeline: dlt.Pipeline) -> None:
    load(pipeline, make_api(sandbox), ENGAGEMENT)
    summaries = query(
        pipeline,
        "select course_id, user_id, page_views, max_page_views, page_views_level, participations, "
        "max_participations, participations_level, tardiness_breakdown__total, tardiness_breakdown__on_time, "
        "tardiness_breakdown__late, tardiness_breakdown__missing, tardiness_breakdown__floating "
        "from student_summaries",
    )
    expected = {
        (
            r["course_id"],
            r["id"],
            r["page_views"],
            r["max_page_view"],
            int(r["page_views_level"]),
            r["participations"],
            r["max_participations"],
            int(r["participations_level"]),
            *(r["tardiness_breakdown"][k] for k in ("total", "on_time", "late", "missing", "floating")),
        )
        for r in sandbox.truth_rows("student_summaries")
    }
    assert len(summaries) == len(expected) == sandbox.truth(["student_summaries"])["student_summaries"]
    assert set(summaries) == expected
    activity = query(pipeline, "select course_id, date, views, participations from course_activity")
    assert len(activity) == sandbox.truth(["course_activity"])["course_activity"]
    assert set(activity) == {
        (r["course_id"], date.fromisoformat(r["date"]), r["views"], r["participations"])
        for r in sandbox.truth_rows("course_activity")
    }
    columns = pipeline.default_schema.get_table_columns("course_activity")
    assert columns["date"]["data_type"] == "date" and columns["views"]["data_type"] == "bigint"
    assert pipeline.default_schema.get_table_columns("student_summaries")["user_id"]["data_type"] == "bigint"


def test_course_without_analytics_is_skipped_and_reported(dlt_dir: Path) -> None:
    with CanvasSandbox(size="small", seed=7, throttle="off") as sb:
        pipeline = dlt.pipeline(
            "canvas_no_analytics",
            destination=dlt.destinations.duckdb(str(dlt_dir / "w.duckdb")),
            dataset_name="c",
        )
        off = sorted(r["id"] for r in sb.truth_rows("courses"))[1]
        sb.analytics_disabled_courses = {off}
        api = make_api(sb)
        load(pipeline, api, ENGAGEMENT)
        assert {(s["resource"], s["course_id"]) for s in api.stats.skipped} == {
            ("student_summaries", off),
            ("course_activity", off),
        }
        assert all("analytics not enabled" in s["reason"] for s in api.stats.skipped)
        keys = set(query(pipeline, "select course_id, user_id from student_summaries"))
        assert keys == sb.truth_keys("student_summaries") and off not in {k[0] for k in keys}
        with pytest.raises(Exception, match="HTTP 404"):
            load(pipeline, make_api(sb), ENGAGEMENT, strict=True)


def test_shape_accepts_both_spellings_of_max_page_views() -> None:
    row = {"id": 5, "page_views": 3, "max_page_views": 9, "page_views_level": 2, "participations_level": "1"}
    shaped = shape_student_summary(row, 101)
    assert shaped["user_id"] == 5 and shaped["max_page_views"] == 9 and shaped["page_views_level"] == 2
    assert shaped["participations_level"] == 1 and shaped["tardiness_breakdown__total"] is None


# ---- Roll Call ---------------------------------------------------------------------------------


def test_rollcall_rows_equal_the_sandbox_reports_and_reruns_add_nothing(
    sandbox: CanvasSandbox, pipeline: dlt.Pipeline, dlt_dir: Path
) -> None:
    folder = dlt_dir / "rollcall"
    files = sandbox.write_rollcall_reports(folder)
    api = make_api(sandbox)
    load(pipeline, api, ["rollcall_attendance"], rollcall_bucket_url=str(folder))
    assert loaded_rollcall(pipeline) == expected_rollcall(sandbox)
    assert query(pipeline, "select count(distinct source_file) from rollcall_attendance") == [(len(files),)]
    columns = pipeline.default_schema.get_table_columns("rollcall_attendance")
    assert columns["class_date"]["data_type"] == "date" and columns["timestamp"]["data_type"] == "timestamp"
    assert [c for c in columns if "__v_" in c] == []
    # a rerun reads no file (incremental on modification date) and changes nothing
    load(pipeline, api, ["rollcall_attendance"], rollcall_bucket_url=str(folder))
    assert pipeline.last_trace.last_normalize_info.row_counts.get("rollcall_attendance", 0) == 0
    assert loaded_rollcall(pipeline) == expected_rollcall(sandbox)
    # re-reading every file (touched) merges onto the same keys
    later = time.time() + 5
    for path in files:
        os.utime(path, (later, later))
    load(pipeline, api, ["rollcall_attendance"], rollcall_bucket_url=str(folder))
    assert pipeline.last_trace.last_normalize_info.row_counts["rollcall_attendance"] == len(
        expected_rollcall(sandbox)
    )
    assert loaded_rollcall(pipeline) == expected_rollcall(sandbox)


def test_a_later_report_with_a_corrected_status_wins(
    sandbox: CanvasSandbox, pipeline: dlt.Pipeline, dlt_dir: Path
) -> None:
    folder = dlt_dir / "rollcall"
    files = sandbox.write_rollcall_reports(folder)
    with files[0].open(encoding="utf-8", newline="") as fh:
        header, fields = list(csv.reader(fh))[:2]
    # the same week re-exported after the teacher changed the first status
    fields[-3], fields[-2] = ("late" if fields[-3] != "late" else "present"), "2026-10-15 09:00:00 UTC"
    with (folder / "rollcall_reexport.csv").open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows([header, fields])
    load(pipeline, make_api(sandbox), ["rollcall_attendance"], rollcall_bucket_url=str(folder))
    rows = query(
        pipeline,
        "select attendance, source_file from rollcall_attendance "
        f"where student_id = {int(fields[10])} and section_id = {int(fields[5])} and class_date = '{fields[13]}'",
    )
    assert rows == [(fields[-3], "rollcall_reexport.csv")]
    assert query(pipeline, "select count(*) from rollcall_attendance") == [(len(sandbox.rollcall_truth()),)]


def test_bad_header_is_rejected_by_name_and_the_good_files_still_load(
    sandbox: CanvasSandbox, pipeline: dlt.Pipeline, dlt_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    folder = dlt_dir / "rollcall"
    sandbox.write_rollcall_reports(folder)
    bad = folder / "rollcall_from_excel.csv"
    bad.write_text(
        "Course ID,Section ID,Student,Date,Attendance\n101,3001,10020,2026-09-01,present\n", encoding="utf-8"
    )
    api = make_api(sandbox)
    with caplog.at_level(logging.ERROR, logger="sources.canvas.rollcall"):
        load(pipeline, api, ["rollcall_attendance"], rollcall_bucket_url=str(folder))
    assert loaded_rollcall(pipeline) == expected_rollcall(sandbox)
    (skipped,) = api.stats.skipped
    assert skipped["resource"] == "rollcall_attendance" and skipped["file"] == "rollcall_from_excel.csv"
    for text in (skipped["reason"], caplog.text):
        assert "rollcall_from_excel.csv" in text
        assert "'Student ID'" in text and "'Class Date'" in text and "'Timestamp'" in text
    # strict mode fails the run on that file with the same clear error
    bad.write_text(bad.read_text(encoding="utf-8"), encoding="utf-8")  # a newer file is read again
    with pytest.raises(Exception) as info:
        load(
            pipeline, make_api(sandbox), ["rollcall_attendance"], rollcall_bucket_url=str(folder), strict=True
        )
    err: BaseException | None = info.value
    while err is not None and not isinstance(err, RollcallFileError):
        err = err.__cause__ or err.__context__
    assert isinstance(err, RollcallFileError) and err.file_name == "rollcall_from_excel.csv"


def test_a_course_shard_keeps_only_its_courses_rows(
    sandbox: CanvasSandbox, pipeline: dlt.Pipeline, dlt_dir: Path
) -> None:
    folder = dlt_dir / "rollcall"
    sandbox.write_rollcall_reports(folder)
    shard = sorted({int(r["Course ID"]) for r in sandbox.rollcall_truth()})[:1]
    load(
        pipeline,
        make_api(sandbox),
        ["rollcall_attendance"],
        rollcall_bucket_url=str(folder),
        course_ids=shard,
    )
    assert loaded_rollcall(pipeline) == {r for r in expected_rollcall(sandbox) if r[0] in shard}


def test_parser_reads_the_course_report_shape_a_bom_and_spreadsheet_dates() -> None:
    lines = [
        "\ufeffCourse ID,SIS Course ID,Course Code,Course Name,Section Name,Section ID,SIS Section ID,"
        "Teacher ID,Teacher Name,Student ID,Student Name,Class Date,Attendance,Timestamp,Badges,Helper",
        "101,,BIO-1,Biology,Sec 1,3001,,10005,Ann Lee,10020,Bo Chan,09/01/2026,Late,2026-09-01 10:05:00 -0500,,Helper",
        "",
    ]
    (row,) = parse_rollcall_csv(lines, "course_report.csv")
    assert row["class_date"] == date(2026, 9, 1) and row["attendance"] == "late"
    assert row["timestamp"] == datetime(2026, 9, 1, 15, 5, tzinfo=UTC)
    assert row["sis_student_id"] is None and row["sis_teacher_id"] is None
    assert row["badges"] == "Helper" and row["source_file"] == "course_report.csv"
    with pytest.raises(RollcallFileError, match="line 2 cannot be read"):
        parse_rollcall_csv([lines[0], lines[1].replace("09/01/2026", "someday")], "x.csv")


@pytest.mark.postgres
def test_postgres_holds_the_same_engagement_and_attendance(
    sandbox: CanvasSandbox, dlt_dir: Path, postgres_dataset: str
) -> None:
    from tests.conftest import POSTGRES_DSN

    folder = dlt_dir / "rollcall"
    sandbox.write_rollcall_reports(folder)
    pipeline = dlt.pipeline(
        "canvas_engagement_pg",
        destination=dlt.destinations.postgres(POSTGRES_DSN),
        dataset_name=postgres_dataset,
    )
    for _ in range(2):  # the second run merges onto the same keys
        load(
            pipeline, make_api(sandbox), [*ENGAGEMENT, "rollcall_attendance"], rollcall_bucket_url=str(folder)
        )
    assert loaded_rollcall(pipeline) == expected_rollcall(sandbox)
    for table in ("student_summaries", "course_activity"):
        assert query(pipeline, f"select count(*) from {table}") == [(sandbox.truth([table])[table],)]
