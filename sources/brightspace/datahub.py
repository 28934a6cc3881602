"""Data Hub files and ADS export jobs: read an extract ZIP's UTF-8-with-BOM CSV into typed rows; run
Advanced Data Set jobs (submit, poll, download; docs/brightspace-api.md section 6.2)."""

from __future__ import annotations

import csv
import io
import logging
import threading
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from dlt.common.normalizers.naming.snake_case import NamingConvention

from ..lms_http.errors import LmsApiError, LmsPermissionError
from ..lms_http.jobs import AsyncJob, JobState
from .bds_catalogue import ADS_SCOPE_HINT, DataHubSet
from .helpers import BrightspaceApi
from .settings import EXPORT_STATUS, UTC_FORMAT

logger = logging.getLogger(__name__)

_naming = NamingConvention()
_TRUE = {"true", "1", "yes"}
_FALSE = {"false", "0", "no"}


class DataSetNotFoundError(LmsPermissionError):
    """The host's Data Hub does not show this app a data set it was asked to load."""


def column_hints(data_set: DataHubSet) -> dict[str, dict[str, Any]]:
    """dlt column hints (snake_case names) for a data set's CSV columns."""
    hints: dict[str, dict[str, Any]] = {}
    for column, data_type in data_set.types.items():
        hint: dict[str, Any] = {"data_type": data_type, "nullable": column not in data_set.primary_key}
        if data_type == "timestamp":
            hint["timezone"] = True
        if column == "IsDeleted" and data_set.primary_key:
            hint["hard_delete"] = True  # a row a differential flags deleted is removed on merge
        hints[_naming.normalize_identifier(column)] = hint
    return hints


def snake_case(column: str) -> str:
    """A CSV column's name as a table column (dlt's snake_case)."""
    return _naming.normalize_identifier(column)


def primary_key_of(data_set: DataHubSet) -> tuple[str, ...]:
    """A data set's primary key as table column names (snake_case)."""
    return tuple(_naming.normalize_identifier(c) for c in data_set.primary_key)


def parse_utc(text: str) -> datetime:
    """A Valence / BDS date-time string as an aware UTC datetime (naive values are UTC)."""
    value = datetime.fromisoformat(text.strip().replace(" ", "T", 1))
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def format_utc(value: datetime) -> str:
    """Valence `UTCDateTime` form of an aware datetime."""
    return value.astimezone(UTC).strftime(UTC_FORMAT)


def _convert(value: str, data_type: str, column: str) -> Any:
    if value == "":
        return None  # BDS writes NULL as an empty field
    if data_type == "bigint":
        return int(value)
    if data_type == "double":
        return float(value)
    if data_type == "bool":
        lowered = value.strip().lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
        raise ValueError(f"column {column}: {value!r} is not a boolean")
    if data_type == "timestamp":
        return parse_utc(value)
    return value


def read_csv_rows(content: bytes, data_set: DataHubSet, chunk: int = 5000) -> Iterator[list[dict[str, Any]]]:
    """Typed rows of the one CSV inside an export ZIP, in chunks.

    Raises:
        LmsApiError: the ZIP holds no CSV, or a value does not fit its column's type.
    """
    try:
        archive = zipfile.ZipFile(io.BytesIO(content))
    except zipfile.BadZipFile:
        raise LmsApiError(f"Brightspace sent a {data_set.name} export that is not a ZIP file.") from None
    with archive:
        members = [n for n in archive.namelist() if n.lower().endswith(".csv")]
        if not members:
            raise LmsApiError(f"the {data_set.name} export ZIP holds no CSV file ({archive.namelist()}).")
        with archive.open(members[0]) as raw:
            # utf-8-sig drops the BOM D2L writes in front of the header
            text = io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")
            reader = csv.DictReader(text)
            batch: list[dict[str, Any]] = []
            for line, record in enumerate(reader, start=2):
                try:
                    row = {
                        column: _convert(value or "", data_set.types.get(column, "text"), column)
                        for column, value in record.items()
                        if column is not None
                    }
                except ValueError as exc:
                    raise LmsApiError(f"{data_set.name} export, CSV line {line}: {exc}") from None
                batch.append(row)
                if len(batch) >= chunk:
                    yield batch
                    batch = []
            if batch:
                yield batch


def job_state(block: Any) -> JobState:
    """An ExportJobData block as a poller state (0/1 running, 2 complete, 3 error, 4 deleted)."""
    status = int(block.get("Status", -1)) if isinstance(block, dict) else -1
    label = EXPORT_STATUS.get(status, f"unknown status {status}")
    if status == 2:
        return JobState(label, done=True)
    if status in (3, 4):
        return JobState(label, failed=True, detail="Brightspace reported the export job as " + label)
    if status in (0, 1):
        return JobState(label)
    return JobState(label, failed=True, detail="an ExportJobData status this source does not know")


class AdsExports:
    """Runs Advanced Data Set export jobs for one API client (data set ids looked up once, by name)."""

    def __init__(self, api: BrightspaceApi) -> None:
        self.api = api
        self._ids: dict[str, str] | None = None
        self._lock = threading.Lock()

    def data_set_id(self, name: str) -> str:
        """The DataSetId of a data set, from `dataExport/list`."""
        with self._lock:  # parallel exports share one listing
            if self._ids is None:
                listing = self.api.get(self.api.lp("dataExport/list"))
                self._ids = {
                    str(d.get("Name", "")).strip().lower(): str(d["DataSetId"])
                    for d in listing or []
                    if isinstance(d, dict) and d.get("DataSetId")
                }
        found = self._ids.get(name.lower())
        if found is None:
            raise DataSetNotFoundError(
                f"Brightspace's Data Hub offers this app no Advanced Data Set named {name!r} in "
                f"dataExport/list: {ADS_SCOPE_HINT}, or leave it out of [sources.brightspace] ads_data_sets."
            )
        return found

    def export(
        self, data_set: DataHubSet, *, since: datetime | None = None, parent_org_unit_id: int | None = None
    ) -> tuple[bytes, str | None]:
        """Submit an export job, wait for it, download its ZIP.

        Args:
            data_set: the data set.
            since: only rows changed at or after this instant (a differential); None = full.
            parent_org_unit_id: only the subtree under this org unit.

        Returns:
            The ZIP bytes and the job's SubmitDate (the next differential starts from it).

        Raises:
            JobFailedError, JobTimeoutError: the job ended in error or took too long.
        """
        filters: list[dict[str, str]] = []
        if since is not None:
            filters.append({"Name": "startDate", "Value": format_utc(since)})
        if parent_org_unit_id is not None:
            filters.append({"Name": "parentOrgUnitId", "Value": str(parent_org_unit_id)})
        data_set_id = self.data_set_id(data_set.name)
        submitted: dict[str, Any] = {}

        def submit() -> str:
            block = self.api.post(
                self.api.lp("dataExport/create"), {"DataSetId": data_set_id, "Filters": filters}
            )
            submitted.update(block or {})
            if not submitted.get("ExportJobId"):
                raise LmsApiError(f"Brightspace accepted the {data_set.name} export without an ExportJobId.")
            return str(submitted["ExportJobId"])

        job = AsyncJob(
            f"{data_set.name} export",
            submit,
            lambda job_id: job_state(self.api.get(self.api.lp(f"dataExport/jobs/{job_id}"))),
            lambda job_id: self.api.download(self.api.lp(f"dataExport/download/{job_id}")),
        )
        content = self.api.poller.run(job)
        submit_date = submitted.get("SubmitDate")
        return content, str(submit_date) if submit_date else None
