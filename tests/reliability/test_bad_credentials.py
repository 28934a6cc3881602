"""Bad credentials end a run with one clear line after at most one retry; a course the token may not read
is skipped and reported, or fails the run with --strict; the run report says which."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest

from pipelines import brightspace_pipeline, canvas_pipeline
from sandbox.brightspace import BrightspaceSandbox
from sandbox.canvas import CanvasSandbox

CANVAS_SUBSET = "courses,sections,enrollments"


@pytest.fixture(scope="module")
def canvas() -> Iterator[CanvasSandbox]:
    with CanvasSandbox(size="small", seed=7, throttle="off") as sb:
        yield sb


@pytest.fixture(scope="module")
def brightspace() -> Iterator[BrightspaceSandbox]:
    with BrightspaceSandbox(size="small", seed=11, throttle="off", job_step_seconds=0.0) as sb:
        yield sb


def _canvas_env(monkeypatch: pytest.MonkeyPatch, sb: CanvasSandbox, token: str) -> None:
    monkeypatch.setenv("SOURCES__CANVAS__BASE_URL", sb.base_url)
    monkeypatch.setenv("SOURCES__CANVAS__ACCESS_TOKEN", token)


def _brightspace_env(
    monkeypatch: pytest.MonkeyPatch, sb: BrightspaceSandbox, tmp: Path, secret: str, refresh: str
) -> None:
    monkeypatch.setenv("SOURCES__BRIGHTSPACE__BASE_URL", sb.base_url)
    monkeypatch.setenv("SOURCES__BRIGHTSPACE__CLIENT_ID", sb.client_id)
    monkeypatch.setenv("SOURCES__BRIGHTSPACE__CLIENT_SECRET", secret)
    monkeypatch.setenv("SOURCES__BRIGHTSPACE__REFRESH_TOKEN", refresh)
    monkeypatch.setenv("SOURCES__BRIGHTSPACE__TOKEN_URL", sb.token_url)
    monkeypatch.setenv("SOURCES__BRIGHTSPACE__REFRESH_TOKEN_FILE", str(tmp / "brightspace_refresh.token"))


def _error_lines(err: str) -> list[str]:
    return [line for line in err.splitlines() if line.startswith("error:")]


def _report(db: Path, dataset: str) -> dict[str, Any]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        cur = con.execute(f"select * from {dataset}.run_reports")
        names = [d[0] for d in cur.description]
        rows = [dict(zip(names, row, strict=True)) for row in cur.fetchall()]
        assert len(rows) == 1, rows
        report = rows[0]
        report["skipped_rows"] = (
            sorted(
                con.execute(
                    f"select resource, scope, scope_id from {dataset}.run_reports__skipped"
                ).fetchall()
            )
            if report["skipped_scopes"]
            else []
        )
        return report
    finally:
        con.close()


def test_wrong_canvas_token_fails_at_once_with_one_clear_line(
    dlt_dir: Path, canvas: CanvasSandbox, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    token = "7~" + "x" * 64
    _canvas_env(monkeypatch, canvas, token)
    canvas.reset_stats()
    assert canvas_pipeline.main(["--no-transform", "--resources", CANVAS_SUBSET]) == 1
    out, err = capsys.readouterr()
    stats = canvas.stats
    # one request rejected, no retry storm (at most one retry allowed)
    assert stats.requests == stats.by_status[401] <= 2
    lines = _error_lines(err)
    assert len(lines) == 1 and "[sources.canvas] access_token" in lines[0], err
    assert "Traceback" not in err and token not in out + err
    report = _report(dlt_dir / "canvas_pipeline.duckdb", "canvas")
    assert report["status"] == "failed" and report["error_class"] == "LmsAuthError"
    assert "access_token" in report["error_message"] and token not in report["error_message"]
    assert report["requests"] == stats.requests and report["rows_loaded"] == 0


def test_a_canvas_token_pasted_with_line_breaks_is_trimmed_or_named_never_quoted(
    dlt_dir: Path, canvas: CanvasSandbox, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The HTTP library's own error for a header with a line break quotes the whole header, token
    included: a token with one around it is trimmed and works, one inside it is named, not quoted."""
    _canvas_env(monkeypatch, canvas, f"{canvas.admin_token}\n")
    assert canvas_pipeline.main(["--no-transform", "--resources", "courses"]) == 0
    capsys.readouterr()
    broken = f"{canvas.admin_token[:6]}\n{canvas.admin_token[6:]}"
    _canvas_env(monkeypatch, canvas, broken)
    canvas.reset_stats()
    assert canvas_pipeline.main(["--no-transform", "--resources", "courses", "--dataset", "broken"]) == 1
    out, err = capsys.readouterr()
    lines = _error_lines(err)
    assert len(lines) == 1 and "[sources.canvas] access_token" in lines[0] and "line break" in lines[0], err
    assert "Traceback" not in err
    assert canvas.admin_token[6:] not in out + err and canvas.admin_token[:6] + "\\n" not in out + err
    assert canvas.stats.requests == 0


