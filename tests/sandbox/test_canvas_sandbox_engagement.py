"""The Canvas sandbox's engagement and attendance inputs: analytics routes, Roll Call CSVs, SIS roster."""

from __future__ import annotations

import csv
from collections import Counter, defaultdict
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests

from sandbox.canvas import CanvasSandbox
from sandbox.canvas.analytics import ENGAGEMENT_TABLES
from sandbox.canvas.rollcall import ACCOUNT_REPORT_HEADER

SUMMARY_KEYS = [
    "id",
    "page_views",
    "page_views_level",
    "max_page_view",
    "participations",
    "participations_level",
    "max_participations",
    "tardiness_breakdown",
]
BREAKDOWN_KEYS = {"total", "on_time", "late", "missing", "floating"}


@pytest.fixture(scope="module")
def sb() -> Iterator[CanvasSandbox]:
    """A small sandbox shared by read-only tests."""
    with CanvasSandbox(size="small", seed=7, throttle="off") as sandbox:
        yield sandbox


def session_for(token: str) -> requests.Session:
    s = requests.Session()
    s.headers["Authorization"] = f"Bearer {token}"
    return s


def url(sb: CanvasSandbox, path: str) -> str:
    return f"{sb.base_url}/api/v1{path}"


def fetch_all(s: requests.Session, first: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    next_url: str | None = first
    query: dict[str, Any] | None = params
    while next_url:
        r = s.get(next_url, params=query)
        query = None
        assert r.status_code == 200, r.text
        rows.extend(r.json())
        next_url = r.links.get("next", {}).get("url")
    return rows


def course_ids(sb: CanvasSandbox) -> list[int]:
    return [c["id"] for c in sb.truth_rows("courses")]


# ---- analytics routes --------------------------------------------------------------------------


@pytest.mark.parametrize("per_page", [100, 7])
def test_student_summaries_paged_equal_truth(sb: CanvasSandbox, per_page: int) -> None:
    s = session_for(sb.admin_token)
    got = []
    for cid in course_ids(sb):
        rows = fetch_all(s, url(sb, f"/courses/{cid}/analytics/student_summaries"), {"per_page": per_page})
        got += [{**r, "course_id": cid} for r in rows]
    assert got == sb.truth_rows("student_summaries")
    assert len(got) == sb.truth(ENGAGEMENT_TABLES)["student_summaries"] > 100
    assert {(r["course_id"], r["id"]) for r in got} == sb.truth_keys("student_summaries")
    for row in got:
        assert list(row)[:-1] == SUMMARY_KEYS  # the reference item's fields, in its order
        assert set(row["tardiness_breakdown"]) == BREAKDOWN_KEYS
        assert row["page_views_level"] in {"0", "1", "2", "3"}
        assert row["page_views"] <= row["max_page_view"]


def test_summaries_cover_active_and_completed_students(sb: CanvasSandbox) -> None:
    expected = {
        (c.id, e.user.id)
        for c in sb.institution.courses
        for e in c.enrollments
        if e.type == "StudentEnrollment" and e.state in ("active", "completed")
    }
    assert sb.truth_keys("student_summaries") == expected


def test_tardiness_breakdown_follows_the_submissions(sb: CanvasSandbox) -> None:
    subs = defaultdict(list)
    assignments = {a["id"]: a for a in sb.truth_rows("assignments")}
    for r in sb.truth_rows("submissions"):
        a = assignments[r["assignment_id"]]
        if set(a["submission_types"]) & {"on_paper", "none", "external_tool"}:
            continue
        subs[(r["course_id"], r["user_id"])].append(r)
    for row in sb.truth_rows("student_summaries"):
        b = row["tardiness_breakdown"]
        mine = subs[(row["course_id"], row["id"])]
        assert b["total"] == len(mine) == b["on_time"] + b["late"] + b["missing"] + b["floating"]
        assert b["missing"] == sum(1 for r in mine if r["missing"])
        assert b["late"] == sum(1 for r in mine if r["late"] and not r["missing"])
        assert b["on_time"] == sum(
            1 for r in mine if r["submitted_at"] and not r["late"] and not r["missing"]
        )
    assert any(r["tardiness_breakdown"]["missing"] for r in sb.truth_rows("student_summaries"))
    assert any(r["tardiness_breakdown"]["late"] for r in sb.truth_rows("student_summaries"))


def test_activity_is_one_unpaginated_array_that_adds_up_to_the_summaries(sb: CanvasSandbox) -> None:
    s = session_for(sb.admin_token)
    summaries = defaultdict(lambda: [0, 0])
    for r in sb.truth_rows("student_summaries"):
        summaries[r["course_id"]][0] += r["page_views"]
        summaries[r["course_id"]][1] += r["participations"]
    all_rows = []
    for cid in course_ids(sb):
        r = s.get(url(sb, f"/courses/{cid}/analytics/activity"), params={"per_page": 5})
        assert r.status_code == 200 and "link" not in r.headers
        rows = r.json()
        assert all(list(row) == ["date", "participations", "views"] for row in rows)
        dates = [row["date"] for row in rows]
        assert dates == sorted(set(dates))
        assert all(date.fromisoformat(d) <= date(2026, 10, 15) for d in dates)
        assert [sum(row["views"] for row in rows), sum(row["participations"] for row in rows)] == summaries[
            cid
        ]
        all_rows += [{**row, "course_id": cid} for row in rows]
    assert all_rows == sb.truth_rows("course_activity")
    assert {(r["course_id"], r["date"]) for r in all_rows} == sb.truth_keys("course_activity")


def test_summaries_sort_and_student_filter(sb: CanvasSandbox) -> None:
    s = session_for(sb.admin_token)
    cid = course_ids(sb)[0]
    base = url(sb, f"/courses/{cid}/analytics/student_summaries")
    rows = fetch_all(s, base, {"sort_column": "page_views_descending", "per_page": 100})
    assert [r["page_views"] for r in rows] == sorted((r["page_views"] for r in rows), reverse=True)
    one = rows[3]["id"]
    assert [r["id"] for r in fetch_all(s, base, {"student_id": one})] == [one]
    assert s.get(base, params={"sort_column": "shoe_size"}).status_code == 400


def test_disabled_analytics_answer_404_and_forbidden_courses_401() -> None:
    with CanvasSandbox(size="small", seed=7, throttle="off") as sb:
        s = session_for(sb.admin_token)
        first, second = course_ids(sb)[:2]
        sb.analytics_disabled_courses = {first}
        sb.forbidden_courses = {second}
        for route in ("student_summaries", "activity"):
            assert s.get(url(sb, f"/courses/{first}/analytics/{route}")).status_code == 404
            assert s.get(url(sb, f"/courses/{second}/analytics/{route}")).status_code == 401
        assert all(k[0] != first for k in sb.truth_keys("student_summaries"))
        assert all(k[0] != first for k in sb.truth_keys("course_activity"))


def test_truth_defaults_stay_the_rest_tables(sb: CanvasSandbox) -> None:
    assert list(sb.truth()) == [
        "accounts",
        "terms",
        "courses",
        "sections",
        "users",
        "enrollments",
        "assignment_groups",
        "assignments",
        "submissions",
    ]
    assert sb.truth(["submissions"]) == {"submissions": sb.truth()["submissions"]}


def test_analytics_are_deterministic_and_past_days_survive_advance() -> None:
    a = CanvasSandbox(size="small", seed=7)
    b = CanvasSandbox(size="small", seed=7)
    for table in ENGAGEMENT_TABLES:
        assert a.truth_rows(table) == b.truth_rows(table)
    before = {(r["course_id"], r["date"]): r for r in a.truth_rows("course_activity")}
    changes = a.advance()
    after = {(r["course_id"], r["date"]): r for r in a.truth_rows("course_activity")}
    new_day = changes.clock.date().isoformat()
    assert any(k[1] == new_day for k in after)
    # a dropped student leaves the analytics (only active and completed students count)
    dropped_in = {
        e.course_id
        for c in a.institution.courses
        for e in c.enrollments
        if e.id in changes.dropped_enrollments
    }
    assert dropped_in
    old_days = {k: v for k, v in after.items() if k[1] < "2026-10-15" and k[0] not in dropped_in}
    assert old_days == {k: v for k, v in before.items() if k[1] < "2026-10-15" and k[0] not in dropped_in}
    assert len(old_days) > 300


# ---- Roll Call ---------------------------------------------------------------------------------


def read_reports(paths: list[Path]) -> list[dict[str, str]]:
    rows = []
    for path in paths:
        with path.open(encoding="utf-8", newline="") as fh:
            reader = csv.reader(fh)
            assert tuple(next(reader)) == ACCOUNT_REPORT_HEADER
            for fields in reader:
                # Roll Call appends an empty Badges field even without a Badges header
                assert len(fields) == len(ACCOUNT_REPORT_HEADER) + 1 and fields[-1] == ""
                rows.append(dict(zip(ACCOUNT_REPORT_HEADER, fields[:-1], strict=True)))
    return rows


def test_rollcall_reports_are_weekly_files_of_exactly_the_truth(sb: CanvasSandbox, tmp_path: Path) -> None:
    paths = sb.write_rollcall_reports(tmp_path / "rollcall")
    assert paths and paths == sorted(paths)
    rows = read_reports(paths)
    assert rows == sb.rollcall_truth()
    assert (
        sb.write_rollcall_reports(tmp_path / "again")
        and read_reports(sorted((tmp_path / "again").glob("*.csv"))) == rows
    )  # the same files twice
    for path in paths:
        monday = date.fromisoformat(path.stem.split("_")[2])
        assert monday.weekday() == 0
        for row in read_reports([path]):
            assert monday <= date.fromisoformat(row["Class Date"]) <= monday + timedelta(days=6)
    assert Counter(r["Attendance"] for r in rows).keys() == {"present", "late", "absent"}
    keys = [(r["Course ID"], r["Section ID"], r["Student ID"], r["Class Date"]) for r in rows]
    assert len(keys) == len(set(keys))
    assert all(r["Timestamp"].endswith(" UTC") and r["Timestamp"][:10] >= r["Class Date"] for r in rows)
    # two meetings a week per section, never on a weekend
    meetings = defaultdict(set)
    for r in rows:
        day = date.fromisoformat(r["Class Date"])
        assert day.weekday() < 5
        meetings[(r["Section ID"], day - timedelta(days=day.weekday()))].add(day)
    assert max(len(days) for days in meetings.values()) == 2


def test_rollcall_grades_equal_the_statuses(sb: CanvasSandbox) -> None:
    statuses: dict[tuple[int, int], list[str]] = defaultdict(list)
    for r in sb.rollcall_truth():
        statuses[(int(r["Course ID"]), int(r["Student ID"]))].append(r["Attendance"])
    roll_call = {a["id"]: a for a in sb.truth_rows("assignments") if a["name"] == "Roll Call Attendance"}
    assert roll_call and all(a["grading_type"] == "percent" for a in roll_call.values())
    assert {a["course_id"] for a in roll_call.values()} == {k[0] for k in statuses}
    checked = 0
    for s in sb.truth_rows("submissions"):
        if s["assignment_id"] not in roll_call or s["score"] is None:
            continue
        marks = statuses[(s["course_id"], s["user_id"])]
        # Roll Call posts '%.0f%%' of (present + 0.8 late) / total
        expected = "%.0f%%" % ((marks.count("present") + 0.8 * marks.count("late")) / len(marks) * 100)
        assert s["grade"] == expected and s["score"] == float(expected[:-1]), (s, marks)
        checked += 1
    assert checked > 30


# ---- SIS roster --------------------------------------------------------------------------------


def test_sis_roster_plants_each_kind_of_difference(tmp_path: Path) -> None:
    sb = CanvasSandbox(size="small", seed=7)
    path = sb.write_sis_roster(tmp_path / "roster.csv")
    with path.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0]) == ["course_id", "user_id", "role", "section_id", "status"]
    keys = [(r["course_id"], r["user_id"]) for r in rows]
    assert len(keys) == len(set(keys))
    diffs = sb.roster_differences()
    assert set(diffs) == {"missing_in_lms", "extra_in_lms", "state_mismatch"}
    assert all(len(v) >= 3 for v in diffs.values())
    lms = {}
    for e in sb.truth_rows("enrollments"):
        if e["sis_course_id"] and e["sis_user_id"] and e["type"] != "ObserverEnrollment":
            lms[(e["sis_course_id"], e["sis_user_id"])] = e["enrollment_state"]
    sis = {(r["course_id"], r["user_id"]): r["status"] for r in rows}
    assert diffs["missing_in_lms"] == {k for k, v in sis.items() if k not in lms and v != "deleted"}
    assert diffs["extra_in_lms"] == {k for k, v in lms.items() if k not in sis and v != "deleted"}
    assert any(sis[k] == "deleted" and lms[k] == "active" for k in diffs["state_mismatch"])
    assert all(
        {"invited": "active"}.get(lms[k], lms[k]) == sis[k]
        for k in sis.keys() & lms.keys() - diffs["state_mismatch"]
    )
    # a drop in Canvas after the roster was written shows up as a new difference
    changes = sb.advance()
    (dropped,) = changes.dropped_enrollments
    enrollment = next(e for e in sb.truth_rows("enrollments") if e["id"] == dropped)
    key = (enrollment["sis_course_id"], enrollment["sis_user_id"])
    after = sb.roster_differences()
    if key in sis and sis[key] == "active":
        assert key in after["state_mismatch"]
    assert CanvasSandbox(size="small", seed=7).roster_differences() == diffs
