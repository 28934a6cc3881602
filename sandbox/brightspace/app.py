"""The WSGI application: Valence routes (lp, le), the OAuth token endpoint and the Data Hub.

Request handling order: latency sleep; route match (unknown route or unsupported version -> 404);
the token endpoint and `versions` need no Bearer token and are not rate limited; every other route
needs a live Bearer access token (401 otherwise), then may hit an injected fault, then spends credits
(429 when the bucket is empty), then runs under the institution's lock.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from bisect import bisect_right
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from werkzeug.exceptions import HTTPException, NotFound
from werkzeug.routing import BaseConverter, Map, Rule, ValidationError
from werkzeug.wrappers import Request, Response

from . import datahub_routes, shapes
from .content import DEFAULT_PAGE_SIZE as CONTENT_PAGE_SIZE
from .content import course_progress
from .datahub import DataHub, DataHubError
from .gradebook import Gradebook
from .institution import (
    COURSE_OFFERING,
    ORG_UNIT_TYPES,
    ROOT_ORG_UNIT_ID,
    STUDENT,
    Course,
    Institution,
    OrgUnit,
)
from .oauth import TokenService
from .paging import BadRequest, object_list_page, page_size_param, paged_result_set, url_with
from .throttle import CreditBucket
from .timestamps import parse_utc

log = logging.getLogger(__name__)

Json = Any
LP_LATEST = 53
LE_LATEST = 92
# Versions served (UNCONFIRMED window; the latest are those of the newest real configs in the reference).
SUPPORTED_VERSIONS: dict[str, tuple[str, ...]] = {
    "lp": tuple(f"1.{n}" for n in range(10, LP_LATEST + 1)),
    "le": tuple(f"1.{n}" for n in range(20, LE_LATEST + 1)),
}
PUBLIC_ENDPOINTS = frozenset({"versions", "product_versions"})


class ApiError(Exception):
    """An error reply: HTTP status and message."""

    def __init__(self, status: int, message: str) -> None:
        """Carry the status with the message."""
        super().__init__(message)
        self.status = status


class _VersionConverter(BaseConverter):
    product = ""

    def to_python(self, value: str) -> str:
        if value not in SUPPORTED_VERSIONS[self.product]:
            raise ValidationError()  # no route matches: an unsupported version is a 404
        return value


class _LpVersion(_VersionConverter):
    product = "lp"


class _LeVersion(_VersionConverter):
    product = "le"


@dataclass
class Stats:
    """Request counters; `snapshot()` is a consistent copy."""

    requests: int = 0
    throttled: int = 0
    token_requests: int = 0
    by_status: Counter[int] = field(default_factory=Counter)
    by_route: Counter[str] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, route: str, status: int) -> None:
        """Count one request."""
        with self.lock:
            self.requests += 1
            self.by_status[status] += 1
            self.by_route[route] += 1
            if status == 429:
                self.throttled += 1
            if route == "token":
                self.token_requests += 1

    def snapshot(self, refreshes_rejected: int) -> dict[str, Any]:
        """A copy of the counters."""
        with self.lock:
            return {
                "requests": self.requests,
                "by_status": dict(self.by_status),
                "throttled": self.throttled,
                "by_route": dict(self.by_route),
                "token_requests": self.token_requests,
                "refreshes_rejected": refreshes_rejected,
            }

    def reset(self) -> None:
        """Zero every counter."""
        with self.lock:
            self.requests = self.throttled = self.token_requests = 0
            self.by_status.clear()
            self.by_route.clear()


class Faults:
    """Injected failures: the next N authenticated API calls answer with a given status."""

    def __init__(self) -> None:
        """No faults pending."""
        self._lock = threading.Lock()
        self._pending: list[int] = []

    def add(self, count: int, status: int) -> None:
        """Make the next `count` calls fail with `status`."""
        with self._lock:
            self._pending.extend([status] * count)

    def take(self) -> int | None:
        """The status for this call, if a fault is pending."""
        with self._lock:
            return self._pending.pop(0) if self._pending else None


def _rules() -> list[Rule]:
    lp, le = "/d2l/api/lp/<lp:ver>", "/d2l/api/le/<le:ver>"
    get = ["GET"]
    table = [
        ("/d2l/api/versions/", "versions"),
        ("/d2l/api/<product>/versions/", "product_versions"),
        (f"{lp}/organization/info", "organization_info"),
        (f"{lp}/outypes/", "org_unit_types"),
        (f"{lp}/orgstructure/", "orgstructure"),
        (f"{lp}/orgstructure/<int:ou>", "org_unit"),
        (f"{lp}/orgstructure/<int:ou>/children/", "children"),
        (f"{lp}/orgstructure/<int:ou>/children/paged/", "children_paged"),
        (f"{lp}/orgstructure/<int:ou>/descendants/", "descendants"),
        (f"{lp}/orgstructure/<int:ou>/descendants/paged/", "descendants_paged"),
        (f"{lp}/orgstructure/<int:ou>/parents/", "parents"),
        (f"{lp}/orgstructure/<int:ou>/ancestors/", "ancestors"),
        (f"{lp}/courses/<int:ou>", "course"),
        (f"{lp}/<int:ou>/sections/", "sections"),
        (f"{lp}/users/", "users"),
        (f"{lp}/users/whoami", "whoami"),
        (f"{lp}/users/<int:uid>", "user"),
        (f"{lp}/enrollments/myenrollments/", "my_enrollments"),
        (f"{lp}/enrollments/orgUnits/<int:ou>/users/", "enrollments_by_org_unit"),
        (f"{lp}/enrollments/orgUnits/<int:ou>/users/<int:uid>", "enrollment"),
        (f"{lp}/enrollments/users/<int:uid>/orgUnits/", "enrollments_by_user"),
        (f"{le}/<int:ou>/classlist/", "classlist"),
        (f"{le}/<int:ou>/classlist/paged/", "classlist_paged"),
        (f"{le}/<int:ou>/grades/", "grade_objects"),
        (f"{le}/<int:ou>/grades/<int:go>", "grade_object"),
        (f"{le}/<int:ou>/grades/categories/", "grade_categories"),
        (f"{le}/<int:ou>/grades/categories/<int:cat>", "grade_category"),
        (f"{le}/<int:ou>/grades/setup/", "grade_setup"),
        (f"{le}/<int:ou>/grades/schemes/", "grade_schemes"),
        (f"{le}/<int:ou>/grades/schemes/<int:scheme>", "grade_scheme"),
        (f"{le}/<int:ou>/grades/<int:go>/values/", "grade_object_values"),
        (f"{le}/<int:ou>/grades/<int:go>/values/<int:uid>", "grade_object_value"),
        (f"{le}/<int:ou>/grades/values/", "grade_values"),
        (f"{le}/<int:ou>/grades/values/descendants/", "grade_values_descendants"),
        (f"{le}/<int:ou>/grades/final/values/", "final_values"),
        (f"{le}/<int:ou>/grades/final/values/<int:uid>", "final_value"),
        (f"{le}/<int:ou>/grades/exemptions/<int:uid>", "exemptions"),
        (f"{le}/<int:ou>/content/userprogress/", "content_user_progress"),
    ]
    rules = [Rule(path, endpoint=name, methods=get) for path, name in table]
    rules += [Rule(f"{lp}/{path}", endpoint=name, methods=list(m)) for path, name, m in datahub_routes.ROUTES]
    rules.append(Rule("/core/connect/token", endpoint="token", methods=["POST"]))
    return rules


def _json(data: Json, status: int = 200) -> Response:
    return Response(json.dumps(data, separators=(",", ":")), status=status, mimetype="application/json")


def _error(status: int, message: str) -> Response:
    return _json({"Errors": [{"Message": message}]}, status)


def _flag(value: str | None) -> bool | None:
    if value is None or value == "":
        return None
    if value.lower() in ("true", "1"):
        return True
    if value.lower() in ("false", "0"):
        return False
    raise BadRequest(f"{value!r} is not a boolean (true/false)")


def _int_param(value: str | None, name: str) -> int | None:
    if value is None or value == "":
        return None
    try:
        return int(value)
    except ValueError as exc:
        raise BadRequest(f"{name} must be an integer, not {value!r}") from exc


class BrightspaceApp:
    """The sandbox's WSGI callable."""

    def __init__(
        self,
        institution: Institution,
        tokens: TokenService,
        bucket: CreditBucket,
        hub: DataHub,
        latency: float = 0.0,
    ) -> None:
        """Wire the parts together.

        Args:
            institution: the data.
            tokens: the OAuth token service.
            bucket: the rate-limit bucket.
            hub: the Data Hub.
            latency: seconds to sleep before handling each request.
        """
        self.inst = institution
        self.tokens = tokens
        self.bucket = bucket
        self.hub = hub
        self.datahub = datahub_routes.DataHubRoutes(hub)
        self.latency = latency
        self.stats = Stats()
        self.faults = Faults()
        self.url_map = Map(_rules(), strict_slashes=False, converters={"lp": _LpVersion, "le": _LeVersion})

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        """WSGI entry point."""
        request = Request(environ)
        route, response = self._handle(request)
        self.stats.record(route, response.status_code)
        return response(environ, start_response)

    def _handle(self, request: Request) -> tuple[str, Response]:
        if self.latency:
            time.sleep(self.latency)
        adapter = self.url_map.bind_to_environ(request.environ)
        try:
            endpoint, args = adapter.match()
        except NotFound:
            return "<unmatched>", _error(404, f"no route {request.path} (check the product version)")
        except HTTPException as exc:  # 405 and the like
            return "<unmatched>", exc.get_response()
        if endpoint == "token":
            return endpoint, self.on_token(request)
        decision = None
        if endpoint not in PUBLIC_ENDPOINTS:
            if not self.tokens.check_access(request.headers.get("Authorization")):
                response = _json({"error": "invalid_token"}, 401)
                response.headers["WWW-Authenticate"] = 'Bearer error="invalid_token"'
                return endpoint, response
            fault = self.faults.take()
            if fault is not None:
                return endpoint, _error(fault, "injected fault")
            decision = self.bucket.spend()
            if not decision.allowed:
                response = _error(429, "Too Many Requests")
                response.headers.update(decision.headers)
                return endpoint, response
        try:
            handler = getattr(self, f"on_{endpoint}", None) or getattr(self.datahub, f"on_{endpoint}")
            args = {name: value for name, value in args.items() if name != "ver"}
            if endpoint in datahub_routes.SELF_LOCKING_ENDPOINTS:
                response = handler(request, **args)
            else:
                with self.inst.lock:
                    response = handler(request, **args)
        except ApiError as exc:
            response = _error(exc.status, str(exc))
        except (BadRequest, DataHubError) as exc:
            response = _error(getattr(exc, "status", 400), str(exc))
        if decision is not None:
            response.headers.update(decision.headers)
        return endpoint, response

    # -- helpers ---------------------------------------------------------------------------

    def _org_unit(self, ou: int) -> OrgUnit:
        unit = self.inst.org_units.get(ou)
        if unit is None:
            raise ApiError(404, f"org unit {ou} not found")
        return unit

    def _course(self, ou: int) -> Course:
        unit = self._org_unit(ou)
        if unit.type is not COURSE_OFFERING:
            raise ApiError(404, f"org unit {ou} is not a course offering")
        return self.inst.courses[ou]

    def _book(self, ou: int) -> tuple[Course, Gradebook]:
        course = self._course(ou)
        return course, self.inst.gradebook(course)

    def _user(self, uid: int) -> Any:
        user = self.inst.users.get(uid)
        if user is None:
            raise ApiError(404, f"user {uid} not found")
        return user

    @staticmethod
    def _after(keys: list[int], bookmark: str | None) -> int:
        if not bookmark:
            return 0
        try:
            return bisect_right(keys, int(bookmark))
        except ValueError as exc:
            raise BadRequest(f"bookmark {bookmark!r} is not valid for this route") from exc

    @staticmethod
    def _object_list(
        request: Request, entries: Iterator[tuple[str, Any]], render: Callable[[Any], Json]
    ) -> Response:
        size = page_size_param(request.args.get("pageSize"))
        params = request.args.to_dict()

        def next_url(bookmark: str) -> str:
            return url_with(request.base_url, params, bookmark=bookmark)

        return _json(object_list_page(entries, render, size, next_url))

    def _filtered_units(self, request: Request, ids: list[int], type_param: str) -> list[OrgUnit]:
        type_id = _int_param(request.args.get(type_param), type_param)
        code = request.args.get("orgUnitCode", "").lower()
        name = request.args.get("orgUnitName", "").lower()
        exact_code = request.args.get("exactOrgUnitCode")
        exact_name = request.args.get("exactOrgUnitName")
        units = []
        for ou in ids:
            unit = self.inst.org_units[ou]
            if type_id is not None and unit.type.id != type_id:
                continue
            if (code and code not in unit.code.lower()) or (name and name not in unit.name.lower()):
                continue
            if (exact_code is not None and unit.code != exact_code) or (
                exact_name is not None and unit.name != exact_name
            ):
                continue
            units.append(unit)
        return units

    @staticmethod
    def _paged_units(request: Request, units: list[OrgUnit]) -> Response:
        keys = [u.id for u in units]
        return _json(paged_result_set(units, keys, request.args.get("bookmark"), shapes.org_unit_properties))

    # -- auth and discovery ----------------------------------------------------------------

    def on_token(self, request: Request) -> Response:
        """POST /core/connect/token."""
        reply = self.tokens.token_request(request.form.to_dict(), request.headers.get("Authorization"))
        response = _json(reply.body, reply.status)
        response.headers["Cache-Control"] = "no-store"
        return response

    def on_versions(self, request: Request) -> Response:
        """GET /d2l/api/versions/: every product's versions."""
        return _json([self._product_block(p) for p in SUPPORTED_VERSIONS])

    def on_product_versions(self, request: Request, product: str) -> Response:
        """GET /d2l/api/{product}/versions/."""
        if product not in SUPPORTED_VERSIONS:
            raise ApiError(404, f"unknown product {product!r}")
        return _json(self._product_block(product))

    @staticmethod
    def _product_block(product: str) -> Json:
        versions = SUPPORTED_VERSIONS[product]
        return {"ProductCode": product, "LatestVersion": versions[-1], "SupportedVersions": list(versions)}

    # -- org structure (lp) ----------------------------------------------------------------

    def on_organization_info(self, request: Request) -> Response:
        """organization/info."""
        root = self.inst.org_units[ROOT_ORG_UNIT_ID]
        return _json({"Identifier": str(root.id), "Name": root.name, "TimeZone": "America/Toronto"})

    def on_org_unit_types(self, request: Request) -> Response:
        """outypes/: bare array."""
        return _json(
            [
                {"Id": t.id, "Code": t.code, "Name": t.name, "Description": "", "SortOrder": n}
                for n, t in enumerate(ORG_UNIT_TYPES.values())
            ]
        )

    def on_orgstructure(self, request: Request) -> Response:
        """orgstructure/: PagedResultSet of OrgUnitProperties."""
        return self._paged_units(
            request, self._filtered_units(request, self.inst.org_unit_ids, "orgUnitType")
        )

    def on_org_unit(self, request: Request, ou: int) -> Response:
        """orgstructure/{ou}."""
        return _json(shapes.org_unit_properties(self._org_unit(ou)))

    def on_children(self, request: Request, ou: int) -> Response:
        """orgstructure/{ou}/children/: bare array."""
        self._org_unit(ou)
        units = self._filtered_units(request, sorted(self.inst.children.get(ou, [])), "ouTypeId")
        return _json([shapes.org_unit_properties(u) for u in units])

    def on_children_paged(self, request: Request, ou: int) -> Response:
        """orgstructure/{ou}/children/paged/: PagedResultSet."""
        self._org_unit(ou)
        return self._paged_units(
            request, self._filtered_units(request, sorted(self.inst.children.get(ou, [])), "ouTypeId")
        )

    def on_descendants(self, request: Request, ou: int) -> Response:
        """orgstructure/{ou}/descendants/: bare array."""
        self._org_unit(ou)
        units = self._filtered_units(request, self.inst.descendants(ou), "ouTypeId")
        return _json([shapes.org_unit_properties(u) for u in units])

    def on_descendants_paged(self, request: Request, ou: int) -> Response:
        """orgstructure/{ou}/descendants/paged/: PagedResultSet."""
        self._org_unit(ou)
        return self._paged_units(
            request, self._filtered_units(request, self.inst.descendants(ou), "ouTypeId")
        )

    def on_parents(self, request: Request, ou: int) -> Response:
        """orgstructure/{ou}/parents/: bare array."""
        unit = self._org_unit(ou)
        units = self._filtered_units(request, sorted(unit.parent_ids), "ouTypeId")
        return _json([shapes.org_unit_properties(u) for u in units])

    def on_ancestors(self, request: Request, ou: int) -> Response:
        """orgstructure/{ou}/ancestors/: bare array."""
        self._org_unit(ou)
        units = self._filtered_units(request, self.inst.ancestors(ou), "ouTypeId")
        return _json([shapes.org_unit_properties(u) for u in units])

    def on_course(self, request: Request, ou: int) -> Response:
        """courses/{ou}: CourseOffering."""
        return _json(shapes.course_offering(self._course(ou)))

    def on_sections(self, request: Request, ou: int) -> Response:
        """{ou}/sections/: bare array of SectionData."""
        course = self._course(ou)
        return _json([shapes.section_data(course, s) for s in course.sections])

    # -- users and enrollments (lp) --------------------------------------------------------

    def on_users(self, request: Request) -> Response:
        """users/: PagedResultSet of UserData, or a bare array when filtered by a unique field."""
        lookups = {
            "orgDefinedId": lambda u, v: u.org_defined_id == v,
            "userName": lambda u, v: u.user_name.lower() == v.lower(),
            "externalEmail": lambda u, v: (u.email or "").lower() == v.lower(),
        }
        for param, matches in lookups.items():
            value = request.args.get(param)
            if value:
                found = [
                    self.inst.users[uid] for uid in self.inst.user_ids if matches(self.inst.users[uid], value)
                ]
                if not found:
                    raise ApiError(404, f"no user with {param}={value}")
                return _json([shapes.user_data(u) for u in found])
        users = [self.inst.users[uid] for uid in self.inst.user_ids]
        return _json(
            paged_result_set(users, self.inst.user_ids, request.args.get("bookmark"), shapes.user_data)
        )

    def on_whoami(self, request: Request) -> Response:
        """users/whoami: the integration user the tokens act as."""
        return _json(shapes.who_am_i(self.inst.users[self.inst.admin_id]))

    def on_user(self, request: Request, uid: int) -> Response:
        """users/{userId}."""
        return _json(shapes.user_data(self._user(uid)))

    def on_my_enrollments(self, request: Request) -> Response:
        """enrollments/myenrollments/: the integration user has no course enrollments."""
        return _json(paged_result_set([], [], request.args.get("bookmark"), lambda x: x))

    def on_enrollments_by_org_unit(self, request: Request, ou: int) -> Response:
        """enrollments/orgUnits/{ou}/users/: PagedResultSet of OrgUnitUser."""
        self._org_unit(ou)
        course = self.inst.courses.get(ou)
        role_id = _int_param(request.args.get("roleId"), "roleId")
        entries = []
        if course is not None:
            for uid in course.enrolled_user_ids():
                enrollment = course.enrollments[uid]
                if role_id is None or enrollment.role.id == role_id:
                    entries.append((self.inst.users[uid], enrollment))
        keys = [user.id for user, _ in entries]
        return _json(
            paged_result_set(entries, keys, request.args.get("bookmark"), lambda e: shapes.org_unit_user(*e))
        )

    def on_enrollment(self, request: Request, ou: int, uid: int) -> Response:
        """enrollments/orgUnits/{ou}/users/{userId}: EnrollmentData."""
        course = self._course(ou)
        enrollment = course.enrollments.get(uid)
        if enrollment is None:
            raise ApiError(404, f"user {uid} is not enrolled in {ou}")
        return _json(shapes.enrollment_data(enrollment))

    def on_enrollments_by_user(self, request: Request, uid: int) -> Response:
        """enrollments/users/{userId}/orgUnits/: PagedResultSet of UserOrgUnit."""
        self._user(uid)
        role_id = _int_param(request.args.get("roleId"), "roleId")
        type_id = _int_param(request.args.get("orgUnitTypeId"), "orgUnitTypeId")
        entries = []
        for ou in self.inst.user_courses.get(uid, []):
            unit = self.inst.org_units[ou]
            enrollment = self.inst.courses[ou].enrollments[uid]
            if (role_id is None or enrollment.role.id == role_id) and (
                type_id is None or unit.type.id == type_id
            ):
                entries.append((unit, enrollment))
        keys = [unit.id for unit, _ in entries]
        return _json(
            paged_result_set(entries, keys, request.args.get("bookmark"), lambda e: shapes.user_org_unit(*e))
        )

    # -- classlist (le) --------------------------------------------------------------------

    def _classlist_entries(self, request: Request, course: Course) -> list[int]:
        role_id = _int_param(request.args.get("roleId"), "roleId")
        students_only = _flag(request.args.get("onlyShowShownInGrades"))
        uids = []
        for uid in course.enrolled_user_ids():
            role = course.enrollments[uid].role
            if (role_id is None or role.id == role_id) and (not students_only or role is STUDENT):
                uids.append(uid)
        return uids

    def _classlist_user(self, course: Course, uid: int) -> Json:
        return shapes.classlist_user(self.inst.users[uid], course.enrollments[uid])

    def on_classlist(self, request: Request, ou: int) -> Response:
        """{ou}/classlist/: bare array of ClasslistUser."""
        course = self._course(ou)
        return _json([self._classlist_user(course, uid) for uid in self._classlist_entries(request, course)])

    def on_classlist_paged(self, request: Request, ou: int) -> Response:
        """{ou}/classlist/paged/: ObjectListPage of ClasslistUser."""
        course = self._course(ou)
        uids = self._classlist_entries(request, course)
        start = self._after(uids, request.args.get("bookmark"))
        entries = ((str(uid), uid) for uid in uids[start:])
        return self._object_list(request, entries, lambda uid: self._classlist_user(course, uid))

    # -- grades (le) -----------------------------------------------------------------------

    def on_grade_objects(self, request: Request, ou: int) -> Response:
        """{ou}/grades/: bare array of GradeObject."""
        _, book = self._book(ou)
        return _json([shapes.grade_object(book, item) for item in book.items])

    def on_grade_object(self, request: Request, ou: int, go: int) -> Response:
        """{ou}/grades/{gradeObjectId}."""
        _, book = self._book(ou)
        if go not in book.item_pos:
            raise ApiError(404, f"grade object {go} not found in {ou}")
        return _json(shapes.grade_object(book, book.items[book.item_pos[go]]))

    def on_grade_categories(self, request: Request, ou: int) -> Response:
        """{ou}/grades/categories/: bare array of GradeObjectCategory."""
        _, book = self._book(ou)
        return _json([shapes.grade_category(book, c) for c in book.categories])

    def on_grade_category(self, request: Request, ou: int, cat: int) -> Response:
        """{ou}/grades/categories/{categoryId}."""
        _, book = self._book(ou)
        for category in book.categories:
            if category.id == cat:
                return _json(shapes.grade_category(book, category))
        raise ApiError(404, f"grade category {cat} not found in {ou}")

    def on_grade_setup(self, request: Request, ou: int) -> Response:
        """{ou}/grades/setup/: GradeSetupInfo."""
        _, book = self._book(ou)
        return _json(shapes.grade_setup(book))

    def on_grade_schemes(self, request: Request, ou: int) -> Response:
        """{ou}/grades/schemes/: bare array of GradeScheme."""
        self._course(ou)
        return _json([shapes.GRADE_SCHEME])

    def on_grade_scheme(self, request: Request, ou: int, scheme: int) -> Response:
        """{ou}/grades/schemes/{schemeId}."""
        self._course(ou)
        if scheme != shapes.GRADE_SCHEME["Id"]:
            raise ApiError(404, f"grade scheme {scheme} not found")
        return _json(shapes.GRADE_SCHEME)

    def _item_index(self, book: Gradebook, go: int) -> int:
        k = book.item_pos.get(go)
        if k is None:
            raise ApiError(404, f"grade object {go} not found in {book.ou}")
        return k

    def on_grade_object_values(self, request: Request, ou: int, go: int) -> Response:
        """{ou}/grades/{gradeObjectId}/values/: ObjectListPage of UserGradeValue (GradeValue null if none)."""
        _, book = self._book(ou)
        k = self._item_index(book, go)
        graded = _flag(request.args.get("isGraded"))
        start = self._after(list(book.students), request.args.get("bookmark"))

        def entries() -> Iterator[tuple[str, int]]:
            for s in range(start, len(book.students)):
                if book.enrolled[s] and (graded is None or book.has_value(k, s) == graded):
                    yield str(book.students[s]), s

        def render(s: int) -> Json:
            value = shapes.grade_value(book, k, s, bulk=False) if book.has_value(k, s) else None
            return shapes.user_grade_value(self.inst.users[book.students[s]], value)

        return self._object_list(request, entries(), render)

    def on_grade_object_value(self, request: Request, ou: int, go: int, uid: int) -> Response:
        """{ou}/grades/{gradeObjectId}/values/{userId}: one GradeValue."""
        _, book = self._book(ou)
        k = self._item_index(book, go)
        s = book.student_pos.get(uid)
        if s is None or not book.has_value(k, s):
            raise ApiError(404, f"no grade value for user {uid} on {go}")
        return _json(shapes.grade_value(book, k, s, bulk=False))

    @staticmethod
    def _bulk_entries(
        book: Gradebook, type_id: int | None, since: float | None, after: tuple[int, ...] | None
    ) -> Iterator[tuple[str, tuple[Gradebook, int, int]]]:
        for k, item in enumerate(book.items):
            if (type_id is not None and item.type_id != type_id) or (
                after is not None and item.id < after[0]
            ):
                continue
            first = bisect_right(book.students, after[1]) if after is not None and item.id == after[0] else 0
            states, modified = book.state[k], book.modified[k]
            for s in range(first, len(book.students)):
                if states[s] and book.enrolled[s] and (since is None or modified[s] >= since):
                    yield f"{item.id}_{book.students[s]}", (book, k, s)

    @staticmethod
    def _bulk_filters(request: Request) -> tuple[int | None, float | None]:
        type_id = _int_param(request.args.get("gradeObjectTypeId"), "gradeObjectTypeId")
        since_text = request.args.get("modifiedSince")
        try:
            since = parse_utc(since_text) if since_text else None
        except ValueError as exc:
            raise BadRequest(str(exc)) from exc
        return type_id, since

    @staticmethod
    def _bookmark_parts(bookmark: str | None, parts: int) -> tuple[int, ...] | None:
        if not bookmark:
            return None
        try:
            values = tuple(int(p) for p in bookmark.split("_"))
        except ValueError:
            values = ()
        if len(values) != parts:
            raise BadRequest(f"bookmark {bookmark!r} is not valid for this route")
        return values

    @staticmethod
    def _render_value(entry: tuple[Gradebook, int, int]) -> Json:
        book, k, s = entry
        return shapes.grade_value(book, k, s, bulk=True)

    def on_grade_values(self, request: Request, ou: int) -> Response:
        """{ou}/grades/values/: ObjectListPage of GradeValue with UserId and OrgUnitId.

        `modifiedSince` keeps values whose LastModified is at or after it (inclusive; UNCONFIRMED).
        """
        _, book = self._book(ou)
        type_id, since = self._bulk_filters(request)
        after = self._bookmark_parts(request.args.get("bookmark"), 2)
        entries = self._bulk_entries(book, type_id, since, after)
        return self._object_list(request, entries, self._render_value)

    def on_grade_values_descendants(self, request: Request, ou: int) -> Response:
        """{ou}/grades/values/descendants/: the bulk values of every course offering at or below {ou}."""
        self._org_unit(ou)
        type_id, since = self._bulk_filters(request)
        include_inactive = bool(_flag(request.args.get("includeInactiveCourses")))
        after = self._bookmark_parts(request.args.get("bookmark"), 3)
        courses = [c for c in self.inst.courses_under(ou) if include_inactive or c.ou.is_active]

        def entries() -> Iterator[tuple[str, tuple[Gradebook, int, int]]]:
            for course in courses:
                if after is not None and course.ou.id < after[0]:
                    continue
                resume = after[1:] if after is not None and course.ou.id == after[0] else None
                book = self.inst.gradebook(course)
                for key, entry in self._bulk_entries(book, type_id, since, resume):
                    yield f"{course.ou.id}_{key}", entry

        return self._object_list(request, entries(), self._render_value)

    def on_final_values(self, request: Request, ou: int) -> Response:
        """{ou}/grades/final/values/: ObjectListPage of UserGradeValue (Final Calculated Grade)."""
        _, book = self._book(ou)
        start = self._after(list(book.students), request.args.get("bookmark"))

        def entries() -> Iterator[tuple[str, int]]:
            for s in range(start, len(book.students)):
                if book.enrolled[s]:
                    yield str(book.students[s]), s

        def render(s: int) -> Json:
            return shapes.user_grade_value(
                self.inst.users[book.students[s]], shapes.final_grade_value(book, s)
            )

        return self._object_list(request, entries(), render)

    def on_final_value(self, request: Request, ou: int, uid: int) -> Response:
        """{ou}/grades/final/values/{userId}: the calculated final grade (no adjusted grades exist here)."""
        _, book = self._book(ou)
        grade_type = (request.args.get("gradeType") or "calculated").lower()
        if grade_type not in ("calculated", "adjusted"):
            raise BadRequest("gradeType must be Calculated or Adjusted")
        s = book.student_pos.get(uid)
        value = shapes.final_grade_value(book, s) if s is not None and book.enrolled[s] else None
        if value is None or grade_type == "adjusted":
            raise ApiError(404, f"no {grade_type} final grade for user {uid} in {ou}")
        return _json(value)

    def on_exemptions(self, request: Request, ou: int, uid: int) -> Response:
        """{ou}/grades/exemptions/{userId}: bare array of the user's exempted grade objects."""
        _, book = self._book(ou)
        s = book.student_pos.get(uid)
        if s is None or not book.enrolled[s]:
            raise ApiError(404, f"user {uid} is not a student of {ou}")
        return _json(
            [shapes.exemption(book, k, uid) for k in range(len(book.items)) if shapes.is_exempt(book, k, s)]
        )

    # -- content progress (le; content.py) -------------------------------------------------

    def on_content_user_progress(self, request: Request, ou: int) -> Response:
        """{ou}/content/userprogress/: ObjectListPage of UserProgressData (pageSize default 20)."""
        course = self._course(ou)
        users = {_int_param(v, "userId") for v in request.args.getlist("userId")}
        objects = {_int_param(v, "objectId") for v in request.args.getlist("objectId")}
        size = page_size_param(request.args.get("pageSize") or str(CONTENT_PAGE_SIZE))
        after: tuple[int, ...] | None = None
        bookmark = request.args.get("bookmark")
        if bookmark:
            parts = bookmark.split("_")
            if len(parts) != 2 or not all(p.isdigit() for p in parts):
                raise BadRequest(f"bookmark {bookmark!r} is not valid for this route")
            after = (int(parts[0]), int(parts[1]))
        records = [
            p
            for p in course_progress(self.inst, course)
            if (not users or p.user_id in users)
            and (not objects or p.object_id in objects)
            and (after is None or (p.user_id, p.object_id) > after)
        ]
        # repeated userId / objectId filters stay in the Next URL
        kept = [(k, v) for k, v in request.args.items(multi=True) if k != "bookmark"]
        return _json(
            object_list_page(
                ((f"{p.user_id}_{p.object_id}", p) for p in records),
                lambda p: p.as_json(),
                size,
                lambda last: f"{request.base_url}?{urlencode([*kept, ('bookmark', last)])}",
            )
        )
