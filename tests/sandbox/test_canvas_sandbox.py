"""The Canvas sandbox itself: data, paging, auth, throttle, grades and advance() match real Canvas rules."""

from __future__ import annotations

import base64
import http.client
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from fractions import Fraction
from itertools import combinations
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from sandbox.canvas import CanvasSandbox, ThrottleSettings
from sandbox.canvas.grades import AssignmentFacts, GroupFacts, WorkFacts, course_scores, drop_assignments
from sandbox.canvas.pagination import decode_bookmark
from sandbox.canvas.throttle import RequestThrottle, throttled_reply
from sandbox.canvas.tokens import TokenStore
from tests.sandbox.cli import printed, serving

TABLES = [
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
ALL_ENROLLMENT_STATES = ["active", "invited", "inactive", "completed", "deleted", "rejected"]


class FakeClock:
    """A clock tests move by hand."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def sb() -> Iterator[CanvasSandbox]:
    """A small sandbox shared by read-only tests (throttle off so paging tests never wait)."""
    with CanvasSandbox(size="small", seed=7, throttle="off") as sandbox:
        yield sandbox


def session_for(token: str) -> requests.Session:
    s = requests.Session()
    s.headers["Authorization"] = f"Bearer {token}"
    return s


def api(sb: CanvasSandbox, path: str) -> str:
    return f"{sb.base_url}/api/v1{path}"


def fetch_all(
    s: requests.Session, url: str, params: dict[str, Any] | None = None, root: str | None = None
) -> tuple[list[dict[str, Any]], list[requests.Response]]:
    """Follow rel="next" to the end; returns all rows and every response."""
    rows: list[dict[str, Any]] = []
    responses = []
    next_url: str | None = url
    first = True
    while next_url:
        r = s.get(next_url, params=params if first else None)
        first = False
        assert r.status_code == 200, (r.status_code, r.text)
        responses.append(r)
        data = r.json()
        rows.extend(data[root] if root else data)
        next_url = r.links.get("next", {}).get("url")
    return rows, responses


def extract(sb: CanvasSandbox, per_page: int) -> dict[str, list[dict[str, Any]]]:
    """Everything a complete admin extract gets, by paging every endpoint through its link headers."""
    s = session_for(sb.admin_token)
    pp = {"per_page": per_page}
    root = sb.root_account_id
    out: dict[str, list[dict[str, Any]]] = {}
    accounts, _ = fetch_all(s, api(sb, "/accounts"), pp)
    subs, _ = fetch_all(s, api(sb, f"/accounts/{root}/sub_accounts"), {**pp, "recursive": "true"})
    out["accounts"] = accounts + subs
    out["terms"], _ = fetch_all(
        s, api(sb, f"/accounts/{root}/terms"), {**pp, "workflow_state[]": "all"}, root="enrollment_terms"
    )
    out["courses"], _ = fetch_all(s, api(sb, f"/accounts/{root}/courses"), {**pp, "state[]": "all"})
    out["users"], _ = fetch_all(s, api(sb, f"/accounts/{root}/users"), pp)
    for table in ("sections", "enrollments", "assignment_groups", "assignments", "submissions"):
        out[table] = []
    for course in out["courses"]:
        cid = course["id"]
        out["sections"] += fetch_all(s, api(sb, f"/courses/{cid}/sections"), pp)[0]
        out["enrollments"] += fetch_all(
            s, api(sb, f"/courses/{cid}/enrollments"), {**pp, "state[]": ALL_ENROLLMENT_STATES}
        )[0]
        out["assignment_groups"] += fetch_all(s, api(sb, f"/courses/{cid}/assignment_groups"), pp)[0]
        out["assignments"] += fetch_all(s, api(sb, f"/courses/{cid}/assignments"), pp)[0]
        rows, _ = fetch_all(
            s, api(sb, f"/courses/{cid}/students/submissions"), {**pp, "student_ids[]": "all"}
        )
        assert all("course_id" not in r for r in rows)  # the real Submission object has no course_id
        out["submissions"] += [{**r, "course_id": cid} for r in rows]
    return out


def key_of(table: str, row: dict[str, Any]) -> tuple[Any, ...]:
    if table == "submissions":
        return (row["course_id"], row["assignment_id"], row["user_id"])
    return (row["id"],)


# ---- the institution ---------------------------------------------------------------------------


def test_same_seed_same_data_and_another_seed_differs() -> None:
    a, b, c = CanvasSandbox(seed=7), CanvasSandbox(seed=7), CanvasSandbox(seed=8)
    assert a.admin_token == b.admin_token != c.admin_token
    assert a.admin_token.startswith("7~") and len(a.admin_token) == 66
    for table in TABLES:
        assert a.truth_rows(table) == b.truth_rows(table), table
    assert a.truth_rows("submissions") != c.truth_rows("submissions")
    assert a.truth_rows("users") != c.truth_rows("users")


def test_small_institution_shape() -> None:
    sb = CanvasSandbox(size="small", seed=7)
    t = sb.truth()
    assert t["accounts"] == 3 and t["terms"] == 4
    assert 10 <= t["courses"] <= 14
    assert 1_500 <= t["submissions"] <= 3_000
    users = sb.truth_rows("users")
    students = {r["user_id"] for r in sb.truth_rows("enrollments") if r["type"] == "StudentEnrollment"}
    teachers = {r["user_id"] for r in sb.truth_rows("enrollments") if r["type"] == "TeacherEnrollment"}
    assert 120 <= len(students) <= 180 and 8 <= len(teachers) <= 15
    assert any(u["sis_user_id"] is None for u in users)
    assert all(u["sis_user_id"] is None or u["sis_user_id"][0] in "STE" for u in users)
    enrollments = sb.truth_rows("enrollments")
    assert {e["type"] for e in enrollments} >= {
        "StudentEnrollment",
        "TeacherEnrollment",
        "ObserverEnrollment",
    }
    assert {e["enrollment_state"] for e in enrollments} >= {
        "active",
        "invited",
        "inactive",
        "completed",
        "deleted",
    }
    subs = sb.truth_rows("submissions")
    assert {s["workflow_state"] for s in subs} == {"graded", "submitted", "unsubmitted", "pending_review"}
    assert any(s["late"] and s["points_deducted"] for s in subs)
    assert any(s["missing"] for s in subs) and any(s["excused"] for s in subs)
    assert any(s["score"] is not None and s["posted_at"] is None for s in subs)  # graded but hidden
    assignments = {a["id"]: a for a in sb.truth_rows("assignments")}
    assert any(not a["published"] for a in assignments.values())
    assert any(
        a["name"] == "Roll Call Attendance" and a["grading_type"] == "percent" for a in assignments.values()
    )
    assert any(
        s["score"] is not None and s["score"] > assignments[s["assignment_id"]]["points_possible"]
        for s in subs
    )
    assert all(assignments[s["assignment_id"]]["published"] for s in subs)
    assert any(a["omit_from_final_grade"] for a in assignments.values())
    assert any(a["points_possible"] == 0 for a in assignments.values())  # extra credit
    courses = sb.truth_rows("courses")
    assert {c["workflow_state"] for c in courses} == {"unpublished", "available", "completed"}
    assert {c["apply_assignment_group_weights"] for c in courses} == {True, False}
    assert any(c["sis_course_id"] is None for c in courses)
    groups = sb.truth_rows("assignment_groups")
    assert any(g["rules"].get("drop_lowest") for g in groups)
    weights: dict[int, float] = defaultdict(float)
    for course_id, g in (
        (a["course_id"], g)
        for g in groups
        for a in assignments.values()
        if a["assignment_group_id"] == g["id"] and a["position"] == 1
    ):
        weights[course_id] += g["group_weight"]
    weighted = {c["id"] for c in courses if c["apply_assignment_group_weights"]}
    assert any(weights[c] != 100 for c in weighted) and any(weights[c] == 100 for c in weighted)
    # every time is ISO-8601 UTC at whole seconds
    assert all(
        s["submitted_at"] is None or (len(s["submitted_at"]) == 20 and s["submitted_at"][-1] == "Z")
        for s in subs
    )


def test_medium_institution_is_about_the_target_size() -> None:
    t0 = time.perf_counter()
    sb = CanvasSandbox(size="medium", seed=7)
    assert time.perf_counter() - t0 < 10
    t = sb.truth()
    students = {
        e.user.id for c in sb.institution.courses for e in c.enrollments if e.type == "StudentEnrollment"
    }
    assert 160 <= t["courses"] <= 240
    assert 4_000 <= len(students) <= 6_000
    assert 80_000 <= t["submissions"] <= 120_000


# ---- paging every endpoint ---------------------------------------------------------------------


@pytest.mark.parametrize("per_page", [100, 7])
def test_paging_every_endpoint_gives_exactly_the_truth(sb: CanvasSandbox, per_page: int) -> None:
    got = extract(sb, per_page)
    truth = sb.truth()
    for table in TABLES:
        keys = [key_of(table, r) for r in got[table]]
        assert len(keys) == len(set(keys)), f"duplicate rows in {table}"
        assert len(keys) == truth[table], table
        assert set(keys) == sb.truth_keys(table), table
        by_key = {key_of(table, r): r for r in sb.truth_rows(table)}
        assert all(r == by_key[key_of(table, r)] for r in got[table]), (
            f"{table}: a served row differs from truth"
        )


def test_per_page_is_clamped_silently(sb: CanvasSandbox) -> None:
    s = session_for(sb.admin_token)
    url = api(sb, f"/accounts/{sb.root_account_id}/users")
    r = s.get(url, params={"per_page": 1000})
    assert r.status_code == 200 and len(r.json()) == 100
    assert parse_qs(urlsplit(r.links["next"]["url"]).query)["per_page"] == ["100"]
    assert len(s.get(url).json()) == 10  # default
    assert len(s.get(url, params={"per_page": 0}).json()) == 1
    assert len(s.get(url, params={"per_page": "abc"}).json()) == 1  # Ruby to_i -> 0 -> clamped to 1


def test_header_names_are_lower_case_on_the_wire(sb: CanvasSandbox) -> None:
    host, port = urlsplit(sb.base_url).hostname, urlsplit(sb.base_url).port
    conn = http.client.HTTPConnection(host, port, timeout=5)
    conn.request(
        "GET",
        f"/api/v1/accounts/{sb.root_account_id}/users?per_page=2",
        headers={"Authorization": f"Bearer {sb.admin_token}"},
    )
    resp = conn.getresponse()
    names = [name for name, _ in resp.getheaders()]
    resp.read()
    conn.close()
    for expected in ("link", "x-request-cost", "x-rate-limit-remaining", "content-type", "content-length"):
        assert expected in names, names
    # everything the app sets is lower-case (Server/Date/Connection come from the werkzeug server layer)
    assert not [
        n for n in names if n.lower() in ("link", "content-type", "content-length") and n != n.lower()
    ]
    assert not [n for n in names if n.lower().startswith("x-") and n != n.lower()]


def test_links_are_absolute_ordered_and_carry_the_query(sb: CanvasSandbox) -> None:
    s = requests.Session()  # token in the query string this time
    r = s.get(
        api(sb, f"/accounts/{sb.root_account_id}/courses"),
        params={"access_token": sb.admin_token, "state[]": "all", "per_page": 3, "page": 2},
    )
    assert r.status_code == 200
    link = r.headers["link"]
    rels = [part.split('rel="')[1].rstrip('"') for part in link.split(",")]
    assert rels == ["current", "next", "prev", "first"]  # no "last": account courses have no total
    for rel in rels:
        url = r.links[rel]["url"]
        assert url.startswith(sb.base_url + "/api/v1/accounts/")
        q = parse_qs(urlsplit(url).query)
        assert q["state[]"] == ["all"] and q["per_page"] == ["3"] and "access_token" not in q
    assert parse_qs(urlsplit(r.links["next"]["url"]).query)["page"] == ["3"]
    # numbered pages past the end are empty, not 404
    past = s.get(
        api(sb, f"/courses/{sb.truth_rows('courses')[0]['id']}/sections"),
        params={"access_token": sb.admin_token, "page": 50},
    )
    assert past.status_code == 200 and past.json() == []


def test_rel_last_only_where_canvas_sends_it(sb: CanvasSandbox) -> None:
    s = session_for(sb.admin_token)
    root = sb.root_account_id
    course = sb.truth_rows("courses")[0]["id"]
    no_last = [
        (f"/accounts/{root}/courses", {}),
        (f"/accounts/{root}/users", {}),
        (f"/accounts/{root}/sub_accounts", {"recursive": "true"}),
        (f"/courses/{course}/enrollments", {}),
        (f"/courses/{course}/students/submissions", {"student_ids[]": "all"}),
    ]
    for path, params in no_last:
        r = s.get(api(sb, path), params={**params, "per_page": 1})
        assert r.status_code == 200 and "last" not in r.links and "next" in r.links, path
    for path in (
        f"/courses/{course}/assignments",
        f"/courses/{course}/assignment_groups",
        f"/accounts/{root}/terms",
    ):
        r = s.get(api(sb, path), params={"per_page": 1})
        assert "last" in r.links, path


@pytest.mark.parametrize("path", ["enrollments", "students/submissions"])
def test_bookmark_pages(sb: CanvasSandbox, path: str) -> None:
    s = session_for(sb.admin_token)
    course = sb.truth_rows("courses")[0]["id"]
    url = api(sb, f"/courses/{course}/{path}")
    params = {"per_page": 5, "student_ids[]": "all"}
    first = s.get(url, params=params)
    assert parse_qs(urlsplit(first.links["current"]["url"]).query)["page"] == ["first"]
    page = parse_qs(urlsplit(first.links["next"]["url"]).query)["page"][0]
    assert page.startswith("bookmark:")
    token = page[len("bookmark:") :]
    assert "=" not in token and json.loads(
        base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    ) == decode_bookmark(page)
    assert s.get(url, params={**params, "page": 2}).status_code == 404
    assert s.get(url, params={**params, "page": "bookmark:!!"}).status_code == 404
    assert s.get(url, params={**params, "page": 1}).json() == first.json()
    if path == "students/submissions":
        with_id = s.get(url, params={**params, "order": "id"})
        assert parse_qs(urlsplit(with_id.links["next"]["url"]).query)["page"][0].startswith("bookmark:")


def test_enrollment_state_defaults_and_filters(sb: CanvasSandbox) -> None:
    s = session_for(sb.admin_token)
    by_course: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for e in sb.truth_rows("enrollments"):
        by_course[e["course_id"]].append(e)
    course = max(by_course, key=lambda c: len({e["enrollment_state"] for e in by_course[c]}))
    default, _ = fetch_all(s, api(sb, f"/courses/{course}/enrollments"), {"per_page": 100})
    assert {e["id"] for e in default} == {
        e["id"] for e in by_course[course] if e["enrollment_state"] in ("active", "invited", "inactive")
    }
    students, _ = fetch_all(
        s,
        api(sb, f"/courses/{course}/enrollments"),
        {"per_page": 100, "type[]": "StudentEnrollment", "state[]": ALL_ENROLLMENT_STATES},
    )
    assert {e["type"] for e in students} == {"StudentEnrollment"}
    assert all("grades" in e for e in students)
    section = students[0]["course_section_id"]
    in_section, _ = fetch_all(s, api(sb, f"/sections/{section}/enrollments"), {"per_page": 100})
    assert {e["course_section_id"] for e in in_section} == {section}
    assert all(e["enrollment_state"] in ("active", "invited") for e in in_section)


# ---- auth ------------------------------------------------------------------------------------


def test_invalid_revoked_and_unauthorised_tokens(sb: CanvasSandbox) -> None:
    url = api(sb, f"/accounts/{sb.root_account_id}/courses")
    bad = session_for("7~" + "x" * 64).get(url)
    assert bad.status_code == 401
    assert bad.headers["www-authenticate"] == 'Bearer realm="canvas-lms"'
    assert bad.json() == {"errors": [{"message": "Invalid access token."}]}
    none = requests.get(url)
    assert none.status_code == 401 and "www-authenticate" not in none.headers
    user_token = sb.issue_token(admin=False)
    denied = session_for(user_token).get(url)
    assert denied.status_code == 401 and "www-authenticate" not in denied.headers
    assert denied.json() == {
        "status": "unauthorized",
        "errors": [{"message": "user not authorized to perform that action"}],
    }
    assert session_for(user_token).get(api(sb, "/accounts")).json() == []
    token = sb.issue_token()
    assert session_for(token).get(url).status_code == 200
    sb.revoke_token(token)
    assert session_for(token).get(url).headers.get("www-authenticate")
    missing = session_for(sb.admin_token).get(api(sb, "/courses/1/nothing"))
    assert missing.status_code == 404
    assert missing.json() == {"errors": [{"message": "The specified resource does not exist."}]}
    assert session_for(sb.admin_token).get(api(sb, "/courses/999999")).status_code == 404


def test_forbidden_courses_answer_unauthorized(sb: CanvasSandbox) -> None:
    course = sb.truth_rows("courses")[1]
    s = session_for(sb.admin_token)
    sb.forbidden_courses = {course["id"]}
    try:
        for path in ("enrollments", "students/submissions", "assignments"):
            r = s.get(api(sb, f"/courses/{course['id']}/{path}"))
            assert r.status_code == 401 and "www-authenticate" not in r.headers
            assert r.json()["status"] == "unauthorized"
        assert s.get(api(sb, f"/courses/sis_course_id:{course['sis_course_id']}")).status_code == 401
    finally:
        sb.forbidden_courses = set()
    assert s.get(api(sb, f"/courses/sis_course_id:{course['sis_course_id']}")).json()["id"] == course["id"]


def test_token_expiry_with_an_injected_clock() -> None:
    clock = FakeClock()
    store = TokenStore(seed=7, clock=clock)
    token = store.issue(user_id=1, admin=True, ttl_seconds=3600)
    forever = store.issue(user_id=1, admin=True)
    assert store.lookup(token) is not None
    clock.now += 3599.9
    assert store.lookup(token) is not None
    clock.now += 0.1
    assert store.lookup(token) is None and store.lookup(forever) is not None


def test_token_ttl_over_http() -> None:
    with CanvasSandbox(size="small", seed=7, throttle="off") as sb:
        # issued after start, so the lifetime is not spent on building the institution
        token = sb.issue_token(ttl_seconds=0.5)
        url = api(sb, "/accounts")
        assert session_for(token).get(url).status_code == 200
        time.sleep(0.6)
        r = session_for(token).get(url)
        assert r.status_code == 401 and "www-authenticate" in r.headers


# ---- students/submissions parameters -----------------------------------------------------------


def busiest_course(sb: CanvasSandbox) -> int:
    counts: dict[int, int] = defaultdict(int)
    for r in sb.truth_rows("submissions"):
        if r["submitted_at"]:
            counts[r["course_id"]] += 1
    return max(counts, key=counts.__getitem__)


def test_submitted_since_and_graded_since_are_strict(sb: CanvasSandbox) -> None:
    s = session_for(sb.admin_token)
    course = busiest_course(sb)
    rows = [r for r in sb.truth_rows("submissions") if r["course_id"] == course]
    url = api(sb, f"/courses/{course}/students/submissions")
    for field in ("submitted_at", "graded_at"):
        stamps = sorted(r[field] for r in rows if r[field])
        cut = stamps[len(stamps) // 2]
        got, _ = fetch_all(
            s, url, {"student_ids[]": "all", "per_page": 100, field.replace("_at", "_since"): cut}
        )
        expected = {r["id"] for r in rows if r[field] is not None and r[field] > cut}
        assert {r["id"] for r in got} == expected
        assert all(r[field] != cut for r in got)  # equal times are excluded: the filter is strictly >
    for bad in ("2026-10-01", "2026-10-01T00:00:00+00:00", "2026-10-01T00:00:00.000Z", "yesterday"):
        r = s.get(url, params={"student_ids[]": "all", "submitted_since": bad})
        assert r.status_code == 400
        assert r.json() == {"errors": {"submitted_since": "Invalid datetime for submitted_since"}}
    r = s.get(url, params={"student_ids[]": "all", "graded_since": "nope"})
    assert r.json() == {"errors": {"graded_since": "Invalid datetime for graded_since"}}


def test_submission_filters_orders_and_errors(sb: CanvasSandbox) -> None:
    s = session_for(sb.admin_token)
    course = busiest_course(sb)
    rows = [r for r in sb.truth_rows("submissions") if r["course_id"] == course]
    url = api(sb, f"/courses/{course}/students/submissions")
    assert s.get(url, params={"student_ids[]": [str(i) for i in range(1, 102)]}).json() == {
        "error": "too many students"
    }
    r = s.get(url, params={"student_ids[]": "all", "assignment_ids[]": ["999999"]})
    assert r.status_code == 403 and r.json() == {"error": "invalid assignment ids requested"}
    assert s.get(url).json() == []  # student_ids omitted: the caller's own submissions (an admin has none)
    student = rows[0]["user_id"]
    mine, _ = fetch_all(s, url, {"student_ids[]": str(student), "per_page": 100, "include[]": "user"})
    assert {r["user_id"] for r in mine} == {student} and mine[0]["user"]["id"] == student
    graded, _ = fetch_all(s, url, {"student_ids[]": "all", "workflow_state": "graded", "per_page": 100})
    assert {r["id"] for r in graded} == {r["id"] for r in rows if r["workflow_state"] == "graded"}
    by_id, _ = fetch_all(s, url, {"student_ids[]": "all", "order": "id", "per_page": 9})
    assert [r["id"] for r in by_id] == sorted(r["id"] for r in rows)
    default, _ = fetch_all(s, url, {"student_ids[]": "all", "per_page": 9})
    assert [(r["assignment_id"], r["user_id"]) for r in default] == sorted(
        (r["assignment_id"], r["user_id"]) for r in rows
    )
    for direction in ("ascending", "descending"):
        by_graded, _ = fetch_all(
            s,
            url,
            {"student_ids[]": "all", "order": "graded_at", "order_direction": direction, "per_page": 9},
        )
        assert len(by_graded) == len(rows)
        stamps = [r["graded_at"] for r in by_graded if r["graded_at"]]
        assert stamps == sorted(stamps, reverse=direction == "descending")
    section = sb.truth_rows("sections")[0]["id"]
    assert (
        s.get(
            api(sb, f"/sections/{section}/students/submissions"), params={"student_ids[]": "all"}
        ).status_code
        == 200
    )


# ---- throttle ----------------------------------------------------------------------------------


def test_bucket_leaks_and_charges_cost_after_the_up_front_reservation() -> None:
    clock = FakeClock()
    t = RequestThrottle(ThrottleSettings(), clock=clock)
    res = t.admit("a")
    assert res is not None and t.count("a") == pytest.approx(50.0)  # reserved before the request runs
    remaining = t.finish(res, cost=1.5)
    assert t.count("a") == pytest.approx(1.5) and remaining == pytest.approx(598.5)
    clock.now += 0.1
    assert t.count("a") == pytest.approx(0.5)  # leaked 10/s
    clock.now += 10
    assert t.count("a") == 0.0  # floored at zero
    assert ThrottleSettings().cost(10) == pytest.approx(0.2) and ThrottleSettings().cost(
        100
    ) == pytest.approx(1.1)


def test_bucket_refuses_at_the_high_water_mark_and_caps_at_maximum() -> None:
    clock = FakeClock()
    t = RequestThrottle(ThrottleSettings(), clock=clock)
    held = [t.admit("a") for _ in range(12)]  # 12 in-flight requests reserve 600 = hwm
    assert all(held) and t.count("a") == pytest.approx(600.0)
    assert t.admit("a") is None  # count >= hwm: throttled
    assert t.admit("b") is not None  # buckets are per token
    clock.now += 0.1  # leaks 1 unit: under the hwm again
    extra = t.admit("a")
    assert extra is not None and t.count("a") == pytest.approx(649.0)
    more = [t.admit("x") for _ in range(20)]
    assert sum(r is not None for r in more) == 12 and t.count("x") == pytest.approx(600.0)
    t.finish(held[0], cost=500.0)  # cost - up_front added, capped at maximum 800
    assert t.count("a") == pytest.approx(800.0)
    off = RequestThrottle(ThrottleSettings(enabled=False), clock=clock)
    assert all(off.admit("a") is not None for _ in range(50))


def test_throttled_reply_shapes() -> None:
    status, headers, body = throttled_reply(403)
    assert status == 403 and body == b"403 Forbidden (Rate Limit Exceeded)\n"
    assert dict(headers) == {"content-type": "text/plain; charset=utf-8", "x-rate-limit-remaining": "0.0"}
    status, headers, body = throttled_reply(429)
    assert status == 429 and b"Rate Limit Exceeded" in body and "retry-after" not in dict(headers)


@pytest.mark.parametrize("status", [403, 429])
def test_concurrent_burst_under_strict_is_throttled_without_retry_after(status: int) -> None:
    with CanvasSandbox(size="small", seed=7, throttle="strict", throttle_status=status, latency=0.2) as sb:
        url = api(sb, f"/accounts/{sb.root_account_id}/courses")
        results: list[requests.Response] = []
        lock = threading.Lock()

        def hit() -> None:
            r = requests.get(url, headers={"Authorization": f"Bearer {sb.admin_token}"})
            with lock:
                results.append(r)

        threads = [threading.Thread(target=hit) for _ in range(8)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        throttled = [r for r in results if r.status_code == status]
        ok = [r for r in results if r.status_code == 200]
        assert throttled and ok and len(throttled) + len(ok) == 8
        for r in throttled:
            assert "Rate Limit Exceeded" in r.text and r.text.endswith("\n")
            assert r.headers["content-type"] == "text/plain; charset=utf-8"
            assert r.headers["x-rate-limit-remaining"] == "0.0"
            assert "retry-after" not in r.headers and "x-request-cost" not in r.headers
        for r in ok:
            assert float(r.headers["x-request-cost"]) > 0 and "x-rate-limit-remaining" in r.headers
        stats = sb.stats
        assert stats["throttled"] == stats.throttled == len(throttled)
        assert stats.by_status == {200: len(ok), status: len(throttled)}
        assert stats.by_route == {"/api/v1/accounts/:account_id/courses": 8}
        sb.reset_stats()
        assert sb.stats.requests == 0


def test_set_throttle_at_runtime() -> None:
    with CanvasSandbox(size="small", seed=7, throttle="off") as sb:
        # no leak: each /accounts reply costs 0.11, so the fourth request finds the bucket over 0.25
        sb.set_throttle(ThrottleSettings(hwm=0.25, maximum=100, outflow=0.0, up_front_cost=1), status=429)
        s = session_for(sb.admin_token)
        codes = [s.get(api(sb, "/accounts")).status_code for _ in range(4)]
        assert codes == [200, 200, 200, 429]
        sb.set_throttle("off")
        assert s.get(api(sb, "/accounts")).status_code == 200


# ---- grades ------------------------------------------------------------------------------------

# docs/grade-calculation.md A.9: Homework (30, drop lowest 1), Exams (50), Labs (20)
A9_GROUPS = [GroupFacts(1, 30, drop_lowest=1), GroupFacts(2, 50), GroupFacts(3, 20)]
A9_ASSIGNMENTS = [
    AssignmentFacts(11, 1, 10),
    AssignmentFacts(12, 1, 10),
    AssignmentFacts(13, 1, 10),
    AssignmentFacts(14, 1, 10),
    AssignmentFacts(21, 2, 50),
    AssignmentFacts(22, 2, 100),
    AssignmentFacts(31, 3, 20),
]
A9_WORK = {
    11: WorkFacts(8),
    12: WorkFacts(5),
    13: WorkFacts(None),
    14: WorkFacts(None, excused=True),
    21: WorkFacts(45),
    22: WorkFacts(None),
    31: WorkFacts(None),
}


def test_worked_example_a9_weighted_and_points() -> None:
    weighted = course_scores(A9_GROUPS, A9_ASSIGNMENTS, A9_WORK, weighted=True)
    assert (weighted.current_score, weighted.final_score) == (86.25, 34.50)
    points = course_scores(A9_GROUPS, A9_ASSIGNMENTS, A9_WORK, weighted=False)
    assert (points.current_score, points.final_score) == (88.33, 30.53)
    assert (points.unposted_current_score, points.unposted_final_score) == (88.33, 30.53)


def test_worked_example_a4_best_subset_drop() -> None:
    # A 9/10, B 80/100, C 0/1 with drop_lowest 1: Canvas keeps A+C (81.82%) and drops B, not C.
    rows = [(1, Fraction(9), Fraction(10)), (2, Fraction(80), Fraction(100)), (3, Fraction(0), Fraction(1))]
    kept = drop_assignments(rows, drop_lowest=1, drop_highest=0, never_drop=[])
    assert sorted(r[0] for r in kept) == [1, 3]
    assert sorted(r[0] for r in drop_assignments(rows, 1, 0, never_drop=[3])) == [
        1,
        3,
    ]  # B still the one dropped
    # ties keep the lower assignment id
    tie = [(5, Fraction(5), Fraction(10)), (6, Fraction(5), Fraction(10)), (7, Fraction(9), Fraction(10))]
    assert sorted(r[0] for r in drop_assignments(tie, 1, 0, [])) == [5, 7]
    assert sorted(r[0] for r in drop_assignments(tie, 0, 1, [])) == [5, 6]


def test_hidden_pending_and_concluded_rules() -> None:
    groups = [GroupFacts(1, 100)]
    assignments = [
        AssignmentFacts(1, 1, 10),
        AssignmentFacts(2, 1, 10),
        AssignmentFacts(3, 1, 10, omit_from_final_grade=True),
    ]
    hidden = {1: WorkFacts(10), 2: WorkFacts(6, posted=False), 3: WorkFacts(0)}
    s = course_scores(groups, assignments, hidden, weighted=False)
    assert (s.current_score, s.final_score) == (100.0, 50.0)  # hidden: ignored in current, 0 in final
    assert (s.unposted_current_score, s.unposted_final_score) == (80.0, 80.0)
    pending = {1: WorkFacts(10), 2: WorkFacts(4, pending_review=True)}
    s = course_scores(groups, assignments, pending, weighted=False)
    assert (s.current_score, s.final_score) == (100.0, 70.0)  # partial quiz score counts in final only
    concluded = {1: WorkFacts(10), 2: WorkFacts(None, posted=False)}
    s = course_scores(groups, assignments, concluded, weighted=False, concluded=True)
    assert s.final_score == 100.0  # concluded students: rows without a (visible) submission are dropped
    assert course_scores(groups, assignments, {}, weighted=True).current_score is None
    over = course_scores(
        [GroupFacts(1, 60), GroupFacts(2, 60)],
        [AssignmentFacts(1, 1, 10), AssignmentFacts(2, 2, 10)],
        {1: WorkFacts(10), 2: WorkFacts(5)},
        weighted=True,
    )
    assert over.current_score == 90.0  # weights over 100 are not scaled down


def _independent_score(
    groups: list[dict[str, Any]],
    assignments: list[dict[str, Any]],
    subs: dict[int, dict[str, Any]],
    weighted: bool,
    posted: bool,
    final: bool,
    concluded: bool,
) -> float | None:
    """docs/grade-calculation.md A.2-A.6 written again from the API rows, without the sandbox's calculator."""
    ratio_sum, weight_sum, total, possible_total = Fraction(0), Fraction(0), Fraction(0), Fraction(0)
    for g in groups:
        rows = []
        for a in assignments:
            if a["assignment_group_id"] != g["id"] or not a["published"]:
                continue
            s = subs.get(a["id"])
            if s is not None and posted and s["posted_at"] is None:
                s = None
            if s is not None and not final and s["workflow_state"] == "pending_review":
                s = None
            if concluded and s is None:
                continue
            score = None if s is None else s["score"]
            if score is None and not final:
                continue
            if (s is not None and s["excused"]) or a["omit_from_final_grade"]:
                continue
            rows.append((a["id"], Fraction(str(score or 0)), Fraction(str(a["points_possible"] or 0))))
        rules = g["rules"]
        low, high, never = (
            rules.get("drop_lowest", 0),
            rules.get("drop_highest", 0),
            set(rules.get("never_drop", [])),
        )
        if low or high:
            fixed = [r for r in rows if r[0] in never]
            cand = sorted((r for r in rows if r[0] not in never), key=lambda r: r[0])
            if cand:
                lo = min(low, len(cand) - 1)
                hi = 0 if lo + high >= len(cand) else high
                fs, fp = sum(r[1] for r in fixed), sum(r[2] for r in fixed)

                def pick(
                    pool: list[Any], k: int, best: bool, fs: Fraction = fs, fp: Fraction = fp
                ) -> list[Any]:
                    options = [list(c) for c in combinations(pool, k)]
                    ratio = [(fs + sum(r[1] for r in c)) / (fp + sum(r[2] for r in c)) for c in options]
                    target = max(ratio) if best else min(ratio)
                    return options[ratio.index(target)]

                keep = pick(cand, len(cand) - lo, True)
                rows = pick(keep, len(keep) - hi, False) + fixed
            else:
                rows = fixed
        score_sum, possible_sum = sum(r[1] for r in rows), sum(r[2] for r in rows)
        if weighted and possible_sum > 0:
            ratio_sum += score_sum / possible_sum * Fraction(str(g["group_weight"]))
            weight_sum += Fraction(str(g["group_weight"]))
        total += score_sum
        possible_total += possible_sum
    if weighted:
        if weight_sum == 0:
            return None
        value = ratio_sum * 100 / weight_sum if weight_sum < 100 else ratio_sum
    else:
        if possible_total <= 0:
            return None
        value = total / possible_total * 100
    scaled = value * 100
    return float(Fraction(int(scaled + Fraction(1, 2)), 100))


def _independent_period_total(scores: list[tuple[float | None, Any]], final: bool) -> float | None:
    """docs/grade-calculation.md A.7 written again: a weighted set's course score from its period scores."""
    total, weight = Fraction(0), Fraction(0)
    if not final and all(score is None for score, _ in scores):
        return None
    for score, w in scores:
        if score is None and not final:
            continue
        total += Fraction(str(score or 0)) * Fraction(str(w or 0)) / 100
        weight += Fraction(str(w or 0))
    if weight < 100:
        total = total * 100 / weight if weight else Fraction(0)
    return float(Fraction(int(total * 100 + Fraction(1, 2)), 100))


def test_served_grades_equal_an_independent_recomputation(sb: CanvasSandbox) -> None:
    s = session_for(sb.admin_token)
    checked = periods_checked = 0
    sets = s.get(api(sb, f"/accounts/{sb.root_account_id}/grading_period_sets")).json()["grading_period_sets"]
    set_of_term = {t: g for g in sets for t in g["enrollment_term_ids"]}
    for course in fetch_all(s, api(sb, f"/accounts/{sb.root_account_id}/courses"), {"per_page": 100})[0]:
        cid = course["id"]
        groups = fetch_all(s, api(sb, f"/courses/{cid}/assignment_groups"), {"per_page": 100})[0]
        assignments = fetch_all(s, api(sb, f"/courses/{cid}/assignments"), {"per_page": 100})[0]
        subs: dict[int, dict[int, dict[str, Any]]] = defaultdict(dict)
        for r in fetch_all(
            s, api(sb, f"/courses/{cid}/students/submissions"), {"per_page": 100, "student_ids[]": "all"}
        )[0]:
            subs[r["user_id"]][r["assignment_id"]] = r
        params = {"per_page": 100, "type[]": "StudentEnrollment", "state[]": ALL_ENROLLMENT_STATES}
        enrollments = fetch_all(s, api(sb, f"/courses/{cid}/enrollments"), params)[0]
        period_set = set_of_term.get(course["enrollment_term_id"])
        periods = period_set["grading_periods"] if period_set else []
        served_periods = {
            p["id"]: {
                e["id"]: e["grades"]
                for e in fetch_all(
                    s, api(sb, f"/courses/{cid}/enrollments"), params | {"grading_period_id": p["id"]}
                )[0]
            }
            for p in periods
        }
        weighted = course["apply_assignment_group_weights"]
        variants = (
            ("current_score", True, False),
            ("final_score", True, True),
            ("unposted_current_score", False, False),
            ("unposted_final_score", False, True),
        )
        for e in enrollments:
            g = e["grades"]
            if e["enrollment_state"] == "deleted":
                assert g["current_score"] is None and g["final_score"] is None
                continue
            concluded = e["enrollment_state"] == "completed"
            work = subs[e["user_id"]]
            period_scores: dict[str, list[tuple[float | None, Any]]] = defaultdict(list)
            for p in periods:
                # a period scores only its own assignments (A.2 6): those its submissions belong to
                in_period = [
                    a for a in assignments if work.get(a["id"], {}).get("grading_period_id") == p["id"]
                ]
                for name, posted, final in variants:
                    score = _independent_score(groups, in_period, work, weighted, posted, final, concluded)
                    assert served_periods[p["id"]][e["id"]][name] == score, (e["id"], p["id"], name)
                    period_scores[name].append((score, p["weight"]))
                periods_checked += 1
            for name, posted, final in variants:
                if period_set and period_set["weighted"]:
                    expected = _independent_period_total(period_scores[name], final)
                else:
                    expected = _independent_score(
                        groups, assignments, work, weighted, posted, final, concluded
                    )
                assert g[name] == expected, (e["id"], name)
            assert g["current_grade"] is None  # no course has a grading standard
            checked += 1
    assert checked > 150
    assert periods_checked > 0


# ---- advance() -----------------------------------------------------------------------------------


def test_advance_reports_exactly_what_changed() -> None:
    sb = CanvasSandbox(size="small", seed=7)
    latest = max(
        t
        for table in ("submissions", "enrollments", "assignments")
        for r in sb.truth_rows(table)
        for f in ("submitted_at", "graded_at", "posted_at", "updated_at", "created_at", "last_activity_at")
        if (t := r.get(f))
    )
    previous_clock = None
    for _ in range(3):
        before = {
            t: {key_of(t, r): r for r in sb.truth_rows(t)}
            for t in ("submissions", "enrollments", "assignments")
        }
        changes = sb.advance()
        after = {
            t: {key_of(t, r): r for r in sb.truth_rows(t)}
            for t in ("submissions", "enrollments", "assignments")
        }
        subs_b, subs_a = before["submissions"], after["submissions"]
        assert changes.removed_submissions == set(subs_b) - set(subs_a)
        assert changes.new_submissions == set(subs_a) - set(subs_b)
        assert changes.changed_submissions == {k for k, r in subs_a.items() if subs_b.get(k) != r}
        assert changes.regraded and changes.regraded <= changes.changed_submissions
        assert {k[1] for k in changes.new_submissions} == changes.new_assignments and len(
            changes.new_assignments
        ) == 1
        assert {
            k[0] for k in set(after["assignments"]) - set(before["assignments"])
        } == changes.new_assignments
        dropped = {
            k[0]
            for k, r in after["enrollments"].items()
            if r != before["enrollments"][k] and r["enrollment_state"] == "deleted"
        }
        assert dropped == changes.dropped_enrollments and len(dropped) == 1
        changed_enrollments = {k[0] for k, r in after["enrollments"].items() if r != before["enrollments"][k]}
        assert changed_enrollments == changes.changed_enrollments
        (dropped_id,) = dropped
        dropped_row = after["enrollments"][(dropped_id,)]
        assert not any(k[0] == dropped_row["course_id"] and k[2] == dropped_row["user_id"] for k in subs_a)
        assert {
            (dropped_row["course_id"], k[1], k[2]) for k in changes.removed_submissions
        } == changes.removed_submissions
        # every new time is a whole second after every earlier event and after the previous step
        clock = changes.clock.strftime("%Y-%m-%dT%H:%M:%SZ")
        new_times = [
            r[f]
            for k, r in subs_a.items()
            if k in changes.changed_submissions
            for f in ("submitted_at", "graded_at")
            if r[f] and r[f] != (subs_b.get(k) or {}).get(f)
        ]
        new_times += [dropped_row["updated_at"]] + [
            after["assignments"][(a,)]["created_at"] for a in changes.new_assignments
        ]
        assert new_times and all(latest < t <= clock for t in new_times)
        assert previous_clock is None or clock > previous_clock
        previous_clock = latest = clock
    assert sb.truth()["submissions"] == len(sb.truth_keys("submissions"))


def test_advance_is_deterministic() -> None:
    a, b = CanvasSandbox(seed=7), CanvasSandbox(seed=7)
    ca, cb = a.advance(), b.advance()
    assert ca == cb and a.truth_rows("submissions") == b.truth_rows("submissions")


# ---- canvasapi, the widely used client, works unchanged ------------------------------------------


def test_canvasapi_reads_courses_enrollments_and_submissions_as_truth(sb: CanvasSandbox) -> None:
    canvasapi = pytest.importorskip("canvasapi")
    canvas = canvasapi.Canvas(sb.base_url, sb.admin_token)
    account = canvas.get_account(sb.root_account_id)
    courses = list(account.get_courses(state=["all"]))
    assert {c.id for c in courses} == {k[0] for k in sb.truth_keys("courses")}
    assert len(list(account.get_enrollment_terms())) == sb.truth()["terms"]
    # canvasapi runs arrow.get() on every attribute of every object (~1 ms each), so a few courses
    # keep this test quick (the two smallest courses); the full extract is proved with requests above.
    enrollment_courses = {r["id"]: r["course_id"] for r in sb.truth_rows("enrollments")}
    per_course: dict[int, int] = defaultdict(int)
    for key in sb.truth_keys("submissions"):
        per_course[key[0]] += 1
    for course in sorted((c for c in courses if per_course[c.id]), key=lambda c: per_course[c.id])[:2]:
        enrollments = {e.id for e in course.get_enrollments(state=ALL_ENROLLMENT_STATES)}
        assert enrollments == {i for i, c in enrollment_courses.items() if c == course.id}
        submissions = {
            (course.id, s.assignment_id, s.user_id)
            for s in course.get_multiple_submissions(student_ids=["all"])
        }
        assert submissions == {k for k in sb.truth_keys("submissions") if k[0] == course.id}


@pytest.mark.parametrize("status", [403, 429])
def test_canvasapi_sees_the_throttle(status: int) -> None:
    canvasapi = pytest.importorskip("canvasapi")
    from canvasapi.exceptions import Forbidden, RateLimitExceeded

    with CanvasSandbox(size="small", seed=7, throttle="strict", throttle_status=status, latency=0.2) as sb:
        account = canvasapi.Canvas(sb.base_url, sb.admin_token).get_account(sb.root_account_id)
        errors: list[Exception] = []

        def hit() -> None:
            try:
                list(account.get_courses(per_page=5))
            except Exception as exc:  # noqa: BLE001 - collected and checked below
                errors.append(exc)

        threads = [threading.Thread(target=hit) for _ in range(8)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        assert errors
        # canvasapi < 3.5 maps a 403 whose body says "Rate Limit Exceeded" to RateLimitExceeded; from 3.5 on
        # RateLimitExceeded means 429 and a 403 is a plain Forbidden (whose message carries the body).
        version = tuple(int(p) for p in canvasapi.__version__.split(".")[:2])
        for err in errors:
            if status == 429 or version < (3, 5):
                assert isinstance(err, RateLimitExceeded)
            else:
                assert isinstance(err, Forbidden) and "Rate Limit Exceeded" in str(err)


# ---- CLI ---------------------------------------------------------------------------------------


def test_cli_prints_url_token_and_counts_and_stops_on_ctrl_c() -> None:
    command = [sys.executable, "-m", "sandbox.canvas", "--size", "small", "--seed", "7", "--port", "0"]
    with serving(command, ready="Ctrl-C") as lines:
        out = "".join(lines)
        base_url, token = printed(lines, "base URL:"), printed(lines, "admin token:")
        assert token == CanvasSandbox(seed=7).admin_token
        assert "submissions" in out
        r = requests.get(f"{base_url}/api/v1/accounts", headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 200


def test_cli_stops_on_a_ctrl_c_that_comes_while_it_starts() -> None:
    """Ctrl-C while the CLI still prints its truth counts stops it too (it used to hang).

    Unbuffered, the signal lands while the CLI computes the truth it prints (about 20 ms for a
    medium institution), after the server started: the old CLI hung there in most runs.
    """
    proc = subprocess.Popen(
        [sys.executable, "-m", "sandbox.canvas", "--size", "medium", "--seed", "7", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.startswith("base URL:"):
            break
    proc.send_signal(signal.SIGINT)
    try:
        _, err = proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        pytest.fail("the sandbox CLI did not stop within 30 s of a Ctrl-C during its start")
    assert proc.returncode == 0, err
