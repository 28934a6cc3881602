"""The sandbox's write path behaves as Canvas does: SIS imports, enrollment writes, account reports,
Progress, with jobs moved by a clock the test owns."""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from sandbox.canvas import CanvasSandbox


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def sb() -> Iterator[CanvasSandbox]:
    with CanvasSandbox(size="small", seed=7, throttle="off") as sandbox:
        sandbox.job_step_seconds = 1.0
        yield sandbox


@pytest.fixture
def clock(sb: CanvasSandbox) -> FakeClock:
    fake = FakeClock()
    sb.job_clock = fake
    return fake


@pytest.fixture
def http(sb: CanvasSandbox) -> Iterator[requests.Session]:
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {sb.admin_token}"
    yield session
    session.close()  # an idle keep-alive connection would hold up the server's stop


def api(sb: CanvasSandbox, path: str) -> str:
    return f"{sb.base_url}/api/v1/{path.lstrip('/')}"


def zip_of(files: dict[str, str]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return buf.getvalue()


SIS_FILES = {
    "users.csv": (
        "user_id,login_id,first_name,last_name,email,status\n"
        "NEW-U1,new.one,Ana,Uno,ana@x.test,active\n"
        "NEW-U2,new.two,Ben,Dos,,active\n"
    ),
    "courses.csv": (
        "course_id,short_name,long_name,account_id,term_id,status\n"
        "NEW-C1,NEW-101,New Course One,COL-CAS,2026FA,published\n"
    ),
    "sections.csv": "section_id,course_id,name,status\nNEW-S1,NEW-C1,Section One,active\nNEW-S2,NEW-C1,Section Two,active\n",
    "enrollments.csv": (
        "course_id,user_id,role,section_id,status\n"
        "NEW-C1,NEW-U1,student,NEW-S1,active\n"
        ",NEW-U2,teacher,NEW-S2,active\n"
    ),
}


def post_import(
    http: requests.Session, sb: CanvasSandbox, data: bytes, name: str = "sis.zip", **params: str
) -> dict[str, Any]:
    reply = http.post(api(sb, "accounts/self/sis_imports"), files={"attachment": (name, data)}, data=params)
    assert reply.status_code == 200, reply.text
    return reply.json()


def status(http: requests.Session, sb: CanvasSandbox, import_id: int) -> dict[str, Any]:
    return http.get(api(sb, f"accounts/self/sis_imports/{import_id}")).json()


# ---- SIS imports ---------------------------------------------------------------------------------
def test_sis_import_moves_through_the_real_states_and_changes_the_institution(
    sb: CanvasSandbox, clock: FakeClock, http: requests.Session
) -> None:
    before = sb.truth()
    created = post_import(http, sb, zip_of(SIS_FILES))
    assert (created["workflow_state"], created["progress"]) == ("created", 0)
    assert created["data"] == {"import_type": "instructure_csv"}
    seen = []
    for _ in range(6):
        record = status(http, sb, created["id"])
        seen.append((record["workflow_state"], record["progress"]))
        clock.now += 1.0
    assert seen == [
        ("created", 0),
        ("importing", 0),
        ("importing", 33),
        ("importing", 66),
        ("imported", 100),
        ("imported", 100),
    ]
    counts = record["data"]["counts"]
    assert {
        k: counts[k] for k in ("users", "courses", "sections", "enrollments", "warning_count", "error_count")
    } == {
        "users": 2,
        "courses": 1,
        "sections": 2,
        "enrollments": 2,
        "warning_count": 0,
        "error_count": 0,
    }
    assert record["data"]["supplied_batches"] == ["course", "section", "user", "enrollment"]
    assert "processing_warnings" not in record and "processing_errors" not in record
    after = sb.truth()
    assert {k: after[k] - before[k] for k in after if after[k] != before[k]} == {
        "users": 2,
        "courses": 1,
        "sections": 2,
        "enrollments": 2,
    }
    # the new rows are served like any other
    course = http.get(api(sb, "courses/sis_course_id:NEW-C1")).json()
    assert (course["name"], course["course_code"], course["workflow_state"]) == (
        "New Course One",
        "NEW-101",
        "available",
    )
    enrollments = http.get(api(sb, f"courses/{course['id']}/enrollments")).json()
    assert sorted(
        (e["sis_user_id"], e["type"], e["sis_section_id"], e["enrollment_state"]) for e in enrollments
    ) == [
        ("NEW-U1", "StudentEnrollment", "NEW-S1", "active"),
        ("NEW-U2", "TeacherEnrollment", "NEW-S2", "active"),
    ]
    assert ("NEW-U1",) not in sb.truth_keys("users")  # keys are ids
    assert any(u["sis_user_id"] == "NEW-U1" for u in sb.truth_rows("users"))


def test_raw_body_upload_with_extension_and_the_wrapped_newest_first_list(
    sb: CanvasSandbox, clock: FakeClock, http: requests.Session
) -> None:
    first = post_import(http, sb, SIS_FILES["users.csv"].encode(), "users.csv")
    reply = http.post(
        api(sb, "accounts/self/sis_imports"),
        params={"extension": "csv", "import_type": "instructure_csv"},
        data=SIS_FILES["courses.csv"].encode(),
        headers={"Content-Type": "text/csv"},
    )
    assert reply.status_code == 200
    second = reply.json()
    listed = http.get(api(sb, "accounts/self/sis_imports")).json()
    assert [r["id"] for r in listed["sis_imports"]] == [second["id"], first["id"]]
    assert 'rel="last"' not in http.get(api(sb, "accounts/self/sis_imports")).headers["link"]
    running = http.get(api(sb, "accounts/self/sis_imports/importing")).json()["sis_imports"]
    assert len(running) == 2
    clock.now += 10
    assert status(http, sb, second["id"])["data"]["counts"]["courses"] == 1
    assert http.get(api(sb, "accounts/self/sis_imports"), params={"workflow_state[]": "imported"}).json()[
        "sis_imports"
    ]
    # a charset other than UTF-8 is refused
    latin = http.post(
        api(sb, "accounts/self/sis_imports"),
        params={"extension": "csv"},
        data=b"x",
        headers={"Content-Type": "text/csv; charset=ISO-8859-1"},
    )
    assert latin.status_code == 400


def test_row_problems_are_warnings_and_unreadable_files_fail(
    sb: CanvasSandbox, clock: FakeClock, http: requests.Session
) -> None:
    files = {
        "users.csv": "user_id,login_id,first_name,last_name,status\nW1,w.one,W,One,actve\nW2,w.two,W,Two,active\n",
        "enrollments.csv": "course_id,user_id,role,status\n2026FA-NOPE-1,W2,student,active\n"
        f"{sb.truth_rows('courses')[0]['sis_course_id']},GHOST,student,active\n",
    }
    job = post_import(http, sb, zip_of(files))
    clock.now += 10
    record = status(http, sb, job["id"])
    assert record["workflow_state"] == "imported_with_messages"
    assert record["processing_warnings"] == [
        ["users.csv", 'Improper status "actve" for user W1, skipping'],
        [
            "enrollments.csv",
            "Neither course nor section existed for user enrollment "
            "(User ID: W2, Course ID: 2026FA-NOPE-1, Section ID: , Role: student)",
        ],
        [
            "enrollments.csv",
            f"User not found for enrollment (User ID: GHOST, Course ID: {files['enrollments.csv'].splitlines()[2].split(',')[0]}, "
            "Section ID: , Role: student)",
        ],
    ]
    assert record["data"]["counts"]["users"] == 1 and record["data"]["counts"]["warning_count"] == 3
    bad = post_import(http, sb, b"name,whatever\nx,y\n", "mystery.csv")
    clock.now += 10
    failed = status(http, sb, bad["id"])
    assert failed["workflow_state"] == "failed_with_messages"
    assert failed["processing_errors"] == [["mystery.csv", "Couldn't find Canvas CSV import headers"]]


def test_import_parameters_are_checked_and_echoed(
    sb: CanvasSandbox, clock: FakeClock, http: requests.Session
) -> None:
    data = SIS_FILES["users.csv"].encode()
    reply = http.post(
        api(sb, "accounts/self/sis_imports"),
        files={"attachment": ("u.csv", data)},
        data={"batch_mode": "1", "batch_mode_term_id": "999"},
    )
    assert (reply.status_code, reply.json()) == (
        400,
        {"message": "Batch mode specified, but the given batch_mode_term_id cannot be found."},
    )
    sub_account = sb.truth_rows("accounts")[1]["id"]
    reply = http.post(api(sb, f"accounts/{sub_account}/sis_imports"), files={"attachment": ("u.csv", data)})
    assert reply.status_code == 400 and "root accounts" in reply.json()["message"]
    job = post_import(
        http,
        sb,
        data,
        "u.csv",
        override_sis_stickiness="true",
        add_sis_stickiness="true",
        diffing_data_set_identifier="nightly",
        skip_deletes="true",
        change_threshold="10",
    )
    assert (
        job["override_sis_stickiness"],
        job["add_sis_stickiness"],
        job["diffing_data_set_identifier"],
    ) == (True, True, "nightly")
    assert (job["skip_deletes"], job["change_threshold"]) == (True, 10)


def test_batch_mode_deletes_the_terms_sis_enrollments_missing_from_the_import(
    sb: CanvasSandbox, clock: FakeClock, http: requests.Session
) -> None:
    fall = next(t for t in sb.truth_rows("terms") if t["sis_term_id"] == "2026FA")
    fall_courses = {
        c["id"]
        for c in sb.truth_rows("courses")
        if c["enrollment_term_id"] == fall["id"] and c["sis_course_id"]
    }
    live = [
        e
        for e in sb.truth_rows("enrollments")
        if e["course_id"] in fall_courses and e["sis_user_id"] and e["enrollment_state"] != "deleted"
    ]
    keep = live[0]
    enrollments = (
        "course_id,user_id,role,section_id,status\n"
        f"{keep['sis_course_id']},{keep['sis_user_id']},{keep['role'].replace('Enrollment', '').lower()},"
        f"{keep['sis_section_id']},{keep['enrollment_state']}\n"
    )
    job = post_import(
        http,
        sb,
        enrollments.encode(),
        "enrollments.csv",
        batch_mode="true",
        batch_mode_term_id="sis_term_id:2026FA",
    )
    assert job["batch_mode"] is True and job["batch_mode_term_id"] == fall["id"]
    clock.now += 10
    record = status(http, sb, job["id"])
    assert record["data"]["counts"]["batch_enrollments_deleted"] == len(live) - 1
    states = {e["id"]: e["enrollment_state"] for e in sb.truth_rows("enrollments")}
    assert states[keep["id"]] == keep["enrollment_state"]
    assert all(states[e["id"]] == "deleted" for e in live if e["id"] != keep["id"])


def test_diffing_applies_only_changes_and_drops_rows_that_disappeared(
    sb: CanvasSandbox, clock: FakeClock, http: requests.Session
) -> None:
    course = next(
        c for c in sb.truth_rows("courses") if c["workflow_state"] == "available" and c["sis_course_id"]
    )
    users = [u for u in sb.truth_rows("users") if u["sis_user_id"] and u["sis_user_id"].startswith("S")][:3]
    rows = [f"{course['sis_course_id']},{u['sis_user_id']},observer,,active" for u in users]
    header = "course_id,user_id,role,section_id,status\n"
    first = post_import(
        http, sb, (header + "\n".join(rows) + "\n").encode(), "e.csv", diffing_data_set_identifier="roster"
    )
    clock.now += 10
    assert status(http, sb, first["id"])["data"]["counts"]["enrollments"] == 3
    second = post_import(
        http,
        sb,
        (header + "\n".join(rows[:2]) + "\n").encode(),
        "e.csv",
        diffing_data_set_identifier="roster",
        diffing_drop_status="inactive",
    )
    clock.now += 10
    record = status(http, sb, second["id"])
    assert record["diffed_against_import_id"] == first["id"]
    assert record["data"]["counts"]["enrollments"] == 1  # only the dropped row was applied
    observer = {
        e["sis_user_id"]: e["enrollment_state"]
        for e in sb.truth_rows("enrollments")
        if e["course_id"] == course["id"]
        and e["type"] == "ObserverEnrollment"
        and e["associated_user_id"] is None
    }
    assert observer == {
        users[0]["sis_user_id"]: "active",
        users[1]["sis_user_id"]: "active",
        users[2]["sis_user_id"]: "inactive",
    }


def test_step_zero_finishes_jobs_on_the_next_request(sb: CanvasSandbox, http: requests.Session) -> None:
    sb.job_step_seconds = 0
    job = post_import(http, sb, SIS_FILES["users.csv"].encode(), "users.csv")
    assert job["workflow_state"] == "created"
    assert status(http, sb, job["id"])["workflow_state"] == "imported"


# ---- enrollment writes ---------------------------------------------------------------------------
def _open_course(sb: CanvasSandbox) -> dict[str, Any]:
    return next(
        c for c in sb.truth_rows("courses") if c["workflow_state"] == "available" and c["sis_course_id"]
    )


def _outsider(sb: CanvasSandbox, course_id: int) -> dict[str, Any]:
    inside = {e["user_id"] for e in sb.truth_rows("enrollments") if e["course_id"] == course_id}
    return next(u for u in sb.truth_rows("users") if u["id"] not in inside and u["sis_user_id"])


def test_post_enrollment_defaults_to_invited_without_notification_and_reuses_a_match(
    sb: CanvasSandbox, http: requests.Session
) -> None:
    course = _open_course(sb)
    user = _outsider(sb, course["id"])
    before = sb.truth()["enrollments"]
    first = http.post(
        api(sb, f"courses/{course['id']}/enrollments"), data={"enrollment[user_id]": str(user["id"])}
    )
    assert first.status_code == 200
    row = first.json()
    assert (row["enrollment_state"], row["type"], row["role_id"]) == ("invited", "StudentEnrollment", 3)
    assert sb.notifications == []
    # the same user, type and section again (by SIS id, as JSON) reuses it and takes the new state
    again = http.post(
        api(sb, f"courses/sis_course_id:{course['sis_course_id']}/enrollments"),
        json={"enrollment": {"user_id": f"sis_user_id:{user['sis_user_id']}", "enrollment_state": "active"}},
    ).json()
    assert (again["id"], again["enrollment_state"]) == (row["id"], "active")
    assert sb.truth()["enrollments"] == before + 1
    # the section URL with another section makes a second enrollment; notify=true is honoured
    sections = [s for s in sb.truth_rows("sections") if s["course_id"] == course["id"]]
    other = next((s for s in sections if s["id"] != row["course_section_id"]), None)
    if other is not None:
        third = http.post(
            api(sb, f"sections/{other['id']}/enrollments"),
            data={
                "enrollment[user_id]": str(user["id"]),
                "enrollment[notify]": "true",
                "enrollment[course_section_id]": "1",
            },
        ).json()
        assert third["id"] != row["id"] and third["course_section_id"] == other["id"]
        assert sb.notifications == [(third["id"], user["id"])]


@pytest.mark.parametrize(
    ("form", "status_code", "body"),
    [
        ({}, 400, {"message": "No parameters given"}),
        (
            {"enrollment[type]": "StudentEnrollment"},
            400,
            {
                "message": "Can't create an enrollment without a user. Include enrollment[user_id] to create an enrollment"
            },
        ),
        ({"enrollment[user_id]": "USER", "enrollment[type]": "Wizard"}, 400, {"message": "Invalid type"}),
        ({"enrollment[user_id]": "USER", "enrollment[role_id]": "99"}, 400, {"message": "Invalid role"}),
        (
            {
                "enrollment[user_id]": "USER",
                "enrollment[role_id]": "4",
                "enrollment[type]": "StudentEnrollment",
            },
            400,
            {"message": "The specified type must match the base type for the role"},
        ),
        (
            {"enrollment[user_id]": "999999"},
            404,
            {"errors": [{"message": "The specified resource does not exist."}]},
        ),
    ],
)
def test_post_enrollment_errors_are_canvas_replies(
    sb: CanvasSandbox, http: requests.Session, form: dict[str, str], status_code: int, body: dict[str, Any]
) -> None:
    course = _open_course(sb)
    user = _outsider(sb, course["id"])
    form = {k: (str(user["id"]) if v == "USER" else v) for k, v in form.items()}
    reply = http.post(api(sb, f"courses/{course['id']}/enrollments"), data=form)
    assert (reply.status_code, reply.json()) == (status_code, body)


def test_a_concluded_course_takes_no_new_enrollments(sb: CanvasSandbox, http: requests.Session) -> None:
    course = next(c for c in sb.truth_rows("courses") if c["workflow_state"] == "completed")
    user = _outsider(sb, course["id"])
    reply = http.post(
        api(sb, f"courses/{course['id']}/enrollments"), data={"enrollment[user_id]": str(user["id"])}
    )
    assert (reply.status_code, reply.json()) == (
        400,
        {"message": "Can't add an enrollment to a concluded course."},
    )


def test_delete_tasks_and_reactivate(sb: CanvasSandbox, http: requests.Session) -> None:
    course = _open_course(sb)
    enrollment = next(
        e
        for e in sb.truth_rows("enrollments")
        if e["course_id"] == course["id"] and e["enrollment_state"] == "active"
    )
    url = api(sb, f"courses/{course['id']}/enrollments/{enrollment['id']}")
    assert http.delete(url).json()["enrollment_state"] == "completed"  # no task: conclude
    reply = http.put(url + "/reactivate")
    assert (reply.status_code, reply.json()) == (400, {"error": "enrollment not inactive"})
    assert http.delete(url, params={"task": "inactivate"}).json()["enrollment_state"] == "inactive"
    assert http.put(url + "/reactivate").json()["enrollment_state"] == "active"
    assert http.delete(url, params={"task": "deactivate"}).json()["enrollment_state"] == "inactive"
    assert http.delete(url, params={"task": "delete"}).json()["enrollment_state"] == "deleted"
    states = {e["id"]: e["enrollment_state"] for e in sb.truth_rows("enrollments")}
    assert states[enrollment["id"]] == "deleted"
    assert http.delete(api(sb, f"courses/{course['id']}/enrollments/1")).status_code == 404


def test_write_routes_are_counted_by_method_and_reads_stay_get_only(
    sb: CanvasSandbox, http: requests.Session
) -> None:
    sb.reset_stats()
    assert http.post(api(sb, "accounts/self/terms")).status_code == 404
    http.post(api(sb, f"courses/{_open_course(sb)['id']}/enrollments"), data={})
    by_route = sb.stats.by_route
    assert by_route["(unmatched)"] == 1
    assert by_route["POST /api/v1/courses/:course_id/enrollments"] == 1


# ---- account reports and Progress ----------------------------------------------------------------
def _report(http: requests.Session, sb: CanvasSandbox, report: str, rid: int) -> dict[str, Any]:
    return http.get(api(sb, f"accounts/self/reports/{report}/{rid}")).json()


def _csv(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_provisioning_report_runs_as_a_job_and_serves_its_files(
    sb: CanvasSandbox, clock: FakeClock, http: requests.Session
) -> None:
    reply = http.post(
        api(sb, "accounts/self/reports/provisioning_csv"),
        data={
            "parameters[users]": "true",
            "parameters[enrollments]": "true",
            "parameters[include_deleted]": "true",
        },
    )
    started = reply.json()
    assert (started["status"], started["progress"], started["file_url"]) == ("created", 0, None)
    seen = []
    for _ in range(6):
        record = _report(http, sb, "provisioning_csv", started["id"])
        seen.append((record["status"], record["progress"]))
        clock.now += 1
    assert seen == [
        ("created", 0),
        ("running", 0),
        ("running", 50),
        ("compiling", 90),
        ("complete", 100),
        ("complete", 100),
    ]
    assert record["parameters"] == {"users": "true", "enrollments": "true", "include_deleted": "true"}
    assert record["file_url"].endswith(f"/files/{record['attachment']['id']}/download")
    download = http.get(record["attachment"]["url"])
    assert download.headers["content-type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(download.content))
    assert sorted(archive.namelist()) == ["enrollments.csv", "users.csv"]
    users = _csv(archive.read("users.csv").decode())
    assert {int(u["canvas_user_id"]) for u in users} == {u["id"] for u in sb.truth_rows("users")}
    enrollments = _csv(archive.read("enrollments.csv").decode())
    expected = {
        e["id"]
        for e in sb.truth_rows("enrollments")
        if e["enrollment_state"] != "deleted" or (e["sis_course_id"] and e["sis_user_id"])
    }
    assert {int(e["canvas_enrollment_id"]) for e in enrollments} == expected
    by_id = {e["id"]: e for e in sb.truth_rows("enrollments")}
    row = enrollments[0]
    truth = by_id[int(row["canvas_enrollment_id"])]
    assert (row["canvas_course_id"], row["user_id"], row["base_role_type"]) == (
        str(truth["course_id"]),
        truth["sis_user_id"] or "",
        truth["type"],
    )
    assert {e["status"] for e in enrollments} <= {"active", "invited", "concluded", "inactive", "deleted"}


def test_single_provisioning_file_is_a_csv_and_default_filters_leave_out_concluded(
    sb: CanvasSandbox, clock: FakeClock, http: requests.Session
) -> None:
    started = http.post(
        api(sb, "accounts/self/reports/provisioning_csv"), data={"parameters[enrollments]": "true"}
    ).json()
    clock.now += 10
    record = _report(http, sb, "provisioning_csv", started["id"])
    assert record["attachment"]["content-type"] == "text/csv"
    rows = _csv(http.get(record["attachment"]["url"]).text)
    courses = {c["id"]: c for c in sb.truth_rows("courses")}
    expected = {
        e["id"]
        for e in sb.truth_rows("enrollments")
        if e["enrollment_state"] not in ("deleted", "completed")
        and courses[e["course_id"]]["workflow_state"] != "deleted"
    }
    assert {int(r["canvas_enrollment_id"]) for r in rows} == expected
    assert record["current_line"] == len(rows)


def test_last_user_access_report_and_unknown_reports(
    sb: CanvasSandbox, clock: FakeClock, http: requests.Session
) -> None:
    started = http.post(api(sb, "accounts/self/reports/last_user_access_csv")).json()
    clock.now += 10
    record = _report(http, sb, "last_user_access_csv", started["id"])
    rows = _csv(http.get(record["attachment"]["url"]).text)
    assert list(rows[0]) == ["user id", "user sis id", "user name", "last access at", "last ip"]
    assert len(rows) == len(sb.truth_rows("users"))
    assert http.post(api(sb, "accounts/self/reports/no_such_report")).status_code == 404
    listed = http.get(api(sb, "accounts/self/reports")).json()
    assert {r["report"] for r in listed} == {"provisioning_csv", "last_user_access_csv"}
    history = http.get(api(sb, "accounts/self/reports/last_user_access_csv")).json()
    assert [r["id"] for r in history] == [started["id"]]
    deleted = http.delete(api(sb, f"accounts/self/reports/last_user_access_csv/{started['id']}")).json()
    assert deleted["status"] == "deleted"
    assert http.get(api(sb, f"accounts/self/reports/last_user_access_csv/{started['id']}")).status_code == 404


def test_bulk_enrollment_returns_a_progress_that_completes(
    sb: CanvasSandbox, clock: FakeClock, http: requests.Session
) -> None:
    course = _open_course(sb)
    user = _outsider(sb, course["id"])
    progress = http.post(
        api(sb, "accounts/self/bulk_enrollment"),
        data={"user_ids[]": [str(user["id"])], "course_ids[]": [str(course["id"])]},
    ).json()
    assert (progress["workflow_state"], progress["completion"], progress["tag"]) == (
        "queued",
        0,
        "bulk_enrollment",
    )
    assert "results" not in progress
    clock.now += 1
    assert http.get(api(sb, f"progress/{progress['id']}")).json()["workflow_state"] == "running"
    clock.now += 1
    done = http.get(api(sb, f"progress/{progress['id']}")).json()
    assert (done["workflow_state"], done["completion"]) == ("completed", 100)
    assert len(done["results"]["enrollment_ids"]) == 1
    assert any(
        e["user_id"] == user["id"] and e["course_id"] == course["id"] for e in sb.truth_rows("enrollments")
    )
    too_many = http.post(
        api(sb, "accounts/self/bulk_enrollment"),
        data={"user_ids[]": [str(i) for i in range(501)], "course_ids[]": [str(course["id"])]},
    )
    assert (too_many.status_code, too_many.json()) == (400, {"error": "Too many users to enroll at once."})
    queued = http.post(
        api(sb, "accounts/self/bulk_enrollment"),
        data={"user_ids[]": [str(user["id"])], "course_ids[]": [str(course["id"])]},
    ).json()
    cancelled = http.post(api(sb, f"progress/{queued['id']}/cancel"), data={"message": "stop"}).json()
    assert (cancelled["workflow_state"], cancelled["message"]) == ("failed", "stop")
