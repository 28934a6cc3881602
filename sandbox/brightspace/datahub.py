"""Data Hub: Brightspace Data Sets (pre-built Full and Differential extracts) and ADS export jobs.

BDS (docs/brightspace-api.md §6.1; KB 1130): each data set of `DATA_SETS` has a Full plugin and a Differential
plugin. A Full extract holds the data set as of its creation; it is published weekly. A Differential
extract holds the rows changed since the previous differential (new, changed, and deleted rows flagged
IsDeleted where the data set has that column); one is published by every `advance()` (a day by default)
and they are kept 14 days. When the sandbox starts, the latest Full is three days old and fourteen
daily differentials exist, so a first load applies a Full and then three differentials.

Extracts are computed from the current state: a row belongs to the differential whose period holds its
last change, and to a Full created at or after that change. So the latest Full plus the differentials after
it, applied in order on the key, always give the current data set; a row changed again later moves to
the later differential (a loader applying them in order ends at the same rows). A data set without
IsDeleted cannot express a removal in a differential (a dropped enrollment leaves User Enrollments and
Grade Results only in the next Full), as in Brightspace. `advance()` also deletes two discussion posts
and one quiz attempt (flagged IsDeleted) and logs withdrawals in Enrollments and Withdrawals.

ADS export jobs (§6.2): `POST dataExport/create` with `{"DataSetId", "Filters"}` submits a job over the
ADS catalogue (`ADS_DATA_SETS`, not the BDS ones); its Status (EXPORTJOBSTATUS_T) moves 0 Queued ->
1 Processing -> 2 Complete, one step per `job_step_seconds` of the server's monotonic clock, or -> 3 Error
when a fault was set (`fail_next_export`). Status 4 Deleted exists in the enum but nothing here deletes
jobs. The rows are captured when the job is submitted. Filters: `startDate` (rows changed at or after
it), `endDate` (rows changed before it), `parentOrgUnitId` (that subtree). A job that is not Complete
cannot be downloaded (404; UNCONFIRMED). `dataExport/jobs` answers a bare array (UNCONFIRMED).

Every ZIP holds one CSV named after the data set, UTF-8 with a BOM, "True"/"False" booleans and
empty fields for NULL.
"""

from __future__ import annotations

import csv
import io
import itertools
import logging
import random
import threading
import time
import uuid
import zipfile
from bisect import bisect_left
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from .advanced_datasets import ADS_DATA_SETS
from .bds_rows import HubEvents, discussion_posts, quiz_attempts
from .datasets import DATA_SETS_BY_NAME, DataSet, Scope, Value, rows_of, scope_for
from .institution import ROOT_ORG_UNIT_ID, Enrollment, Institution
from .timestamps import parse_utc, to_utc_string

log = logging.getLogger(__name__)

