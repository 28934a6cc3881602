"""The Data Hub's routes (lp): BDS in both API generations and the ADS export-job API.

BDS, current API (docs/brightspace-api.md §6.1; brightspaceR reads these fields): `datasets/bds` is an
ObjectListPage of `{SchemaId, Full: {PluginId, Name, Description, CreatedDate, DownloadLink, ...},
Differential: {...}}`; `datasets/bds/{schemaId}/extracts` and `.../plugins/{pluginId}/extracts` are
ObjectListPages of `{SchemaId, PluginId, BdsType, CreatedDate, DownloadLink, DownloadSize, Version}`,
newest first; `.../extracts/{extractId}` is one of them. The extract also carries `ExtractId`
(UNCONFIRMED: the route has the id, the field name is ours). DownloadLink's form is UNCONFIRMED.

BDS, older API: `dataExport/bds/list` is a bare array of `BrightspaceDataSetReportInfo` and
`dataExport/bds?page=&pageSize=` pages them as `{BrightspaceDataSets, NextPageUrl, PrevPageUrl}`
(petersons/d2l-client). Each plugin (Full and Differential) is one item with its latest extract and
`PreviousDataSets` (its older extracts, same fields; UNCONFIRMED shape). `dataExport/bds/download/{pluginId}`
and D2L's sample's `dataExport/bds/{pluginId}` answer the plugin's latest ZIP. Pages count from 1 with 100
items by default (UNCONFIRMED).

ADS: `dataExport/list`, `list/{id}`, `create`, `jobs`, `jobs/{id}`, `download/{id}` (§6.2), over the ADS
catalogue only.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from werkzeug.wrappers import Request, Response

from .advanced_datasets import ADS_DATA_SETS
from .datahub import DataHub, DataHubError, Extract
from .datasets import DATA_SETS, DataSet
from .http import json_response as _json
from .pagination import BadRequest, object_list_page, page_size_param, url_with
from .timestamps import to_utc_string

OLD_API_PAGE_SIZE = 100

# (path below /d2l/api/lp/<version>/, endpoint, methods)
ROUTES: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("dataExport/list", "export_list", ("GET",)),
    ("dataExport/list/<data_set_id>", "export_data_set", ("GET",)),
    ("dataExport/create", "export_create", ("POST",)),
    ("dataExport/jobs", "export_jobs", ("GET",)),
    ("dataExport/jobs/<job_id>", "export_job", ("GET",)),
    ("dataExport/download/<job_id>", "export_download", ("GET",)),
    ("dataExport/bds/list", "bds_list", ("GET",)),
    ("dataExport/bds", "bds_pages", ("GET",)),
    ("dataExport/bds/download/<plugin_id>", "bds_download", ("GET",)),
    ("dataExport/bds/<plugin_id>", "bds_download", ("GET",)),
    ("datasets/bds", "bds_data_sets", ("GET",)),
    ("datasets/bds/<schema_id>/extracts", "bds_schema_extracts", ("GET",)),
    ("datasets/bds/<schema_id>/plugins/<plugin_id>/extracts", "bds_plugin_extracts", ("GET",)),
    ("datasets/bds/<schema_id>/plugins/<plugin_id>/extracts/<extract_id>", "bds_extract", ("GET",)),
    (
        "datasets/bds/<schema_id>/plugins/<plugin_id>/extracts/<extract_id>/download",
        "bds_extract_download",
        ("GET",),
    ),
)
# these build files from snapshots and take the institution's lock themselves, briefly
SELF_LOCKING_ENDPOINTS = frozenset(name for _, name, _ in ROUTES if name.startswith("bds_")) | {
    "export_create"
}


def _zip(content: bytes, stem: str) -> Response:
    response = Response(content, mimetype="application/zip")
    response.headers["Content-Disposition"] = f'attachment; filename="{stem}.zip"'
    return response


def _index_param(value: str | None, name: str, first: int) -> int:
    if not value:
        return first
    try:
        number = int(value)
    except ValueError as exc:
        raise BadRequest(f"{name} must be an integer, not {value!r}") from exc
    if number < first:
        raise BadRequest(f"{name} must be at least {first}")
    return number


class DataHubRoutes:
    """Handlers `on_<endpoint>` of the Data Hub routes, over one `DataHub`."""

    def __init__(self, hub: DataHub) -> None:
        """Serve `hub`."""
        self.hub = hub

    # -- helpers ---------------------------------------------------------------------------

    @staticmethod
    def _lp(request: Request) -> str:
        """`http://host/d2l/api/lp/<version>/` of this request."""
        return f"{request.host_url}d2l/api/lp/{request.path.split('/')[4]}/"

    def _object_list(self, request: Request, items: list[Any], render: Callable[[Any], Any]) -> Response:
        size = page_size_param(request.args.get("pageSize"))
        start = _index_param(request.args.get("bookmark"), "bookmark", 0)
        params = request.args.to_dict()
        entries = ((str(n + 1), items[n]) for n in range(start, len(items)))
        return _json(
            object_list_page(entries, render, size, lambda b: url_with(request.base_url, params, bookmark=b))
        )

    def _link(self, request: Request, extract: Extract) -> str:
        return (
            f"{self._lp(request)}datasets/bds/{extract.data_set.schema_id}/plugins/{extract.plugin_id}/"
            f"extracts/{extract.id}/download"
        )

    def _extract_block(self, request: Request, extract: Extract) -> dict[str, Any]:
        return {
            "SchemaId": extract.data_set.schema_id,
            "PluginId": extract.plugin_id,
            "ExtractId": extract.id,
            "BdsType": extract.bds_type,
            "CreatedDate": to_utc_string(extract.created),
            "DownloadLink": self._link(request, extract),
            "DownloadSize": len(self.hub.extract_zip(extract)),
            "Version": "1",
        }

    @staticmethod
    def _plugin_name(extract: Extract) -> str:
        # the Differential plugin's name is UNCONFIRMED
        return extract.data_set.name if extract.since is None else f"{extract.data_set.name} Differential"

    def _plugin_block(self, request: Request, extract: Extract) -> dict[str, Any]:
        data_set = extract.data_set
        return {
            "PluginId": extract.plugin_id,
            "Name": self._plugin_name(extract),
            "Description": data_set.description,
            "ExtractsLink": (
                f"{self._lp(request)}datasets/bds/{data_set.schema_id}/plugins/{extract.plugin_id}/extracts"
            ),
            "CreatedDate": to_utc_string(extract.created),
            "DownloadLink": self._link(request, extract),  # its latest extract
            "DownloadSize": len(self.hub.extract_zip(extract)),
        }

    @staticmethod
    def _schema(schema_id: str) -> DataSet:
        for data_set in DATA_SETS:
            if data_set.schema_id == schema_id.lower():
                return data_set
        raise DataHubError(404, f"no data set schema {schema_id!r}")

    def _plugin_extracts(self, schema_id: str, plugin_id: str) -> list[Extract]:
        extracts = [e for e in self.hub.extracts(self._schema(schema_id)) if e.plugin_id == plugin_id.lower()]
        if not extracts:
            raise DataHubError(404, f"no plugin {plugin_id!r} in schema {schema_id!r}")
        return extracts

    def _one_extract(self, schema_id: str, plugin_id: str, extract_id: str) -> Extract:
        for extract in self._plugin_extracts(schema_id, plugin_id):
            if extract.id == extract_id.lower():
                return extract
        raise DataHubError(404, f"no extract {extract_id!r}")

    # -- BDS, current API ------------------------------------------------------------------

    def on_bds_data_sets(self, request: Request) -> Response:
        """datasets/bds: ObjectListPage of {SchemaId, Full, Differential}."""

        def render(data_set: DataSet) -> dict[str, Any]:
            return {
                "SchemaId": data_set.schema_id,
                "Full": self._plugin_block(request, self.hub.latest(data_set, full=True)),
                "Differential": self._plugin_block(request, self.hub.latest(data_set, full=False)),
            }

        return self._object_list(request, list(DATA_SETS), render)

    def on_bds_schema_extracts(self, request: Request, schema_id: str) -> Response:
        """datasets/bds/{schemaId}/extracts: every extract of the data set, newest first."""
        extracts = self.hub.extracts(self._schema(schema_id))
        return self._object_list(request, extracts, lambda e: self._extract_block(request, e))

    def on_bds_plugin_extracts(self, request: Request, schema_id: str, plugin_id: str) -> Response:
        """datasets/bds/{schemaId}/plugins/{pluginId}/extracts: the plugin's extracts, newest first."""
        extracts = self._plugin_extracts(schema_id, plugin_id)
        return self._object_list(request, extracts, lambda e: self._extract_block(request, e))

    def on_bds_extract(self, request: Request, schema_id: str, plugin_id: str, extract_id: str) -> Response:
        """datasets/bds/{schemaId}/plugins/{pluginId}/extracts/{extractId}: one extract."""
        return _json(self._extract_block(request, self._one_extract(schema_id, plugin_id, extract_id)))

    def on_bds_extract_download(
        self, request: Request, schema_id: str, plugin_id: str, extract_id: str
    ) -> Response:
        """The extract's ZIP (its DownloadLink)."""
        extract = self._one_extract(schema_id, plugin_id, extract_id)
        return _zip(self.hub.extract_zip(extract), extract.data_set.file_stem)

    # -- BDS, older API --------------------------------------------------------------------

    def _report_info(self, request: Request, extracts: list[Extract]) -> dict[str, Any]:
        """BrightspaceDataSetReportInfo of a plugin: its latest extract, the older ones listed."""
        latest, *older = extracts

        def block(extract: Extract) -> dict[str, Any]:
            return {
                "PluginId": extract.plugin_id,
                "Name": self._plugin_name(extract),
                "CreatedDate": to_utc_string(extract.created),
                "DownloadLink": f"{self._lp(request)}dataExport/bds/download/{extract.plugin_id}",
                "DownloadSize": len(self.hub.extract_zip(extract)),
            }

        return {
            **block(latest),
            "Description": latest.data_set.description,
            "FullDataSet": latest.since is None,
            "Version": "1",
            "PreviousDataSets": [{**block(e), "DownloadLink": self._link(request, e)} for e in older],
            "QueuedForProcessingDate": to_utc_string(latest.created),
        }

    def _plugins(self, request: Request) -> list[dict[str, Any]]:
        out = []
        for data_set in DATA_SETS:
            extracts = self.hub.extracts(data_set)
            for full in (True, False):
                out.append(self._report_info(request, [e for e in extracts if (e.since is None) == full]))
        return out

    def on_bds_list(self, request: Request) -> Response:
        """dataExport/bds/list: bare array of every plugin's report info."""
        return _json(self._plugins(request))

    def on_bds_pages(self, request: Request) -> Response:
        """dataExport/bds?page=&pageSize=: {BrightspaceDataSets, NextPageUrl, PrevPageUrl}."""
        page = _index_param(request.args.get("page"), "page", 1)
        size = (
            _index_param(request.args.get("pageSize"), "pageSize", 1) if request.args.get("pageSize") else 0
        )
        size = size or OLD_API_PAGE_SIZE
        plugins = self._plugins(request)
        base = f"{self._lp(request)}dataExport/bds"
        more = page * size < len(plugins)
        return _json(
            {
                "BrightspaceDataSets": plugins[(page - 1) * size : page * size],
                "NextPageUrl": f"{base}?page={page + 1}&pageSize={size}" if more else None,
                "PrevPageUrl": f"{base}?page={page - 1}&pageSize={size}" if page > 1 else None,
            }
        )

    def on_bds_download(self, request: Request, plugin_id: str) -> Response:
        """dataExport/bds/download/{pluginId}: the plugin's latest extract as a ZIP."""
        wanted = plugin_id.lower()
        for data_set in DATA_SETS:
            if wanted in (data_set.plugin_id, data_set.differential_plugin_id):
                extract = self.hub.latest(data_set, full=wanted == data_set.plugin_id)
                return _zip(self.hub.extract_zip(extract), data_set.file_stem)
        raise DataHubError(404, f"no data set plugin {plugin_id!r}")

    # -- ADS export jobs -------------------------------------------------------------------

    def on_export_list(self, request: Request) -> Response:
        """dataExport/list: bare array of DataSetData (the ADS catalogue)."""
        return _json([self.hub.data_set_data(d) for d in ADS_DATA_SETS])

    def on_export_data_set(self, request: Request, data_set_id: str) -> Response:
        """dataExport/list/{dataSetId}."""
        data_set = self.hub.find(data_set_id)
        if data_set is None:
            raise DataHubError(404, f"no data set {data_set_id!r}")
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
            raise DataHubError(404, f"no export job {job_id!r}")
        return _json(self.hub.job_data(job))

    def on_export_download(self, request: Request, job_id: str) -> Response:
        """dataExport/download/{exportJobId}: the ZIP of a Complete job."""
        job, content = self.hub.download(job_id)
        return _zip(content, job.data_set.file_stem)
