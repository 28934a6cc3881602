"""The WSGI application: Valence routes (lp, le), the OAuth token endpoint and the Data Hub.

Request handling order: latency sleep; route match (unknown route or unsupported version -> 404);
the token endpoint and `versions` need no Bearer token and are not rate limited; every other route
needs a live Bearer access token (401 otherwise), then may hit an injected fault, then spends credits
(429 when the bucket is empty), then runs under the institution's lock.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from werkzeug.exceptions import HTTPException, NotFound
from werkzeug.routing import BaseConverter, Map, Rule, ValidationError
from werkzeug.wrappers import Request, Response

from . import datahub_routes
from .datahub import DataHub, DataHubError
from .http import SUPPORTED_VERSIONS, ApiError, error_response, json_response
from .institution import Institution
from .oauth import TokenService
from .pagination import BadRequest
from .routes.grades import GradeRoutes
from .routes.org_units import OrgUnitRoutes
from .throttle import CreditBucket

log = logging.getLogger(__name__)

PUBLIC_ENDPOINTS = frozenset({"versions", "product_versions"})


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


class BrightspaceApp(OrgUnitRoutes, GradeRoutes):
    """The sandbox's WSGI callable: routing, auth, throttling and faults over the route rooms (routes/)."""

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
            return "<unmatched>", error_response(404, f"no route {request.path} (check the product version)")
        except HTTPException as exc:  # 405 and the like
            return "<unmatched>", exc.get_response()
        if endpoint == "token":
            return endpoint, self.on_token(request)
        decision = None
        if endpoint not in PUBLIC_ENDPOINTS:
            refusal = self.tokens.refusal(request.headers.get("Authorization"))
            if refusal == "refresh_token_not_persisted":  # a test's check, see oauth.py
                return endpoint, json_response({"error": refusal}, 400)
            if refusal is not None:
                response = json_response({"error": "invalid_token"}, 401)
                response.headers["WWW-Authenticate"] = 'Bearer error="invalid_token"'
                return endpoint, response
            fault = self.faults.take()
            if fault is not None:
                return endpoint, error_response(fault, "injected fault")
            decision = self.bucket.spend()
            if not decision.allowed:
                response = error_response(429, "Too Many Requests")
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
            response = error_response(exc.status, str(exc))
        except (BadRequest, DataHubError) as exc:
            response = error_response(getattr(exc, "status", 400), str(exc))
        if decision is not None:
            response.headers.update(decision.headers)
        return endpoint, response
