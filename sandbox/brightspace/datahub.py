"""Data Hub: extract ZIPs, the export-job API (`dataExport/...`) and BDS extract listings (`datasets/bds`).

Export jobs (brightspace-api.md §6.2): `POST dataExport/create` with `{"DataSetId", "Filters"}`
submits a job; its Status (EXPORTJOBSTATUS_T) moves 0 Queued -> 1 Processing -> 2 Complete, one step
per `job_step_seconds` of the server's monotonic clock, or -> 3 Error when a fault was set
(`fail_next_export`). Status 4 Deleted exists in the enum but nothing here deletes jobs. The rows are
captured when the job is submitted. Filters: `startDate` (a differential extract: rows changed at or
after it), `endDate` (rows changed before it), `parentOrgUnitId` (that subtree). The file is written
by a worker thread from a snapshot, so a job also stays Processing until its file exists. A job that
is not Complete cannot be downloaded (404; UNCONFIRMED). `dataExport/jobs` answers a bare array
(UNCONFIRMED).

BDS extracts (§6.1): each data set has one Full extract (the state at the latest extract time: the
start, then every `advance()`) and one Differential extract per period between extract times (the
first covers the day before the start). Differentials are computed from the current state, so a row
changed again later shows up only in the period of its last change; applying the diffs in order
on the previous full still gives the current full. DownloadLink points at
`.../extracts/{extractId}/download` (the real link's form is UNCONFIRMED).

Every ZIP holds one CSV named after the data set, UTF-8 with a BOM, "True"/"False" booleans and
empty fields for NULL.
"""

from __future__ import annotations

import csv
import io
import itertools
import logging
import threading
import time
import uuid
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from .datasets import DATA_SETS, DataSet, Scope, Value, rows_of, scope_for
from .institution import ROOT_ORG_UNIT_ID, Institution
from .timestamps import parse_utc, to_utc_string

log = logging.getLogger(__name__)

QUEUED, PROCESSING, COMPLETE, ERROR, DELETED = 0, 1, 2, 3, 4
CATEGORY_NAME = "Brightspace Data Sets"
DAY = 86_400

# EXPORTFILTERTYPE_T: 1 DateTime, 2 OrgUnit.
FILTERS = (
    {
        "Name": "startDate",
        "Type": 1,
        "Description": "Only rows changed at or after this UTC time.",
        "DefaultValue": None,
    },
    {
        "Name": "endDate",
        "Type": 1,
        "Description": "Only rows changed before this UTC time.",
        "DefaultValue": None,
    },
    {
        "Name": "parentOrgUnitId",
        "Type": 2,
        "Description": "Only rows of org units at or below this one.",
        "DefaultValue": str(ROOT_ORG_UNIT_ID),
    },
)


def build_zip(data_set: DataSet, rows: Iterable[list[Value]]) -> tuple[bytes, int]:
    """Write rows as a one-CSV ZIP (UTF-8 with BOM; csv writes None as "" and booleans as True/False).

    Returns:
        The ZIP bytes and the number of data rows.
    """
    counter = itertools.count()
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        with archive.open(f"{data_set.file_stem}.csv", "w") as member:
            text = io.TextIOWrapper(
                member, encoding="utf-8-sig", newline=""
            )  # streamed: no CSV copy in memory
            writer = csv.writer(text, lineterminator="\r\n")
            writer.writerow(data_set.columns)
            writer.writerows(
                row for row, _ in zip(rows, counter, strict=False)
            )  # zip draws a number only for a real row
            text.flush()
            text.detach()
    return out.getvalue(), next(counter)


class DataHubError(ValueError):
    """A request the Data Hub refuses: `status` is the HTTP status to answer."""

    def __init__(self, status: int, message: str) -> None:
        """Carry an HTTP status with the message."""
        super().__init__(message)
        self.status = status


@dataclass(slots=True)
class ExportJob:
    """One submitted export job."""

    id: str
    data_set: DataSet
    submitted_at: int
    started: float
    fails: bool
    content: bytes | None = None
    rows: int = 0


