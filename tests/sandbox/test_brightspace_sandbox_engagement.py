"""The Brightspace sandbox's content progress route and SIS roster."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from sandbox.brightspace import BrightspaceSandbox

PROGRESS_FIELDS = [
    "ObjectId",
    "UserId",
    "CompletedDate",
    "IsRead",
    "NumVisits",
    "TotalTime",
    "LastVisited",
    "Visited",
    "Completed",
    "IsExempt",
]


@pytest.fixture(scope="module")
def sb() -> Iterator[BrightspaceSandbox]:
    with BrightspaceSandbox(size="small", seed=11, throttle="off") as sandbox:
        yield sandbox


def session(sb: BrightspaceSandbox) -> requests.Session:
    r = requests.post(
        sb.token_url,
        data={"grant_type": "refresh_token", "refresh_token": sb.issue_refresh_token()},
        auth=(sb.client_id, sb.client_secret),
    )
    assert r.status_code == 200, r.text
    s = requests.Session()
    s.headers["Authorization"] = f"Bearer {r.json()['access_token']}"
    return s


def progress_url(sb: BrightspaceSandbox, ou: int) -> str:
    le = requests.get(f"{sb.base_url}/d2l/api/le/versions/").json()["LatestVersion"]
    return f"{sb.base_url}/d2l/api/le/{le}/{ou}/content/userprogress/"


def fetch_all(s: requests.Session, url: str, params: dict[str, Any]) -> tuple[list[dict[str, Any]], int]:
    rows: list[dict[str, Any]] = []
    pages = 0
    next_url: str | None = url
    query: dict[str, Any] | None = params
    while next_url:
        r = s.get(next_url, params=query)
        query = None
        assert r.status_code == 200, r.text
        body = r.json()
        assert set(body) == {"Next", "Objects"}
        rows += body["Objects"]
        pages += 1
        next_url = body["Next"]
    return rows, pages


def courses(sb: BrightspaceSandbox) -> list[int]:
    return sorted(ou for (ou,) in sb.truth_keys("courses"))


def test_progress_pages_give_exactly_the_truth(sb: BrightspaceSandbox) -> None:
    s = session(sb)
    got = []
    for ou in courses(sb):
        rows, pages = fetch_all(s, progress_url(sb, ou), {})
        assert pages == -(-len(rows) // 20) or (pages == 1 and not rows)  # 20 per page by default
        assert [(r["UserId"], r["ObjectId"]) for r in rows] == sorted(
            (r["UserId"], r["ObjectId"]) for r in rows
        )
        got += [{**r, "OrgUnitId": ou} for r in rows]
    assert got == sb.truth_rows("content_user_progress")
    assert all(list(r)[:-1] == PROGRESS_FIELDS for r in got)
    assert all(r["Visited"] or r["IsExempt"] for r in got)  # only users with recorded progress
    assert all(r["CompletedDate"] is None or r["CompletedDate"] <= r["LastVisited"] for r in got)


def test_progress_filters_keep_their_place_across_pages(sb: BrightspaceSandbox) -> None:
    s = session(sb)
    ou = courses(sb)[0]
    everything = [r for r in sb.truth_rows("content_user_progress") if r["OrgUnitId"] == ou]
    users = sorted({r["UserId"] for r in everything})[:3]
    rows, pages = fetch_all(s, progress_url(sb, ou), [("userId", u) for u in users] + [("pageSize", 2)])
    assert pages > 1 and [r["UserId"] for r in rows] == [
        r["UserId"] for r in everything if r["UserId"] in users
    ]
    obj = everything[0]["ObjectId"]
    rows, _ = fetch_all(s, progress_url(sb, ou), {"objectId": obj})
    assert rows and {r["ObjectId"] for r in rows} == {obj}
    assert s.get(progress_url(sb, ou), params={"bookmark": "nonsense"}).status_code == 400


def test_roster_is_keyed_by_offering_code_and_org_defined_id(tmp_path: Path) -> None:
    sb = BrightspaceSandbox(size="small", seed=11)
    path = sb.write_sis_roster(tmp_path / "roster.csv")
    with path.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0]) == ["course_id", "user_id", "role", "section_id", "status"]
    assert {r["course_id"] for r in rows} <= {c["Code"] for c in sb.truth_rows("courses")}
    org_defined = {u["OrgDefinedId"] for u in sb.truth_rows("users") if u["OrgDefinedId"]}
    assert {r["user_id"] for r in rows} <= org_defined
    assert {r["role"] for r in rows} == {"student", "instructor", "ta"}
    assert {r["status"] for r in rows} == {"active", "completed", "deleted"}
    diffs = sb.roster_differences()
    assert all(len(v) >= 3 for v in diffs.values())
    assert not diffs["missing_in_lms"] & {
        (r["course_id"], r["user_id"]) for r in rows if r["status"] == "deleted"
    }
    assert BrightspaceSandbox(size="small", seed=11).roster_differences() == diffs
