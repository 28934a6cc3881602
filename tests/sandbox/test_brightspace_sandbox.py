"""Tests of the Brightspace sandbox: data, paging, OAuth, throttling, grades, Data Hub and advance()."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import ROUND_HALF_EVEN, Decimal
from fractions import Fraction
from typing import Any

import pytest
import requests

from sandbox.brightspace import BrightspaceSandbox, ThrottleSettings
from sandbox.brightspace.grades import (
    EVEN,
    MANUAL,
    POINTS,
    WEIGHTED,
    CategorySpec,
    GradeBook,
    ItemSpec,
    Score,
)
from sandbox.brightspace.pagination import object_list_page, paged_result_set
from sandbox.brightspace.throttle import CreditBucket

LP = "/d2l/api/lp/1.53"
LE = "/d2l/api/le/1.92"
DAY = 86_400


class FakeClock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


class Valence:
    """A minimal client: refresh-token login, Bearer calls, both paging envelopes."""

    def __init__(self, sb: BrightspaceSandbox, refresh_token: str | None = None) -> None:
        self.sb = sb
        self.http = requests.Session()
        self.refresh_token = refresh_token or sb.issue_refresh_token()
        self.login()

    def login(self) -> dict[str, Any]:
        reply = self.http.post(
            self.sb.token_url,
            data={"grant_type": "refresh_token", "refresh_token": self.refresh_token},
            auth=(self.sb.client_id, self.sb.client_secret),
        )
        assert reply.status_code == 200, reply.text
        body = reply.json()
        self.refresh_token = body["refresh_token"]
        self.http.headers["Authorization"] = f"Bearer {body['access_token']}"
        return body

    def get(self, path: str, **params: Any) -> requests.Response:
        return self.http.get(self.sb.base_url + path, params=params)

    def json(self, path: str, **params: Any) -> Any:
        reply = self.get(path, **params)
        assert reply.status_code == 200, (path, reply.status_code, reply.text)
        return reply.json()

    def paged(self, path: str, **params: Any) -> Iterator[dict[str, Any]]:
        """Follow a PagedResultSet by bookmark."""
        bookmark = None
        while True:
            page = self.json(path, **params, **({"bookmark": bookmark} if bookmark else {}))
            assert set(page) == {"PagingInfo", "Items"}
            assert len(page["Items"]) <= 100
            yield from page["Items"]
            if not page["PagingInfo"]["HasMoreItems"]:
                return
            bookmark = page["PagingInfo"]["Bookmark"]

    def objects(self, path: str, **params: Any) -> Iterator[dict[str, Any]]:
        """Follow an ObjectListPage by its Next URL."""
        url: str | None = self.sb.base_url + path
        first = True
        while url:
            reply = self.http.get(url, params=params if first else None)
            assert reply.status_code == 200, reply.text
            page = reply.json()
            assert set(page) == {"Next", "Objects"}
            yield from page["Objects"]
            url, first = page["Next"], False


@pytest.fixture(scope="module")
def sb() -> Iterator[BrightspaceSandbox]:
    with BrightspaceSandbox(size="small", seed=11, throttle="off") as sandbox:
        yield sandbox


@pytest.fixture(scope="module")
def api(sb: BrightspaceSandbox) -> Valence:
    return Valence(sb)


def course_ids(sb: BrightspaceSandbox) -> list[int]:
    return sorted(ou for (ou,) in sb.truth_keys("courses"))


# -- institution -------------------------------------------------------------------------------


def test_same_size_and_seed_give_the_same_institution() -> None:
    a, b, other = (BrightspaceSandbox("small", seed) for seed in (11, 11, 12))
    for table in (
        "users",
        "enrollments",
        "grade_objects",
        "grade_values",
        "final_grades",
        "attendance_user_sessions",
    ):
        assert a.truth_rows(table) == b.truth_rows(table), table
    assert a.truth() == b.truth()
    assert a.client_id == b.client_id and a.initial_refresh_token == b.initial_refresh_token
    assert a.truth_rows("grade_values") != other.truth_rows("grade_values")


def test_small_institution_shape(sb: BrightspaceSandbox) -> None:
    counts = sb.truth()
    units = sb.truth_rows("org_units")
    by_type: dict[str, int] = {}
    for unit in units:
        by_type[unit["Type"]["Name"]] = by_type.get(unit["Type"]["Name"], 0) + 1
    assert by_type["Organization"] == 1 and by_type["Semester"] == 2
    assert 2 <= by_type["Department"] <= 3
    assert counts["courses"] == by_type["Course Offering"] == 10
    assert 10 <= by_type["Section"] <= 20
    users = sb.truth_rows("users")
    roles = {r["RoleName"] for r in sb.truth_rows("enrollments")}
    assert roles == {"Student", "Instructor", "Teaching Assistant"}
    students = {r["UserId"] for r in sb.truth_rows("enrollments") if r["RoleName"] == "Student"}
    assert 100 <= len(students) <= 120 and 130 <= len(users) <= 145
    with_sis_id = [u for u in users if u["OrgDefinedId"]]
    assert 0.9 * len(users) <= len(with_sis_id) < len(users)
    assert len({u["OrgDefinedId"] for u in with_sis_id}) == len(with_sis_id)
    assert counts["grade_values"] > 1_500 and counts["attendance_sessions"] >= 100


def test_small_institution_covers_every_grading_case(sb: BrightspaceSandbox) -> None:
    setups = sb.truth_rows("grade_setup")
    assert {s["GradingSystem"] for s in setups} == {"Points", "Weighted"}
    assert {s["IsNullGradeZero"] for s in setups} == {True, False}
    objects = sb.truth_rows("grade_objects")
    assert {o["GradeType"] for o in objects} == {"Numeric", "PassFail"}
    assert any(o["IsBonus"] for o in objects)
    assert any(o["ExcludeFromFinalGradeCalculation"] for o in objects)
    assert any(c["NumberOfLowestToDrop"] for c in sb.truth_rows("grade_categories"))
    values = sb.truth_rows("grade_values")
    assert any(v["IsExempt"] for v in values)
    assert any(v["PointsNumerator"] is None and not v["IsExempt"] for v in values)
    finals = sb.truth_rows("final_grades")
    assert all(f["GradeValue"] is None or 0 <= f["GradeValue"]["WeightedNumerator"] <= 100 for f in finals)


@pytest.mark.slow
def test_medium_institution_hits_its_targets() -> None:
    sb = BrightspaceSandbox("medium", 11)
    counts = sb.truth()
    students = sum(1 for u in sb.institution.users.values() if u.org_role.name == "Student")
    for actual, target in ((counts["courses"], 200), (students, 5_000), (counts["grade_values"], 100_000)):
        assert 0.8 * target <= actual <= 1.2 * target, (actual, target)


# -- routes and paging -------------------------------------------------------------------------


def test_versions_and_unsupported_versions(sb: BrightspaceSandbox, api: Valence) -> None:
    versions = requests.get(sb.base_url + "/d2l/api/versions/").json()
    by_product = {v["ProductCode"]: v for v in versions}
    assert set(by_product) == {"lp", "le"}
    assert by_product["lp"]["LatestVersion"] in by_product["lp"]["SupportedVersions"]
    assert api.get("/d2l/api/lp/versions/").json()["ProductCode"] == "lp"
    assert api.get(f"{LP}/users/whoami").status_code == 200
    for path in ("/d2l/api/lp/1.99/users/", "/d2l/api/lp/unstable/users/", "/d2l/api/le/9.9/6606/classlist/"):
        assert api.get(path).status_code == 404, path
    assert api.get("/d2l/api/lp/1.53/no/such/route").status_code == 404


def test_paged_result_set_routes_yield_truth(sb: BrightspaceSandbox, api: Valence) -> None:
    users = list(api.paged(f"{LP}/users/"))
    assert len(users) > 100  # more than one page
    assert {(u["UserId"],) for u in users} == sb.truth_keys("users")
    assert users == sb.truth_rows("users")
    units = list(api.paged(f"{LP}/orgstructure/"))
    assert {(int(u["Identifier"]),) for u in units} == sb.truth_keys("org_units")
    offerings = list(api.paged(f"{LP}/orgstructure/", orgUnitType=3))
    assert {(int(u["Identifier"]),) for u in offerings} == sb.truth_keys("courses")
    by_org_unit = {
        (ou, int(e["User"]["Identifier"]))
        for ou in course_ids(sb)
        for e in api.paged(f"{LP}/enrollments/orgUnits/{ou}/users/")
    }
    assert by_org_unit == sb.truth_keys("enrollments")
    by_user = {
        (e["OrgUnit"]["Id"], uid)
        for (uid,) in sb.truth_keys("users")
        for e in api.paged(f"{LP}/enrollments/users/{uid}/orgUnits/")
    }
    assert by_user == sb.truth_keys("enrollments")
    descendants = list(api.paged(f"{LP}/orgstructure/6606/descendants/paged/", ouTypeId=3))
    assert {(int(u["Identifier"]),) for u in descendants} == sb.truth_keys("courses")


def test_object_list_page_and_bare_array_routes_yield_truth(sb: BrightspaceSandbox, api: Valence) -> None:
    classlists, arrays, objects, categories, bulk, per_object, finals = set(), set(), [], [], [], 0, []
    for ou in course_ids(sb):
        classlists |= {
            (ou, int(u["Identifier"])) for u in api.objects(f"{LE}/{ou}/classlist/paged/", pageSize=7)
        }
        arrays |= {(ou, int(u["Identifier"])) for u in api.json(f"{LE}/{ou}/classlist/")}
        grade_objects = api.json(f"{LE}/{ou}/grades/")
        objects += [{"OrgUnitId": ou, "GradeObjectId": o["Id"], **o} for o in grade_objects]
        categories += [
            {"OrgUnitId": ou, "CategoryId": c["Id"], **c} for c in api.json(f"{LE}/{ou}/grades/categories/")
        ]
        bulk += list(api.objects(f"{LE}/{ou}/grades/values/", pageSize=50))
        for o in grade_objects:
            per_object += sum(
                1 for v in api.objects(f"{LE}/{ou}/grades/{o['Id']}/values/") if v["GradeValue"]
            )
        finals += [
            {"OrgUnitId": ou, "UserId": int(v["User"]["Identifier"]), "GradeValue": v["GradeValue"]}
            for v in api.objects(f"{LE}/{ou}/grades/final/values/")
        ]
    assert classlists == arrays == sb.truth_keys("classlists")
    assert objects == sb.truth_rows("grade_objects") and categories == sb.truth_rows("grade_categories")
    truth_values = sb.truth_rows("grade_values")
    assert len(bulk) == per_object == len(truth_values) == sb.truth()["grade_values"]
    assert bulk == [
        {k: v for k, v in row.items() if k not in ("GradeObjectId", "IsExempt")} for row in truth_values
    ]
    assert finals == sb.truth_rows("final_grades")
    everywhere = list(
        api.objects(f"{LE}/6606/grades/values/descendants/", includeInactiveCourses="true", pageSize=200)
    )
    assert {
        (v["OrgUnitId"], int(v["GradeObjectIdentifier"]), v["UserId"]) for v in everywhere
    } == sb.truth_keys("grade_values")


@pytest.mark.parametrize("count", [0, 1, 99, 100, 101, 200, 201])
def test_paging_envelopes_at_page_boundaries(count: int) -> None:
    items = list(range(10, 10 + count))
    pages, bookmark = [], None
    while True:
        page = paged_result_set(items, items, bookmark, lambda i: {"Id": i})
        pages.append([o["Id"] for o in page["Items"]])
        if not page["PagingInfo"]["HasMoreItems"]:
            break
        bookmark = page["PagingInfo"]["Bookmark"]
    assert [i for p in pages for i in p] == items and len(pages) == max(1, -(-count // 100))
    assert all(len(p) == 100 for p in pages[:-1])
    objects, start = [], 0
    while True:
        entries = ((str(i), i) for i in items[start:])
        page = object_list_page(entries, lambda i: i, 100, lambda last: last)
        assert len(page["Objects"]) == 100 or page["Next"] is None
        objects += page["Objects"]
        if page["Next"] is None:
            break
        start = items.index(int(page["Next"])) + 1
    assert objects == items


def test_bad_paging_parameters_are_400(sb: BrightspaceSandbox, api: Valence) -> None:
    ou = course_ids(sb)[0]
    assert api.get(f"{LE}/{ou}/grades/values/", pageSize=0).status_code == 400
    assert api.get(f"{LE}/{ou}/grades/values/", pageSize=201).status_code == 400
    assert api.get(f"{LE}/{ou}/grades/values/", bookmark="nonsense").status_code == 400
    assert api.get(f"{LP}/users/", bookmark="nonsense").status_code == 400
    assert api.get(f"{LE}/{ou}/grades/values/", modifiedSince="yesterday").status_code == 400
    assert api.get(f"{LE}/999999/grades/").status_code == 404


def test_modified_since_keeps_values_changed_at_or_after_it(sb: BrightspaceSandbox, api: Valence) -> None:
    ou = course_ids(sb)[-1]
    rows = [r for r in sb.truth_rows("grade_values") if r["OrgUnitId"] == ou]
    since = sorted(r["LastModified"] for r in rows)[len(rows) // 2]
    served = list(api.objects(f"{LE}/{ou}/grades/values/", modifiedSince=since))
    assert {(v["GradeObjectIdentifier"], v["UserId"]) for v in served} == {
        (r["GradeObjectIdentifier"], r["UserId"]) for r in rows if r["LastModified"] >= since
    }


# -- OAuth -----------------------------------------------------------------------------------------


def test_refresh_tokens_rotate_and_are_single_use(sb: BrightspaceSandbox) -> None:
    first = sb.issue_refresh_token()
    rejected_before = sb.stats["refreshes_rejected"]
    reply = requests.post(
        sb.token_url,
        data={"grant_type": "refresh_token", "refresh_token": first},
        auth=(sb.client_id, sb.client_secret),
    )
    body = reply.json()
    assert reply.status_code == 200
    assert set(body) == {"access_token", "token_type", "expires_in", "refresh_token", "scope"}
    assert body["token_type"] == "Bearer" and body["expires_in"] == 3600 and body["refresh_token"] != first
    again = requests.post(
        sb.token_url,
        data={"grant_type": "refresh_token", "refresh_token": first},
        auth=(sb.client_id, sb.client_secret),
    )
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"
    assert sb.stats["refreshes_rejected"] == rejected_before + 1
    form_auth = requests.post(
        sb.token_url,
        data={
            "grant_type": "refresh_token",
            "refresh_token": body["refresh_token"],
            "client_id": sb.client_id,
            "client_secret": sb.client_secret,
        },
    )
    assert form_auth.status_code == 200
    headers = {"Authorization": f"Bearer {form_auth.json()['access_token']}"}
    assert requests.get(f"{sb.base_url}{LP}/users/whoami", headers=headers).status_code == 200
    wrong_secret = requests.post(
        sb.token_url,
        data={"grant_type": "refresh_token", "refresh_token": sb.issue_refresh_token()},
        auth=(sb.client_id, "x"),
    )
    assert wrong_secret.status_code == 401 and wrong_secret.json()["error"] == "invalid_client"


def test_access_tokens_expire_and_can_be_revoked() -> None:
    clock = FakeClock()
    with BrightspaceSandbox(access_token_ttl=2.0, throttle="off", clock=clock) as sb:
        client = Valence(sb, sb.initial_refresh_token)
        assert client.get(f"{LP}/users/whoami").status_code == 200
        clock.now += 2.0
        expired = client.get(f"{LP}/users/whoami")
        assert expired.status_code == 401 and "invalid_token" in expired.headers["WWW-Authenticate"]
        client.login()
        assert client.get(f"{LP}/users/whoami").status_code == 200
        sb.revoke_access_tokens()
        assert client.get(f"{LP}/users/whoami").status_code == 401
        assert requests.get(f"{sb.base_url}{LP}/users/whoami").status_code == 401
        assert (
            requests.get(
                f"{sb.base_url}{LP}/users/whoami", headers={"Authorization": "Bearer nope"}
            ).status_code
            == 401
        )


# -- throttling ------------------------------------------------------------------------------------


def test_credit_bucket_arithmetic_with_an_injected_clock() -> None:
    clock = FakeClock()
    bucket = CreditBucket(ThrottleSettings.preset("default"), clock)
    first = bucket.spend()
    assert first.headers == {
        "X-Rate-Limit-Remaining": "49990",
        "X-Rate-Limit-Reset": "60",
        "X-Request-Cost": "10",
    }
    for _ in range(4_998):
        assert bucket.spend().allowed
    clock.now += 20.2
    last = bucket.spend()
    assert last.allowed and last.headers["X-Rate-Limit-Remaining"] == "0"
    assert last.headers["X-Rate-Limit-Reset"] == "40"
    refused = bucket.spend()
    assert not refused.allowed and refused.headers == {"Retry-After": "40"}
    clock.now += 39.8
    assert bucket.spend().headers["X-Rate-Limit-Remaining"] == "49990"  # a new window
    off = CreditBucket(ThrottleSettings.preset("off"), clock)
    assert all(off.spend().allowed for _ in range(6_000))
    assert off.spend().headers["X-Rate-Limit-Remaining"] == "0"
    custom = CreditBucket(ThrottleSettings(credits_per_window=25, window_seconds=10, cost_per_call=10), clock)
    assert [custom.spend().allowed for _ in range(3)] == [True, True, False]


def test_strict_throttle_answers_429_with_retry_after_only() -> None:
    with BrightspaceSandbox(throttle="default") as sb:
        client = Valence(sb, sb.initial_refresh_token)
        ok = client.get(f"{LP}/users/whoami")
        assert {"X-Rate-Limit-Remaining", "X-Rate-Limit-Reset", "X-Request-Cost"} <= set(ok.headers)
        sb.set_throttle("strict")
        replies = [client.get(f"{LP}/users/whoami") for _ in range(14)]
        statuses = [r.status_code for r in replies]
        assert statuses == [200] * 10 + [429] * 4
        assert [int(r.headers["X-Rate-Limit-Remaining"]) for r in replies[:10]] == list(range(90, -10, -10))
        throttled = replies[-1]
        assert 1 <= int(throttled.headers["Retry-After"]) <= 60
        assert not any(
            h.lower().startswith("x-rate-limit") or h.lower() == "x-request-cost" for h in throttled.headers
        )
        assert sb.stats["throttled"] == 4 and sb.stats["by_status"][429] == 4
        assert requests.get(sb.base_url + "/d2l/api/versions/").status_code == 200  # not limited
        sb.set_throttle("off")
        assert client.get(f"{LP}/users/whoami").status_code == 200


def test_injected_faults_and_stats(sb: BrightspaceSandbox, api: Valence) -> None:
    sb.reset_stats()
    sb.fail_next(1, 503)
    assert api.get(f"{LP}/users/whoami").status_code == 503
    assert api.get(f"{LP}/users/whoami").status_code == 200
    stats = sb.stats
    assert (
        stats["requests"] == 2 and stats["by_route"]["whoami"] == 2 and stats["by_status"] == {503: 1, 200: 1}
    )


# -- grades ----------------------------------------------------------------------------------------


def b7_book(system: str, null_is_zero: bool) -> GradeBook:
    weighted = system == WEIGHTED
    categories = [
        CategorySpec(1, Fraction(30 if weighted else 0), EVEN, drop_lowest=1),
        CategorySpec(2, Fraction(50 if weighted else 0), MANUAL),
    ]
    items = [ItemSpec(10 + q, Fraction(10), 1, sort_order=q) for q in range(1, 5)] + [
        ItemSpec(21, Fraction(50), 2, Fraction(40), 5),
        ItemSpec(22, Fraction(50), 2, Fraction(60), 6),
        ItemSpec(31, Fraction(100), None, Fraction(20 if weighted else 0), 7),
    ]
    return GradeBook(system, null_is_zero, categories, items)


B7_SCORES = {11: Score(Fraction(8)), 12: Score(Fraction(6)), 13: Score(Fraction(9)), 21: Score(Fraction(45))}


@pytest.mark.parametrize(
    ("system", "null_is_zero", "percent", "display", "dropped"),
    [
        (WEIGHTED, False, 88.125, "88.12 %", {12}),
        (WEIGHTED, True, 41.0, "41.00 %", {14}),
        (POINTS, False, 62 / 70 * 100, "88.57 %", {12}),
        (POINTS, True, 68 / 230 * 100, "29.57 %", {14}),
    ],
)
def test_grade_calculation_reproduces_part_b7(
    system: str, null_is_zero: bool, percent: float, display: str, dropped: set[int]
) -> None:
    final = b7_book(system, null_is_zero).final_grade(B7_SCORES)
    assert final.percent == pytest.approx(percent, abs=1e-12)
    assert final.display == display and final.dropped == dropped


def test_exemptions_and_bonus_follow_part_b() -> None:
    book = b7_book(WEIGHTED, True)
    exempt_q4 = {**B7_SCORES, 14: Score(None, exempt=True)}
    # Q4 exempt: quizzes (8, 6, 9) drop Q2 -> 85 %; assignments 36 %; final exam 0: 25.5 + 18 + 0.
    assert book.final_grade(exempt_q4).percent == pytest.approx(43.5)
    points = GradeBook(
        POINTS, False, [], [ItemSpec(1, Fraction(10)), ItemSpec(2, Fraction(5), is_bonus=True, sort_order=1)]
    )
    assert points.final_grade({1: Score(Fraction(8)), 2: Score(Fraction(1))}).percent == pytest.approx(90)
    assert points.final_grade({1: Score(Fraction(9)), 2: Score(Fraction(4))}).percent == 100  # capped


def _half_even(value: Fraction) -> str:
    return str(
        (Decimal(value.numerator) / Decimal(value.denominator)).quantize(Decimal("0.01"), ROUND_HALF_EVEN)
    )


def recompute_final(
    setup: dict, categories: list[dict], objects: list[dict], values: dict, exempt: set
) -> Any:
    """Part B from the served JSON alone (an independent implementation for the test)."""
    weighted = setup["GradingSystem"] == "Weighted"
    cats = {c["Id"]: c for c in categories}
    groups: dict[int, list[tuple[int, dict, Fraction]]] = {}
    for order, obj in enumerate(objects):
        cat = cats.get(obj["CategoryId"])
        if (
            obj["ExcludeFromFinalGradeCalculation"]
            or (cat and cat["ExcludeFromFinalGrade"])
            or obj["Id"] in exempt
        ):
            continue
        points = values.get(obj["Id"])
        if points is None:
            if not setup["IsNullGradeZero"] or obj["IsBonus"]:
                continue
            points = 0
        points = Fraction(points)
        maximum = Fraction(obj["MaxPoints"])
        if not obj.get("CanExceedMaxPoints", False):
            points = min(points, maximum)
        groups.setdefault(obj["CategoryId"], []).append((order, obj, points))
    num = den = bonus = earned = possible = Fraction(0)
    for cat_id, members in groups.items():
        cat = cats.get(cat_id)
        pct = {o["Id"]: p / Fraction(o["MaxPoints"]) for _, o, p in members}
        dropped: set[int] = set()
        if cat:
            ranked = sorted((pct[o["Id"]], order, o["Id"]) for order, o, _ in members if not o["IsBonus"])
            dropped = {i for _, _, i in ranked[: cat["NumberOfLowestToDrop"]]}
            rest = sorted((-p, order, i) for p, order, i in ranked if i not in dropped)
            dropped |= {i for _, _, i in rest[: cat["NumberOfHighestToDrop"]]}
        kept = [(o, p) for _, o, p in members if o["Id"] not in dropped]
        regular = [(o, p) for o, p in kept if not o["IsBonus"]]
        if not weighted:
            cat_possible = sum((Fraction(o["MaxPoints"]) for o, _ in regular), Fraction(0))
            cat_earned = sum((p for _, p in kept), Fraction(0))
            if cat and not regular:
                continue
            if cat and not cat["CanExceedMax"]:
                cat_earned = min(cat_earned, cat_possible)
            earned, possible = earned + cat_earned, possible + cat_possible
        elif cat is None:
            for o, _ in kept:
                share = Fraction(o["Weight"]) * pct[o["Id"]]
                if o["IsBonus"]:
                    bonus += share
                elif o["Weight"] > 0:
                    num, den = num + share, den + Fraction(o["Weight"])
        elif cat["Weight"] > 0:
            kind = cat["WeightDistributionType"]  # 0 manual, 1 even, 2 by points
            weight = {
                o["Id"]: Fraction(o["Weight"] if kind == 0 else o["MaxPoints"] if kind == 2 else 1)
                for o, _ in kept
            }
            cat_den = sum((weight[o["Id"]] for o, _ in regular), Fraction(0))
            if not cat_den:
                continue
            cat_pct = sum((weight[o["Id"]] * pct[o["Id"]] for o, _ in kept), Fraction(0)) / cat_den
            if not cat["CanExceedMax"]:
                cat_pct = min(cat_pct, Fraction(1))
            num, den = num + Fraction(cat["Weight"]) * cat_pct, den + Fraction(cat["Weight"])
    if weighted:
        return None if not den else min((num + bonus) / den, Fraction(1)) * 100
    return None if not possible else min(earned, possible) / possible * 100


def test_served_final_grades_equal_an_independent_recomputation(sb: BrightspaceSandbox, api: Valence) -> None:
    checked = 0
    for ou in course_ids(sb):
        setup = api.json(f"{LE}/{ou}/grades/setup/")
        categories = api.json(f"{LE}/{ou}/grades/categories/")
        objects = api.json(f"{LE}/{ou}/grades/")
        values: dict[int, dict[int, Any]] = {}
        for v in api.objects(f"{LE}/{ou}/grades/values/"):
            values.setdefault(v["UserId"], {})[int(v["GradeObjectIdentifier"])] = v["PointsNumerator"]
        for row in api.objects(f"{LE}/{ou}/grades/final/values/"):
            uid = int(row["User"]["Identifier"])
            exempt = {e["GradeObjectId"] for e in api.json(f"{LE}/{ou}/grades/exemptions/{uid}")}
            expected = recompute_final(setup, categories, objects, values.get(uid, {}), exempt)
            served = row["GradeValue"]
            if expected is None:
                assert served is None, (ou, uid)
                continue
            assert served["WeightedNumerator"] == pytest.approx(float(expected), abs=1e-9), (ou, uid)
            assert served["DisplayedGrade"] == f"{_half_even(expected)} %"
            checked += 1
    assert checked > 200


# -- Data Hub: tests/sandbox/test_brightspace_datahub.py ----------------------------------------


# -- advance() -------------------------------------------------------------------------------------


def keyed(sb: BrightspaceSandbox, table: str) -> dict[tuple, dict]:
    columns = {
        "grade_values": ("OrgUnitId", "GradeObjectId", "UserId"),
        "final_grades": ("OrgUnitId", "UserId"),
        "enrollments": ("OrgUnitId", "UserId"),
        "classlists": ("OrgUnitId", "UserId"),
        "attendance_user_sessions": ("UserId", "AttendanceSessionId"),
    }[table]
    return {tuple(r[c] for c in columns): r for r in sb.truth_rows(table)}


def diff(before: dict, after: dict) -> tuple[set, set, set]:
    added = set(after) - set(before)
    removed = set(before) - set(after)
    changed = {k for k in set(before) & set(after) if before[k] != after[k]}
    return added, removed, changed


def test_advance_reports_exactly_what_changed() -> None:
    sb = BrightspaceSandbox("small", 11)
    tables = ("grade_values", "final_grades", "enrollments", "classlists", "attendance_user_sessions")
    unchanged = ("users", "org_units", "grade_objects", "grade_categories", "attendance_sessions")
    clocks = [sb.now]
    for step in (DAY, 7 * DAY):
        before = {t: keyed(sb, t) for t in tables}
        stable = {t: sb.truth_rows(t) for t in unchanged}
        latest = max(r["LastModified"] for r in before["grade_values"].values())
        changes = sb.advance(step)
        after = {t: keyed(sb, t) for t in tables}
        assert changes.clock > clocks[-1] and (changes.clock - clocks[-1]).total_seconds() == step
        clocks.append(changes.clock)

        added, removed, changed = diff(before["grade_values"], after["grade_values"])
        assert added == changes.new_grade_values and changed == changes.regraded
        assert removed == changes.removed_grade_values and changes.changed_grade_values == added | changed
        assert added and changed and len(changes.dropped_enrollments) == 1
        for key in added | changed:
            assert (
                latest
                < after["grade_values"][key]["LastModified"]
                <= sb.now.strftime("%Y-%m-%dT%H:%M:%S.000Z")
            )
        added, removed, changed = diff(before["final_grades"], after["final_grades"])
        assert (
            not added and removed == changes.removed_final_grades and changed == changes.changed_final_grades
        )
        for table in ("enrollments", "classlists"):
            added, removed, changed = diff(before[table], after[table])
            assert not added and not changed and removed == changes.dropped_enrollments
        added, removed, changed = diff(before["attendance_user_sessions"], after["attendance_user_sessions"])
        assert not removed and not changed and added == changes.new_attendance_user_sessions
        assert {t: sb.truth_rows(t) for t in unchanged} == stable
    assert changes.new_attendance_user_sessions  # a week always holds class meetings
    twin = BrightspaceSandbox("small", 11)
    twin.advance(DAY)
    assert twin.advance(7 * DAY) == changes


def test_advance_rejects_non_positive_steps() -> None:
    sb = BrightspaceSandbox("small", 11)
    with pytest.raises(ValueError, match="positive whole number"):
        sb.advance(0)
    with pytest.raises(ValueError, match="positive whole number"):
        sb.advance(1.5)  # type: ignore[arg-type]