@dataclass(slots=True)
class Extract:
    """One BDS extract of a data set: Full (since is None) or Differential over (since, until]."""

    id: str
    data_set: DataSet
    created: int
    since: int | None

    @property
    def bds_type(self) -> str:
        """ "Full" or "Differential"."""
        return "Full" if self.since is None else "Differential"

    @property
    def plugin_id(self) -> str:
        """The plugin this extract belongs to."""
        return self.data_set.plugin_id if self.since is None else self.data_set.differential_plugin_id


class DataHub:
    """Export jobs and BDS extracts over one institution; thread-safe."""

    def __init__(
        self, institution: Institution, job_step_seconds: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        """Create the hub.

        Args:
            institution: the data.
            job_step_seconds: seconds each job status lasts before the next.
            clock: monotonic seconds (tests pass a fake).
        """
        self.institution = institution
        self.job_step_seconds = job_step_seconds
        self.fail_next_export = False
        self._clock = clock
        self._lock = threading.Lock()
        self._jobs: dict[str, ExportJob] = {}
        self._job_counter = 0
        self._extract_times = [institution.now - DAY, institution.now]
        self._zip_cache: dict[str, tuple[int, bytes]] = {}

    # -- export jobs -----------------------------------------------------------------------

    @staticmethod
    def data_set_data(data_set: DataSet) -> dict[str, object]:
        """`DataExport.DataSetData` of a data set."""
        return {
            "DataSetId": data_set.plugin_id,
            "Name": data_set.name,
            "Description": data_set.description,
            "Category": CATEGORY_NAME,
            "Filters": [dict(f) for f in FILTERS],
        }

    @staticmethod
    def find(data_set_id: str) -> DataSet | None:
        """The data set with this id (its Full plugin id, case-insensitive)."""
        wanted = data_set_id.lower()
        return next((d for d in DATA_SETS if d.plugin_id == wanted), None)

    def create_job(self, body: object) -> ExportJob:
        """Submit an export job from a `dataExport/create` body.

        Raises:
            DataHubError: for a malformed body, an unknown data set or a bad filter.
        """
        if not isinstance(body, dict) or not isinstance(body.get("DataSetId"), str):
            raise DataHubError(400, 'body must be {"DataSetId": "<guid>", "Filters": [{"Name", "Value"}]}')
        data_set = self.find(body["DataSetId"])
        if data_set is None:
            raise DataHubError(404, f"no data set {body['DataSetId']!r}; list them with GET dataExport/list")
        filters = body.get("Filters") or []
        if not isinstance(filters, list) or not all(isinstance(f, dict) and "Name" in f for f in filters):
            raise DataHubError(400, 'Filters must be a list of {"Name", "Value"} objects')
        values = {str(f["Name"]).lower(): str(f.get("Value") or "") for f in filters}
        known = {str(f["Name"]).lower() for f in FILTERS}
        unknown = set(values) - known
        if unknown:
            raise DataHubError(
                400, f"unknown filter(s) {sorted(unknown)}; this data set takes {sorted(known)}"
            )
        try:
            since = parse_utc(values["startdate"]) if values.get("startdate") else None
            until = parse_utc(values["enddate"]) if values.get("enddate") else None
            parent = int(values["parentorgunitid"]) if values.get("parentorgunitid") else None
        except ValueError as exc:
            raise DataHubError(400, f"bad filter value: {exc}") from exc
        inst = self.institution
        if parent is not None and parent not in inst.org_units:
            raise DataHubError(400, f"parentOrgUnitId {parent} is not an org unit")
        with self._lock:
            fails = self.fail_next_export
            self.fail_next_export = False
            self._job_counter += 1
            job_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{inst.seed_key}/job/{self._job_counter}"))
        with inst.lock:  # rows are captured at submission, as one consistent snapshot
            job = ExportJob(job_id, data_set, inst.now, self._clock(), fails)
            scope = None if fails else scope_for(inst, parent, since, until, frozen=True)
        with self._lock:
            self._jobs[job_id] = job
        if scope is not None:
            threading.Thread(
                target=self._run_job, args=(job, scope), name=f"export-{job_id}", daemon=True
            ).start()
        return job

    def _run_job(self, job: ExportJob, scope: Scope) -> None:
        try:
            content, rows = build_zip(job.data_set, rows_of(self.institution, job.data_set, scope))
        except Exception:  # a sandbox bug must surface as a failed job, not one stuck in Processing
            log.exception("export job %s failed", job.id)
            job.fails = True
            return
        job.rows, job.content = rows, content
        log.info("export job %s for %s: %d rows", job.id, job.data_set.name, rows)

    def status(self, job: ExportJob) -> int:
        """The job's EXPORTJOBSTATUS_T now (Processing lasts until its file is written, too)."""
        step = self.job_step_seconds
        steps = 2 if step <= 0 else int((self._clock() - job.started) // step)
        if steps <= 0:
            return QUEUED
        if job.fails and steps >= 2:
            return ERROR
        return COMPLETE if steps >= 2 and job.content is not None else PROCESSING

    def job_data(self, job: ExportJob) -> dict[str, object]:
        """`DataExport.ExportJobData`."""
        return {
            "ExportJobId": job.id,
            "DataSetId": job.data_set.plugin_id,
            "Name": job.data_set.name,
            "SubmitDate": to_utc_string(job.submitted_at),
            "Status": self.status(job),
            "Category": CATEGORY_NAME,
        }

    def job(self, job_id: str) -> ExportJob | None:
        """A job by id."""
        with self._lock:
            return self._jobs.get(job_id.lower())

    def jobs(self) -> list[ExportJob]:
        """Every job, in submission order."""
        with self._lock:
            return list(self._jobs.values())

    def download(self, job_id: str) -> tuple[ExportJob, bytes]:
        """A completed job's ZIP.

        Raises:
            DataHubError: 404 for an unknown job or one that is not Complete.
        """
        job = self.job(job_id)
        if job is None:
            raise DataHubError(404, f"no export job {job_id!r}")
        status = self.status(job)
        if status != COMPLETE or job.content is None:
            raise DataHubError(
                404, f"export job {job_id} is not complete (Status {status}); poll dataExport/jobs/{{id}}"
            )
        return job, job.content

    # -- BDS extracts ----------------------------------------------------------------------

    def mark_extract_time(self) -> None:
        """Record an extract run at the institution's clock (called by `advance()`)."""
        with self._lock:
            self._extract_times.append(self.institution.now)

    def extracts(self, data_set: DataSet) -> list[Extract]:
        """The data set's extracts, newest first: Differentials for each period, then the Full."""
        with self._lock:
            times = list(self._extract_times)
        diffs = [
            Extract(self._extract_id(data_set, "Differential", until), data_set, until, since)
            for since, until in zip(times, times[1:], strict=False)
        ]
        full = Extract(self._extract_id(data_set, "Full", times[-1]), data_set, times[-1], None)
        return sorted([full, *diffs], key=lambda e: (-e.created, e.since is not None))

    def extract_zip(self, extract: Extract) -> bytes:
        """The extract's ZIP (built on demand from a snapshot; cached until the data changes)."""
        inst = self.institution
        since = None if extract.since is None else extract.since + 1
        until = None if extract.since is None else extract.created + 1
        with inst.lock:
            version = inst.advances
            cached = self._zip_cache.get(extract.id)
            if cached is not None and cached[0] == version:
                return cached[1]
            scope = scope_for(inst, None, since, until, frozen=True)
        content, _ = build_zip(extract.data_set, rows_of(inst, extract.data_set, scope))
        with self._lock:
            self._zip_cache[extract.id] = (version, content)
        return content

    def _extract_id(self, data_set: DataSet, kind: str, created: int) -> str:
        return str(
            uuid.uuid5(uuid.NAMESPACE_URL, f"{self.institution.seed_key}/{data_set.name}/{kind}/{created}")
        )