@pytest.mark.parametrize("wrong", ["client_secret", "refresh_token"])
def test_wrong_brightspace_secret_fails_at_once_with_one_clear_line(
    wrong: str,
    dlt_dir: Path,
    brightspace: BrightspaceSandbox,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    secret = "wrong-secret-" + "s" * 30 if wrong == "client_secret" else brightspace.client_secret
    refresh = "rt.wrong-" + "r" * 40 if wrong == "refresh_token" else brightspace.issue_refresh_token()
    _brightspace_env(monkeypatch, brightspace, dlt_dir, secret, refresh)
    brightspace.reset_stats()
    assert brightspace_pipeline.main(["--no-transform"]) == 1
    out, err = capsys.readouterr()
    stats = brightspace.stats
    # the token endpoint said no once; no API call went out, nothing was retried
    assert stats["requests"] == stats["token_requests"] <= 2
    assert stats["refreshes_rejected"] == (1 if wrong == "refresh_token" else 0)
    lines = _error_lines(err)
    assert len(lines) == 1 and wrong in lines[0], err
    where = "client_id and client_secret" if wrong == "client_secret" else "refresh_token"
    assert f"[sources.brightspace] {where} in .dlt/secrets.toml" in lines[0], err  # names where to fix it
    assert "Traceback" not in err
    for value in (secret, refresh, brightspace.client_secret):
        assert value not in out + err
    report = _report(dlt_dir / "brightspace_pipeline.duckdb", "brightspace")
    assert report["status"] == "failed" and report["error_class"] == "OAuthRefreshError"
    assert wrong in report["error_message"]
    assert secret not in report["error_message"] and refresh not in report["error_message"]


def _forbidden_course(sb: CanvasSandbox) -> int:
    counts: dict[int, int] = {}
    for row in sb.truth_rows("enrollments"):
        counts[row["course_id"]] = counts.get(row["course_id"], 0) + 1
    return max(counts, key=lambda c: (counts[c], -c))


def test_a_course_without_permission_is_skipped_and_reported(
    dlt_dir: Path, canvas: CanvasSandbox, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    course = _forbidden_course(canvas)
    _canvas_env(monkeypatch, canvas, canvas.admin_token)
    canvas.reset_stats()
    canvas.forbidden_courses = {course}
    try:
        assert canvas_pipeline.main(["--no-transform", "--resources", CANVAS_SUBSET]) == 0
    finally:
        canvas.forbidden_courses = set()
    out, err = capsys.readouterr()
    stats = canvas.stats
    assert stats.by_status[401] == 2  # sections and enrollments of that course, each asked once
    assert "skipped 2 scope(s)" in out and f"enrollments of course {course}" in out
    con = duckdb.connect(str(dlt_dir / "canvas_pipeline.duckdb"), read_only=True)
    expected = sum(1 for r in canvas.truth_rows("enrollments") if r["course_id"] != course)
    assert con.execute("select count(*) from canvas.enrollments").fetchone()[0] == expected  # type: ignore[index]
    assert con.execute(
        "select count(*) from canvas.enrollments where course_id = ?", [course]
    ).fetchone() == (0,)
    assert con.execute("select count(*) from canvas.courses").fetchone() == (canvas.truth()["courses"],)
    con.close()
    report = _report(dlt_dir / "canvas_pipeline.duckdb", "canvas")
    assert report["status"] == "succeeded" and report["strict"] is False
    assert report["skipped_scopes"] == 2
    assert report["skipped_rows"] == [
        ("enrollments", "course_id", str(course)),
        ("sections", "course_id", str(course)),
    ]
    assert report["requests"] == stats.requests


def test_strict_mode_fails_the_run_on_a_course_without_permission(
    dlt_dir: Path, canvas: CanvasSandbox, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    course = _forbidden_course(canvas)
    _canvas_env(monkeypatch, canvas, canvas.admin_token)
    canvas.reset_stats()
    canvas.forbidden_courses = {course}
    try:
        assert canvas_pipeline.main(["--no-transform", "--resources", CANVAS_SUBSET, "--strict"]) == 1
    finally:
        canvas.forbidden_courses = set()
    out, err = capsys.readouterr()
    lines = _error_lines(err)
    assert len(lines) == 1 and f"/courses/{course}/" in lines[0] and "--strict is on" in lines[0], err
    assert canvas.stats.by_status[401] <= 2  # the refusal is not retried
    report = _report(dlt_dir / "canvas_pipeline.duckdb", "canvas")
    assert report["status"] == "failed" and report["strict"] is True
    assert report["error_class"] == "LmsPermissionError" and f"/courses/{course}/" in report["error_message"]
    # nothing of the failed run reached the warehouse
    con = duckdb.connect(str(dlt_dir / "canvas_pipeline.duckdb"), read_only=True)
    tables = {r[0] for r in con.execute("select table_name from information_schema.tables").fetchall()}
    con.close()
    assert "enrollments" not in tables and "courses" not in tables
