"""Fault injection in both sandboxes: each fault's wire shape, schedules, seeded rates, drift, and truth untouched."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from sandbox.brightspace import BrightspaceSandbox
from sandbox.canvas import CanvasSandbox
from sandbox.faults import (
    MALFORMED_PREFIX,
    NESTED_FIELD,
    NESTED_VALUE,
    NEW_FIELD,
    FaultInjector,
    FaultPlan,
    Scheduled,
    SchemaDrift,
    apply_drift,
)

LP = "/d2l/api/lp/1.53"


class Lms:
    """A minimal client of one sandbox: a URL of a multi-page listing and authorised GETs."""

    def __init__(self, name: str, sb: Any) -> None:
        self.name = name
        self.sb = sb
        self.http = requests.Session()
        if name == "canvas":
            self.http.headers["Authorization"] = f"Bearer {sb.admin_token}"
            self.listing = f"{sb.base_url}/api/v1/accounts/self/users"
            self.params: dict[str, Any] = {"per_page": 50}
        else:
            self.login()
            self.listing = f"{sb.base_url}{LP}/users/"
            self.params = {}

    def login(self) -> None:
        reply = requests.post(
            self.sb.token_url,
            data={"grant_type": "refresh_token", "refresh_token": self.sb.issue_refresh_token()},
            auth=(self.sb.client_id, self.sb.client_secret),
        )
        assert reply.status_code == 200
        self.http.headers["Authorization"] = f"Bearer {reply.json()['access_token']}"

    def get(self, url: str | None = None, timeout: float = 10.0, **params: Any) -> requests.Response:
        return self.http.get(url or self.listing, params={**self.params, **params}, timeout=timeout)

    def second_page(self) -> requests.Response:
        """The reply to the listing's second page (asked for with the first page's link/bookmark)."""
        first = self.get()
        if self.name == "canvas":
            return self.http.get(first.links["next"]["url"])
        bookmark = first.json()["PagingInfo"]["Bookmark"]
        return self.get(bookmark=bookmark)


@pytest.fixture(scope="module")
def canvas() -> Iterator[CanvasSandbox]:
    with CanvasSandbox(size="small", seed=7, throttle="off") as sb:
        yield sb


@pytest.fixture(scope="module")
def brightspace() -> Iterator[BrightspaceSandbox]:
    with BrightspaceSandbox(size="small", seed=11, throttle="off") as sb:
        yield sb


@pytest.fixture(params=["canvas", "brightspace"])
def lms(request: pytest.FixtureRequest) -> Iterator[Lms]:
    sb = request.getfixturevalue(request.param)
    client = Lms(request.param, sb)
    truth = sb.truth()
    yield client
    sb.faults = None
    assert sb.truth() == truth, "transport faults changed the sandbox's truth"


def once(kind: str, **plan: Any) -> FaultPlan:
    return FaultPlan(schedule=[Scheduled(kind)], **plan)


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_server_errors(lms: Lms, status: int) -> None:
    lms.sb.faults = once(str(status))
    assert lms.get().status_code == status
    assert lms.get().status_code == 200  # one request only
    assert lms.sb.faults_injected() == {str(status): 1}


def test_reset_mid_body_breaks_the_read(lms: Lms) -> None:
    lms.sb.faults = once("reset")
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        lms.get()
    assert lms.get().status_code == 200


def test_slow_reply_outlasts_the_client_timeout(lms: Lms) -> None:
    lms.sb.faults = once("slow", slow_seconds=0.5)
    with pytest.raises(requests.exceptions.ReadTimeout):
        lms.get(timeout=0.1)
    assert lms.get(timeout=5).status_code == 200


def test_truncated_and_malformed_json_with_status_200(lms: Lms) -> None:
    good = lms.get().content
    lms.sb.faults = FaultPlan(schedule=[Scheduled("truncated"), Scheduled("malformed")])
    truncated, malformed = lms.get(), lms.get()
    assert truncated.status_code == malformed.status_code == 200
    assert truncated.content == good[: len(good) // 2]
    assert malformed.content == MALFORMED_PREFIX + good
    for reply in (truncated, malformed):
        with pytest.raises(ValueError):
            json.loads(reply.content)


def test_html_error_page_with_status_200(lms: Lms) -> None:
    lms.sb.faults = once("html")
    reply = lms.get()
    assert reply.status_code == 200
    assert reply.headers["content-type"].startswith("text/html")
    assert reply.text.startswith("<!DOCTYPE html>")


def test_pagination_loop_repeats_the_previous_next_link(lms: Lms) -> None:
    lms.sb.faults = FaultPlan(rates={"loop": 1.0})
    first = lms.get()  # a first page is never looped
    second = lms.second_page()
    assert lms.sb.faults_injected() == {"loop": 1}
    if lms.name == "canvas":
        assert first.links["next"]["url"] == second.url == second.links["next"]["url"]
    else:
        asked = first.json()["PagingInfo"]["Bookmark"]
        assert second.json()["PagingInfo"] == {"Bookmark": asked, "HasMoreItems": True}


def test_canvas_throttle_storm_in_canvas_shape(canvas: CanvasSandbox) -> None:
    lms = Lms("canvas", canvas)
    canvas.faults = FaultPlan(schedule=[Scheduled("throttle", count=3)])
    replies = [lms.get() for _ in range(4)]
    for reply in replies[:3]:
        assert reply.status_code == 403 and reply.text == "403 Forbidden (Rate Limit Exceeded)\n"
        assert "retry-after" not in reply.headers and reply.headers["x-rate-limit-remaining"] == "0.0"
    assert replies[3].status_code == 200
    canvas.set_throttle("off", status=429)
    canvas.faults = once("throttle")
    try:
        assert lms.get().status_code == 429
    finally:
        canvas.set_throttle("off", status=403)


def test_brightspace_throttle_storm_in_brightspace_shape(brightspace: BrightspaceSandbox) -> None:
    lms = Lms("brightspace", brightspace)
    brightspace.faults = FaultPlan(schedule=[Scheduled("throttle", count=2)], retry_after=3)
    replies = [lms.get() for _ in range(3)]
    for reply in replies[:2]:
        assert reply.status_code == 429 and reply.headers["Retry-After"] == "3"
        assert not [h for h in reply.headers if h.lower().startswith("x-rate-limit")]
    assert replies[2].status_code == 200


def test_canvas_revocation_is_a_401_like_real_canvas(canvas: CanvasSandbox) -> None:
    token = canvas.issue_token()
    http = requests.Session()
    http.headers["Authorization"] = f"Bearer {token}"
    url = f"{canvas.base_url}/api/v1/accounts/self/users"
    canvas.faults = FaultPlan(schedule=[Scheduled("revoke", at=2)])
    assert http.get(url).status_code == 200
    for _ in range(2):  # revoked for good, not a transient fault
        reply = http.get(url)
        assert reply.status_code == 401 and "www-authenticate" in reply.headers
        assert reply.json() == {"errors": [{"message": "Invalid access token."}]}
    other = requests.get(url, headers={"Authorization": f"Bearer {canvas.issue_token()}"})
    assert other.status_code == 200


def test_brightspace_revocation_needs_a_refresh(brightspace: BrightspaceSandbox) -> None:
    lms = Lms("brightspace", brightspace)
    brightspace.faults = once("revoke")
    reply = lms.get()
    assert reply.status_code == 401 and "WWW-Authenticate" in reply.headers
    lms.login()  # the refresh token still works
    assert lms.get().status_code == 200


def test_schedule_by_number_and_by_path(canvas: CanvasSandbox) -> None:
    lms = Lms("canvas", canvas)
    terms = f"{canvas.base_url}/api/v1/accounts/self/terms"
    canvas.faults = FaultPlan(schedule=[Scheduled("503", at=3), Scheduled("500", path=r"/terms$", count=2)])
    statuses = [
        lms.get(url).status_code for url in (lms.listing, lms.listing, lms.listing, terms, terms, terms)
    ]
    assert statuses == [200, 200, 503, 500, 500, 200]


def test_rates_are_seeded_and_bounded() -> None:
    plan = FaultPlan(seed=5, rates={"503": 0.2, "reset": 0.1})
    first = [FaultInjector(plan).decide("/x")[1] for _ in range(1)]
    a, b = FaultInjector(plan), FaultInjector(plan)
    seq_a = [a.decide("/x")[1] for _ in range(500)]
    seq_b = [b.decide("/x")[1] for _ in range(500)]
    assert seq_a == seq_b and first[0] == seq_a[0]
    assert 70 <= seq_a.count("503") <= 130 and 25 <= seq_a.count("reset") <= 75
    other = FaultInjector(FaultPlan(seed=6, rates=plan.rates))
    assert [other.decide("/x")[1] for _ in range(500)] != seq_a
    capped = FaultInjector(FaultPlan(seed=5, rates={"503": 1.0}, max_faults=3, paths="/courses/"))
    kinds = [capped.decide(p)[1] for p in ["/users", "/courses/1", "/courses/2", "/courses/3", "/courses/4"]]
    assert kinds == [None, "503", "503", "503", None]


def test_plan_validation() -> None:
    with pytest.raises(ValueError, match="unknown fault kind"):
        FaultPlan(rates={"teapot": 0.1})
    with pytest.raises(ValueError, match="more than 1"):
        FaultPlan(rates={"500": 0.6, "503": 0.6})
    with pytest.raises(ValueError):
        Scheduled("503", count=0)


def test_clearing_the_plan_restores_normal_replies(lms: Lms) -> None:
    lms.sb.faults = FaultPlan(rates={"503": 1.0})
    assert lms.get().status_code == 503
    lms.sb.faults = None
    assert lms.get().status_code == 200
    assert lms.sb.faults_injected() == {}


def test_brightspace_fail_next_still_works_beside_a_plan(brightspace: BrightspaceSandbox) -> None:
    lms = Lms("brightspace", brightspace)
    brightspace.faults = FaultPlan(schedule=[Scheduled("502", at=2)])
    brightspace.fail_next(1, 503)
    assert [lms.get().status_code for _ in range(3)] == [503, 502, 200]


def test_drift_changes_rows_but_not_keys_or_truth(lms: Lms) -> None:
    plain = lms.get().json()
    lms.sb.faults = FaultPlan(drift=SchemaDrift())
    drifted = lms.get().json()
    rows_plain = plain if isinstance(plain, list) else plain["Items"]
    rows_drift = drifted if isinstance(drifted, list) else drifted["Items"]
    assert len(rows_plain) == len(rows_drift)
    for before, after in zip(rows_plain, rows_drift, strict=True):
        assert after[NEW_FIELD] and after[NESTED_FIELD] == NESTED_VALUE
        assert {k: v for k, v in after.items() if k not in (NEW_FIELD, NESTED_FIELD)} == before


def test_apply_drift_retypes_numbers_only() -> None:
    body = json.dumps({"Objects": [{"Id": 1, "MaxPoints": 10.5}, {"Id": 2, "MaxPoints": None}], "Next": None})
    rows = json.loads(apply_drift(body.encode(), SchemaDrift(new_field=False, nested_object=False)))[
        "Objects"
    ]
    assert rows == [{"Id": 1, "MaxPoints": "10.5 points"}, {"Id": 2, "MaxPoints": None}]
    assert apply_drift(b"not json", SchemaDrift()) == b"not json"
