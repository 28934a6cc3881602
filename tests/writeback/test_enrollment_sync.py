"""The enrollment sync command against the sandbox: the dry run plans exactly the differences,
--apply makes them (no notifications), a rerun plans nothing, failures are reported per action."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dlt
import duckdb
import pytest

from pipelines import enrollment_sync
from sandbox.canvas import CanvasSandbox
from sources.canvas import CanvasApi, canvas_source
from sources.lms_http.retry import RetryPolicy
from writeback.canvas.write_api import CanvasWriteError, CanvasWriter

FAST = RetryPolicy(max_attempts=6, base_delay=0.05, max_delay=0.5)
WRITES = ("POST ", "PUT ", "DELETE ")


@pytest.fixture
def sb(monkeypatch: pytest.MonkeyPatch) -> Iterator[CanvasSandbox]:
    with CanvasSandbox(size="small", seed=7, throttle="off") as sandbox:
        monkeypatch.setenv("SOURCES__CANVAS__ACCESS_TOKEN", sandbox.admin_token)
        yield sandbox


def run_tool(sb: CanvasSandbox, *args: str | Path) -> int:
    return enrollment_sync.main([str(a) for a in args] + ["--base-url", sb.base_url])


def writes_seen(sb: CanvasSandbox) -> int:
    return sum(n for route, n in sb.stats.by_route.items() if route.startswith(WRITES))


class Scenario:
    """A desired-state CSV with one case of each kind, and the plan it must produce."""

    def __init__(self, sb: CanvasSandbox, folder: Path) -> None:
        rows = sb.truth_rows("enrollments")
        courses = {c["id"]: c for c in sb.truth_rows("courses")}
        self.course = next(
            c
            for c in courses.values()
            if c["workflow_state"] == "available"
            and c["sis_course_id"]
            and any(
                r["course_id"] == c["id"] and r["enrollment_state"] == "inactive" and r["sis_user_id"]
                for r in rows
            )
        )
        cid = self.course["sis_course_id"]
        students = [
            r
            for r in rows
            if r["course_id"] == self.course["id"] and r["type"] == "StudentEnrollment" and r["sis_user_id"]
        ]
        active = [r for r in students if r["enrollment_state"] == "active"]
        inactive = [r for r in students if r["enrollment_state"] == "inactive"]
        enrolled = {r["sis_user_id"] for r in students}
        outsiders = sorted(
            {
                u["sis_user_id"]
                for u in sb.truth_rows("users")
                if u["sis_user_id"] and u["sis_user_id"].startswith("S")
            }
            - enrolled
        )
        self.concluded_course = next(
            c for c in courses.values() if c["workflow_state"] == "completed" and c["sis_course_id"]
        )
        self.keep = active[1:4]
        self.conclude = active[0]
        self.reactivate = inactive[0]
        self.create = outsiders[:2]
        self.doomed = outsiders[2]  # into a concluded course: Canvas refuses
        section = next(s for s in sb.truth_rows("sections") if s["course_id"] == self.course["id"])
        lines = ["sis_course_id,sis_section_id,sis_user_id,role,status"]
        lines += [f"{cid},,{r['sis_user_id']},student,active" for r in self.keep]
        lines.append(f"{cid},,{self.conclude['sis_user_id']},student,completed")
        lines.append(f"{cid},,{self.reactivate['sis_user_id']},student,active")
        lines.append(f"{cid},,{self.create[0]},student,active")
        lines.append(f",{section['sis_section_id']},{self.create[1]},student,active")
        self.section = section
        self.path = folder / "desired.csv"
        self.path.write_text("\n".join(lines) + "\n")
        self.with_failure = folder / "desired_with_failure.csv"
        self.with_failure.write_text(
            "\n".join(lines + [f"{self.concluded_course['sis_course_id']},,{self.doomed},student,active"])
            + "\n"
        )

    def expected_plan(self) -> set[tuple[str, str]]:
        return {
            ("create", self.create[0]),
            ("create", self.create[1]),
            ("reactivate", self.reactivate["sis_user_id"]),
            ("conclude", self.conclude["sis_user_id"]),
        } | {("keep", r["sis_user_id"]) for r in self.keep}


def actions_of_last_run(dlt_dir: Path) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    con = duckdb.connect(str(dlt_dir / "canvas_pipeline.duckdb"), read_only=True)

    def records(sql: str, params: list[Any] | None = None) -> list[dict[str, Any]]:
        cursor = con.execute(sql, params or [])
        names = [c[0] for c in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

    try:
        run = records("select * from canvas.enrollment_sync_runs order by started_at desc limit 1")[0]
        actions = records(
            "select * from canvas.enrollment_sync_actions where run_id = ? order by seq", [run["run_id"]]
        )
    finally:
        con.close()
    return run, actions


def test_the_dry_run_plans_exactly_the_differences_and_changes_nothing(
    dlt_dir: Path, sb: CanvasSandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    scenario = Scenario(sb, dlt_dir)
    before = sb.truth_rows("enrollments")
    sb.reset_stats()
    assert run_tool(sb, "--desired", scenario.path) == enrollment_sync.EXIT_OK
    out = capsys.readouterr().out
    assert "Plan: create 2, reactivate 1, conclude 1, keep 3" in out
    assert "Dry run: nothing was changed. Run again with --apply to make these 4 change(s)." in out
    assert writes_seen(sb) == 0 and sb.truth_rows("enrollments") == before
    run, actions = actions_of_last_run(dlt_dir)
    assert (run["mode"], run["planned_create"], run["planned_conclude"], run["succeeded"], run["failed"]) == (
        "dry_run",
        2,
        1,
        0,
        0,
    )
    assert {(a["action"], a["sis_user_id"]) for a in actions} == scenario.expected_plan()
    assert {a["status"] for a in actions} == {"planned"}


def test_apply_makes_the_changes_without_notifying_and_a_rerun_plans_nothing(
    dlt_dir: Path, sb: CanvasSandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    scenario = Scenario(sb, dlt_dir)
    assert (
        run_tool(sb, "--desired", scenario.path, "--apply", "--concurrency", "3") == enrollment_sync.EXIT_OK
    )
    out = capsys.readouterr().out
    assert "Applied 4 change(s): 4 ok, 0 failed" in out and "Check: a fresh plan now has 0 change(s)." in out
    state = {
        (e["sis_user_id"], e["course_id"]): e
        for e in sb.truth_rows("enrollments")
        if e["course_id"] == scenario.course["id"]
    }
    cid = scenario.course["id"]
    assert state[(scenario.conclude["sis_user_id"], cid)]["enrollment_state"] == "completed"
    assert state[(scenario.reactivate["sis_user_id"], cid)]["enrollment_state"] == "active"
    assert state[(scenario.create[0], cid)]["enrollment_state"] == "active"
    assert state[(scenario.create[1], cid)]["course_section_id"] == scenario.section["id"]
    assert sb.notifications == []  # never notified without --notify
    run, actions = actions_of_last_run(dlt_dir)
    assert (run["mode"], run["succeeded"], run["failed"]) == ("apply", 4, 0)
    created = {a["sis_user_id"]: a for a in actions if a["action"] == "create"}
    assert created[scenario.create[0]]["state_after"] == "active"
    assert created[scenario.create[0]]["enrollment_id"] == state[(scenario.create[0], cid)]["id"]
    sb.reset_stats()
    assert run_tool(sb, "--desired", scenario.path) == enrollment_sync.EXIT_OK
    out = capsys.readouterr().out
    assert "Plan: keep 7" in out and "Dry run: Canvas already matches; nothing to do." in out
    assert writes_seen(sb) == 0
    # applying again is a no-op too
    assert run_tool(sb, "--desired", scenario.path, "--apply") == enrollment_sync.EXIT_OK
    assert writes_seen(sb) == 0


def test_one_failing_action_is_reported_and_the_others_still_run(
    dlt_dir: Path, sb: CanvasSandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    scenario = Scenario(sb, dlt_dir)
    code = run_tool(sb, "--desired", scenario.with_failure, "--apply")
    out = capsys.readouterr().out
    assert code == enrollment_sync.EXIT_FAILURES
    assert "Applied 5 change(s): 4 ok, 1 failed" in out
    assert f"{scenario.doomed}  student: Can't add an enrollment to a concluded course. (HTTP 400)" in out
    _, actions = actions_of_last_run(dlt_dir)
    failed = [a for a in actions if a["status"] == "failed"]
    assert [(a["sis_user_id"], a["error"], a["http_status"]) for a in failed] == [
        (scenario.doomed, "Can't add an enrollment to a concluded course.", 400)
    ]
    assert sum(a["status"] == "ok" for a in actions) == 4


def test_post_reuse_returns_the_same_enrollment_id(sb: CanvasSandbox) -> None:
    writer = CanvasWriter(CanvasApi(sb.base_url, sb.admin_token, policy=FAST))
    course = next(c for c in sb.truth_rows("courses") if c["workflow_state"] == "available")
    enrolled = {e["user_id"] for e in sb.truth_rows("enrollments") if e["course_id"] == course["id"]}
    user = next(u for u in sb.truth_rows("users") if u["id"] not in enrolled)
    form = {
        "enrollment[user_id]": str(user["id"]),
        "enrollment[type]": "StudentEnrollment",
        "enrollment[notify]": "false",
    }
    first = writer.post(f"courses/{course['id']}/enrollments", data=form)
    second = writer.post(
        f"courses/{course['id']}/enrollments", data={**form, "enrollment[enrollment_state]": "active"}
    )
    assert first["id"] == second["id"]
    assert (first["enrollment_state"], second["enrollment_state"]) == ("invited", "active")
    with pytest.raises(CanvasWriteError) as exc:
        writer.post(
            f"courses/{course['id']}/enrollments",
            data={"enrollment[type]": "Wizard", "enrollment[user_id]": "1"},
        )
    assert (exc.value.status, exc.value.canvas_message) == (400, "Invalid type")


def test_notify_is_passed_on_only_when_asked(dlt_dir: Path, sb: CanvasSandbox) -> None:
    scenario = Scenario(sb, dlt_dir)
    assert run_tool(sb, "--desired", scenario.path, "--apply", "--notify", "--no-load") == 0
    notified_users = {uid for _, uid in sb.notifications}
    users = {u["sis_user_id"]: u["id"] for u in sb.truth_rows("users")}
    # creates notify; the reactivation by PUT does not create an enrollment
    assert notified_users == {users[scenario.create[0]], users[scenario.create[1]]}


def test_actual_state_from_the_warehouse_plans_the_same(
    dlt_dir: Path, sb: CanvasSandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    scenario = Scenario(sb, dlt_dir)
    pipeline = dlt.pipeline(
        "canvas_pipeline",
        destination=dlt.destinations.duckdb(str(dlt_dir / "canvas_pipeline.duckdb")),
        dataset_name="canvas",
    )
    api = CanvasApi(sb.base_url, sb.admin_token, policy=FAST)
    pipeline.run(canvas_source(api=api).with_resources("courses", "enrollments"))
    sb.reset_stats()
    assert run_tool(sb, "--desired", scenario.path, "--actual", "warehouse") == 0
    out = capsys.readouterr().out
    assert "(warehouse canvas.enrollments)" in out
    assert "Plan: create 2, reactivate 1, conclude 1, keep 3" in out
    assert sb.stats.requests == 0  # a warehouse dry run does not touch Canvas
    _, actions = actions_of_last_run(dlt_dir)
    assert {(a["action"], a["sis_user_id"]) for a in actions} == scenario.expected_plan()


def test_conclude_missing_and_unknown_courses(
    dlt_dir: Path, sb: CanvasSandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    scenario = Scenario(sb, dlt_dir)
    path = dlt_dir / "partial.csv"
    keep = scenario.keep[0]
    path.write_text(
        "course_id,user_id,role,status\n"
        f"{scenario.course['sis_course_id']},{keep['sis_user_id']},student,active\n"
        "NO-SUCH-COURSE,S0000001,student,active\n"
    )
    code = run_tool(sb, "--desired", path, "--conclude-missing", "--show", "100")
    capsys.readouterr()
    assert code == enrollment_sync.EXIT_FAILURES  # the unknown course cannot be resolved
    live_others = {
        e["sis_user_id"]
        for e in sb.truth_rows("enrollments")
        if e["course_id"] == scenario.course["id"]
        and e["type"] == "StudentEnrollment"
        and e["sis_user_id"]
        and e["sis_user_id"] != keep["sis_user_id"]
        and e["enrollment_state"] in ("active", "invited", "inactive")
    }
    _, actions = actions_of_last_run(dlt_dir)
    assert {a["sis_user_id"] for a in actions if a["action"] == "conclude"} == live_others
    assert [(a["action"], a["reason"]) for a in actions if a["action"] == "unresolved"] == [
        ("unresolved", "course NO-SUCH-COURSE not found in Canvas")
    ]
    assert "teacher" not in {a["type"] for a in actions if a["action"] == "conclude"}


def test_bad_desired_input_is_refused_with_line_numbers(
    dlt_dir: Path, sb: CanvasSandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    path = dlt_dir / "bad.csv"
    path.write_text(
        "sis_course_id,sis_user_id,role,status\n"
        "C1,U1,student,active\n"
        "C1,,student,active\n"
        "C1,U2,wizard,active\n"
        "C1,U3,student,graduated\n"
        "C1,U1,student,active\n"
    )
    sb.reset_stats()
    assert run_tool(sb, "--desired", path) == enrollment_sync.EXIT_BAD_INPUT
    out = capsys.readouterr().out
    assert "bad.csv:3: missing sis_user_id" in out
    assert "bad.csv:4: role 'wizard' is not one of student, teacher, ta, observer, designer" in out
    assert (
        "bad.csv:5: status 'graduated' is not one of active, completed, concluded, inactive, deleted" in out
    )
    assert "bad.csv:6: duplicate of line 2" in out
    assert sb.stats.requests == 0


def test_apply_under_a_strict_throttle_never_fails_on_throttling(dlt_dir: Path, sb: CanvasSandbox) -> None:
    sb.set_throttle("strict")
    rows = sb.truth_rows("enrollments")
    course = next(
        c for c in sb.truth_rows("courses") if c["workflow_state"] == "available" and c["sis_course_id"]
    )
    enrolled = {r["sis_user_id"] for r in rows if r["course_id"] == course["id"]}
    newcomers = sorted({u["sis_user_id"] for u in sb.truth_rows("users") if u["sis_user_id"]} - enrolled)[:12]
    path = dlt_dir / "many.csv"
    path.write_text(
        "sis_course_id,sis_user_id,role,status\n"
        + "".join(f"{course['sis_course_id']},{u},observer,active\n" for u in newcomers)
    )
    assert run_tool(sb, "--desired", path, "--apply", "--concurrency", "8", "--no-load") == 0
    observers = {
        r["sis_user_id"]
        for r in sb.truth_rows("enrollments")
        if r["course_id"] == course["id"] and r["type"] == "ObserverEnrollment"
    }
    assert set(newcomers) <= observers
