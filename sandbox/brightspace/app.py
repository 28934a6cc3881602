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

from .datahub import DataHub, DataHubError, Extract
from .datasets import DATA_SETS, DataSet
from .http import SUPPORTED_VERSIONS, ApiError, Json, error_response, json_response
from .http import json_response as _json  # the Data Hub routes' name, until they move out
from .institution import Institution
from .oauth import TokenService
from .pagination import BadRequest
from .routes.grades import GradeRoutes
from .routes.org_units import OrgUnitRoutes
from .throttle import CreditBucket
from .timestamps import to_utc_string

log = logging.getLogger(__name__)

PUBLIC_ENDPOINTS = frozenset({"versions", "product_versions"})
# Data Hub routes build files from snapshots and take the institution's lock themselves, briefly.
SELF_LOCKING_ENDPOINTS = frozenset(
    {
        "export_create",
        "bds_data_sets",
        "bds_schema_extracts",
        "bds_plugin_extracts",
        "bds_extract",
        "bds_extract_download",
        "bds_list",
        "bds_download",
    }
)


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
        (f"{lp}/dataExport/list", "export_list"),
        (f"{lp}/dataExport/list/<data_set_id>", "export_data_set"),
        (f"{lp}/dataExport/jobs", "export_jobs"),
        (f"{lp}/dataExport/jobs/<job_id>", "export_job"),
        (f"{lp}/dataExport/download/<job_id>", "export_download"),
        (f"{lp}/dataExport/bds/list", "bds_list"),
        (f"{lp}/dataExport/bds/download/<plugin_id>", "bds_download"),
        (f"{lp}/datasets/bds", "bds_data_sets"),
        (f"{lp}/datasets/bds/<schema_id>/extracts", "bds_schema_extracts"),
        (f"{lp}/datasets/bds/<schema_id>/plugins/<plugin_id>/extracts", "bds_plugin_extracts"),
        (f"{lp}/datasets/bds/<schema_id>/plugins/<plugin_id>/extracts/<extract_id>", "bds_extract"),
        (
            f"{lp}/datasets/bds/<schema_id>/plugins/<plugin_id>/extracts/<extract_id>/download",
            "bds_extract_download",
        ),
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
    rules.append(Rule(f"{lp}/dataExport/create", endpoint="export_create", methods=["POST"]))
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
            handler = getattr(self, f"on_{endpoint}")
            args = {name: value for name, value in args.items() if name != "ver"}
            if endpoint in SELF_LOCKING_ENDPOINTS:
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

    # -- Data Hub: export jobs (lp) --------------------------------------------------------

    def on_export_list(self, request: Request) -> Response:
        """dataExport/list: bare array of DataSetData."""
        return _json([self.hub.data_set_data(d) for d in DATA_SETS])

    def on_export_data_set(self, request: Request, data_set_id: str) -> Response:
        """dataExport/list/{dataSetId}."""
        data_set = self.hub.find(data_set_id)
        if data_set is None:
            raise ApiError(404, f"no data set {data_set_id!r}")
        return _json(self.hub.data_set_data(data_set))

    def on_export_create(self, request: Request) -> Response:
        """POST dataExport/create: submit a job; answers ExportJobData (Status 0)."""
        body = request.get_json(force=True, silent=True)
        return _json(self.hub.job_data(self.hub.create_job(body)))

    def on_export_jobs(self, request: Request) -> Response:
        """dataExport/jobs: bare array of ExportJobData (envelope UNCONFIRMED)."""
        return _json([self.hub.job_data(job) for job in self.hub.jobs()])

    def on_export_job(self, request: Request, job_id: str) -> Response:
        """dataExport/jobs/{exportJobId}."""
        job = self.hub.job(job_id)
        if job is None:
            raise ApiError(404, f"no export job {job_id!r}")
        return _json(self.hub.job_data(job))

    def on_export_download(self, request: Request, job_id: str) -> Response:
        """dataExport/download/{exportJobId}: the ZIP of a Complete job."""
        job, content = self.hub.download(job_id)
        return _zip(content, job.data_set.file_stem)

    # -- Data Hub: BDS extracts (lp) -------------------------------------------------------

    def _bds_link(self, request: Request, version: str, extract: Extract) -> str:
        return (
            f"{request.host_url}d2l/api/lp/{version}/datasets/bds/{extract.data_set.schema_id}/plugins/"
            f"{extract.plugin_id}/extracts/{extract.id}/download"
        )

    def _extract_block(self, request: Request, version: str, extract: Extract) -> Json:
        return {
            "SchemaId": extract.data_set.schema_id,
            "PluginId": extract.plugin_id,
            "ExtractId": extract.id,
            "BdsType": extract.bds_type,
            "CreatedDate": to_utc_string(extract.created),
            "DownloadLink": self._bds_link(request, version, extract),
            "DownloadSize": len(self.hub.extract_zip(extract)),
            "Version": "1",
        }

    def _plugin_block(self, request: Request, version: str, data_set: DataSet, extract: Extract) -> Json:
        return {
            "PluginId": extract.plugin_id,
            "Name": data_set.name if extract.since is None else f"{data_set.name} Differential",
            "Description": data_set.description,
            "ExtractsLink": (
                f"{request.host_url}d2l/api/lp/{version}/datasets/bds/{data_set.schema_id}/plugins/"
                f"{extract.plugin_id}/extracts"
            ),
            "CreatedDate": to_utc_string(extract.created),
            "DownloadLink": self._bds_link(request, version, extract),  # its latest extract
        }

    @staticmethod
    def _version(request: Request) -> str:
        return request.path.split("/")[4]

    def on_bds_data_sets(self, request: Request) -> Response:
        """datasets/bds: ObjectListPage of {SchemaId, Full, Differential}."""
        version = self._version(request)
        start = self._after(list(range(len(DATA_SETS))), request.args.get("bookmark"))

        def render(data_set: DataSet) -> Json:
            extracts = self.hub.extracts(data_set)
            full = next(e for e in extracts if e.since is None)
            diff = next(e for e in extracts if e.since is not None)
            return {
                "SchemaId": data_set.schema_id,
                "Full": self._plugin_block(request, version, data_set, full),
                "Differential": self._plugin_block(request, version, data_set, diff),
            }

        entries = ((str(n), DATA_SETS[n]) for n in range(start, len(DATA_SETS)))
        return self._object_list(request, entries, render)

    def _schema(self, schema_id: str) -> DataSet:
        for data_set in DATA_SETS:
            if data_set.schema_id == schema_id.lower():
                return data_set
        raise ApiError(404, f"no data set schema {schema_id!r}")

    def _extract_list(self, request: Request, extracts: list[Extract]) -> Response:
        version = self._version(request)
        start = self._after(list(range(len(extracts))), request.args.get("bookmark"))
        entries = ((str(n), extracts[n]) for n in range(start, len(extracts)))
        return self._object_list(request, entries, lambda e: self._extract_block(request, version, e))

    def on_bds_schema_extracts(self, request: Request, schema_id: str) -> Response:
        """datasets/bds/{schemaId}/extracts: ObjectListPage of every extract, newest first."""
        return self._extract_list(request, self.hub.extracts(self._schema(schema_id)))

    def _plugin_extracts(self, schema_id: str, plugin_id: str) -> list[Extract]:
        extracts = [e for e in self.hub.extracts(self._schema(schema_id)) if e.plugin_id == plugin_id.lower()]
        if not extracts:
            raise ApiError(404, f"no plugin {plugin_id!r} in schema {schema_id!r}")
        return extracts

    def on_bds_plugin_extracts(self, request: Request, schema_id: str, plugin_id: str) -> Response:
        """datasets/bds/{schemaId}/plugins/{pluginId}/extracts: ObjectListPage, newest first."""
        return self._extract_list(request, self._plugin_extracts(schema_id, plugin_id))

    def _one_extract(self, schema_id: str, plugin_id: str, extract_id: str) -> Extract:
        for extract in self._plugin_extracts(schema_id, plugin_id):
            if extract.id == extract_id.lower():
                return extract
        raise ApiError(404, f"no extract {extract_id!r}")

    def on_bds_extract(self, request: Request, schema_id: str, plugin_id: str, extract_id: str) -> Response:
        """datasets/bds/{schemaId}/plugins/{pluginId}/extracts/{extractId}: one extract's metadata."""
        extract = self._one_extract(schema_id, plugin_id, extract_id)
        return _json(self._extract_block(request, self._version(request), extract))

    def on_bds_extract_download(
        self, request: Request, schema_id: str, plugin_id: str, extract_id: str
    ) -> Response:
        """The extract's ZIP (its DownloadLink)."""
        extract = self._one_extract(schema_id, plugin_id, extract_id)
        return _zip(self.hub.extract_zip(extract), extract.data_set.file_stem)

    def on_bds_list(self, request: Request) -> Response:
        """dataExport/bds/list (older API): bare array of the Full data sets."""
        version = self._version(request)
        out = []
        for data_set in DATA_SETS:
            full = next(e for e in self.hub.extracts(data_set) if e.since is None)
            out.append(
                {
                    "PluginId": data_set.plugin_id,
                    "Name": data_set.name,
                    "Description": data_set.description,
                    "FullDataSet": True,
                    "CreatedDate": to_utc_string(full.created),
                    "DownloadLink": f"{request.host_url}d2l/api/lp/{version}/dataExport/bds/download/{data_set.plugin_id}",
                    "DownloadSize": len(self.hub.extract_zip(full)),
                    "Version": "1",
                    "PreviousDataSets": [],
                    "QueuedForProcessingDate": to_utc_string(full.created),
                }
            )
        return _json(out)

    def on_bds_download(self, request: Request, plugin_id: str) -> Response:
        """dataExport/bds/download/{pluginId} (older API): the latest Full extract's ZIP."""
        data_set = self.hub.find(plugin_id)
        if data_set is None:
            raise ApiError(404, f"no data set plugin {plugin_id!r}")
        full = next(e for e in self.hub.extracts(data_set) if e.since is None)
        return _zip(self.hub.extract_zip(full), data_set.file_stem)


def _zip(content: bytes, stem: str) -> Response:
    response = Response(content, mimetype="application/zip")
    response.headers["Content-Disposition"] = f'attachment; filename="{stem}.zip"'
    return response