QUEUED, PROCESSING, COMPLETE, ERROR, DELETED = 0, 1, 2, 3, 4
CATEGORY_NAME = "Advanced Data Sets"
DAY = 86_400
WEEK = 7 * DAY
KEPT_DIFFERENTIALS = 14 * DAY  # KB 1130: differentials of the past 14 days can be fetched
FULL_AGE_AT_START = 3 * DAY

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
    """One BDS extract of a data set: Full (since is None) or Differential over (since, created]."""

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
        now = institution.now
        # each differential covers (previous time, its time]; the first covers the day before it
        self._diff_times = [now - n * DAY for n in range(KEPT_DIFFERENTIALS // DAY, -1, -1)]
        self._full_times = [now - FULL_AGE_AT_START - WEEK, now - FULL_AGE_AT_START]
        self._zip_cache: dict[str, tuple[int, bytes]] = {}
        self._events = HubEvents({}, ())
        self._enrollments = self._current_enrollments()

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
        """The ADS data set with this DataSetId (case-insensitive)."""
        wanted = data_set_id.lower()
        return next((d for d in ADS_DATA_SETS if d.plugin_id == wanted), None)

    def create_job(self, body: object) -> ExportJob:
        """Submit an export job from a `dataExport/create` body.

        Raises:
            DataHubError: for a malformed body, an unknown data set or a bad filter.
        """
        if not isinstance(body, dict) or not isinstance(body.get("DataSetId"), str):
            raise DataHubError(400, 'body must be {"DataSetId": "<guid>", "Filters": [{"Name", "Value"}]}')
        data_set = self.find(body["DataSetId"])
        if data_set is None:
            raise DataHubError(
                404, f"no ADS data set {body['DataSetId']!r}; list them with GET dataExport/list"
            )
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

    def _current_enrollments(self) -> dict[tuple[int, int], Enrollment]:
        inst = self.institution
        with inst.lock:
            return {(ou, uid): e for ou in inst.course_ids for uid, e in inst.courses[ou].enrollments.items()}

    def mark_extract_time(self) -> None:
        """Publish at the institution's clock (called by `advance()`): a Differential of every data set,
        a Full when the last one is a week old, and the deletions and withdrawals since the last one."""
        inst = self.institution
        with inst.lock:
            now = inst.now
            enrollments = self._current_enrollments()
            withdrawn = [(e, now) for key, e in self._enrollments.items() if key not in enrollments]
            self._enrollments = enrollments
            deleted = dict(self._events.deleted)
            rng = random.Random(f"{inst.seed_key}:bds-deletions:{inst.advances}")
            live = scope_for(inst, events=self._events)
            for data_set, rows, count in (
                ("Discussion Posts", discussion_posts, 2),
                ("Quiz Attempts", quiz_attempts, 1),
            ):
                ids = sorted(row[3 if data_set == "Discussion Posts" else 0] for _, row in rows(inst, live))
                ids = [i for i in ids if (data_set, i) not in deleted]
                for row_id in rng.sample(ids, min(count, len(ids))):
                    deleted[(data_set, int(row_id))] = now
            with self._lock:
                self._events = HubEvents(deleted, (*self._events.withdrawals, *withdrawn))
                self._diff_times.append(now)
                if now - self._full_times[-1] >= WEEK:
                    self._full_times.append(now)

    def events(self) -> HubEvents:
        """The deletions and withdrawals published so far."""
        with self._lock:
            return self._events

    def extracts(self, data_set: DataSet) -> list[Extract]:
        """The data set's extracts, newest first: the last two Fulls and the differentials of 14 days."""
        with self._lock:
            diff_times, full_times = list(self._diff_times), self._full_times[-2:]
        now = self.institution.now
        diffs = [
            Extract(self._extract_id(data_set, "Differential", until), data_set, until, since)
            for since, until in zip(diff_times, diff_times[1:], strict=False)
            if now - until < KEPT_DIFFERENTIALS
        ]
        fulls = [Extract(self._extract_id(data_set, "Full", t), data_set, t, None) for t in full_times]
        return sorted([*fulls, *diffs], key=lambda e: (-e.created, e.since is not None))

    def latest(self, data_set: DataSet, full: bool) -> Extract:
        """The newest Full or Differential extract of a data set."""
        return next(e for e in self.extracts(data_set) if (e.since is None) == full)

    def extract_zip(self, extract: Extract) -> bytes:
        """The extract's ZIP (built with every listed extract of its data set; cached until the data
        changes)."""
        with self._lock:
            cached = self._zip_cache.get(extract.id)
        if cached is not None and cached[0] == self.institution.advances:
            return cached[1]
        return self._build_extracts(extract.data_set)[extract.id]

    def _build_extracts(self, data_set: DataSet) -> dict[str, bytes]:
        """Every listed extract of a data set from one pass over a snapshot of its rows: a row goes to
        each Full created at or after its change and to the differential whose period holds it."""
        inst = self.institution
        extracts = self.extracts(data_set)
        with inst.lock:
            version = inst.advances
            scope = scope_for(inst, frozen=True, events=self.events())
        fulls = [e for e in extracts if e.since is None]
        diffs = sorted((e for e in extracts if e.since is not None), key=lambda e: e.created)
        ends = [e.created for e in diffs]
        buckets: dict[str, list[list[Value]]] = {e.id: [] for e in extracts}
        for changed_at, row in data_set.rows(inst, scope):
            for full in fulls:
                if changed_at <= full.created:
                    buckets[full.id].append(row)
            n = bisect_left(ends, changed_at)  # the first differential ending at or after the change
            if n < len(diffs) and diffs[n].since is not None and diffs[n].since < changed_at:
                buckets[diffs[n].id].append(row)
        built = {extract_id: build_zip(data_set, rows)[0] for extract_id, rows in buckets.items()}
        with self._lock:
            self._zip_cache.update((extract_id, (version, content)) for extract_id, content in built.items())
        return built

    def live_rows(self, name: str) -> list[dict[str, Value]]:
        """The rows of a BDS data set now, deleted ones (IsDeleted) left out: what a loader must hold."""
        data_set = DATA_SETS_BY_NAME[name]
        inst = self.institution
        with inst.lock:
            scope = scope_for(inst, events=self.events())
            rows = [dict(zip(data_set.columns, r, strict=True)) for r in rows_of(inst, data_set, scope)]
        return [r for r in rows if not r.get("IsDeleted")]

    def _extract_id(self, data_set: DataSet, kind: str, created: int) -> str:
        return str(
            uuid.uuid5(uuid.NAMESPACE_URL, f"{self.institution.seed_key}/{data_set.name}/{kind}/{created}")
        )
