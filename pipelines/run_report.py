"""The report of a pipeline run: rows per table, requests, throttling, time per stage; printed and loaded."""

from __future__ import annotations

import logging
import re
import shutil
import time
import uuid
from collections.abc import Iterator
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import dlt
from dlt.common.normalizers.json.relational import DataItemNormalizer
from dlt.common.pipeline import LoadInfo
from dlt.common.schema.utils import normalize_schema_name
from dlt.destinations.exceptions import DatabaseUndefinedRelation
from dlt.pipeline.pipeline import Pipeline

from pipelines.warehouse import destination_credentials

logger = logging.getLogger(__name__)


@dataclass
class StageTimer:
    """Wall-clock seconds per named stage; a stage run again (one per batch of courses) adds up."""

    seconds: dict[str, float] = field(default_factory=dict)

    def run(self, name: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            self.seconds[name] = round(self.seconds.get(name, 0.0) + time.perf_counter() - start, 3)


def rows_loaded(pipeline: Pipeline) -> dict[str, int]:
    """Rows written per data table by the last normalize step (dlt's own tables left out)."""
    info = pipeline.last_trace.last_normalize_info if pipeline.last_trace else None
    if info is None:
        return {}
    return {t: n for t, n in sorted(info.row_counts.items()) if not t.startswith("_dlt")}


def table_counts(
    pipeline: Pipeline, tables: list[str], schema_name: str | None = None, client: Any = None
) -> dict[str, int]:
    """Live row counts in the destination for those of `tables` created there, by the pipeline's
    default schema or by schema `schema_name` (another source of the same run, e.g. the SIS roster);
    through `client`, an open SQL client of the pipeline, when given."""
    schema = pipeline.schemas.get(schema_name) if schema_name else pipeline.default_schema
    if schema is None:
        return {}
    existing = set(schema.data_table_names(seen_data_only=True))  # created in the destination
    counts: dict[str, int] = {}
    with nullcontext(client) if client is not None else pipeline.sql_client() as client:
        for table in tables:
            if table in existing:
                rows = client.execute_sql(f"select count(*) from {client.make_qualified_table_name(table)}")
                counts[table] = int(rows[0][0])
    return counts


def format_summary(
    title: str,
    load_info: LoadInfo,
    loaded: dict[str, int],
    totals: dict[str, int],
    http: dict[str, Any],
    seconds: dict[str, float],
) -> str:
    """A short human-readable report of one run."""
    lines = [f"== {title} =="]
    lines.append(f"destination: {load_info.destination_name}  dataset: {load_info.dataset_name}")
    lines.append(f"{'table':<26}{'rows this run':>14}{'rows in table':>15}")
    for table in sorted(set(loaded) | set(totals)):
        lines.append(f"{table:<26}{loaded.get(table, 0):>14}{totals.get(table, 0):>15}")
    retries = ", ".join(f"{k} {v}" for k, v in sorted(http.get("retries", {}).items())) or "none"
    lines.append(
        f"requests: {http.get('requests', 0)}  throttled replies: {http.get('throttled', 0)}  "
        f"retries: {retries}  governor waits: {http.get('governor_waits', 0)}"
    )
    stages = "  ".join(f"{k} {v:.2f}s" for k, v in seconds.items())
    lines.append(f"time: {stages}  total {sum(seconds.values()):.2f}s")
    return "\n".join(lines)


# ---- the run report: one row per run in table `run_reports`, loaded beside the data ----------------

REPORT_TABLE = "run_reports"
# the report is loaded by a pipeline of its own, so a failed or pending data package never blocks it
REPORT_PIPELINE_SUFFIX = "__run_report"
# a report working folder being deleted is renamed first: `<working folder>.discarded-<random>`
DISCARDED_SUFFIX = ".discarded-"
STATUS_SUCCEEDED = "succeeded"
STATUS_WITH_ERRORS = "succeeded_with_errors"  # data loaded; rejected input files or failed SQL models
STATUS_FAILED = "failed"
MAX_ERROR_CHARS = 2000
# secrets that may ride along in a foreign exception's text: bearer headers, token or secret fields
_SECRET_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"(?i)(bearer\s+)[^\s'\",;]+"), r"\1***"),
    (
        # key=value (query strings, forms) and 'key': 'value' (dict and JSON reprs)
        re.compile(
            r"(?i)((?:access_token|refresh_token|client_secret|password|token)(?:=|[\"']\s*:\s*[\"']))[^\s'\",;&]+"
        ),
        r"\1***",
    ),
    (re.compile(r"\b\d+~[A-Za-z0-9]{16,}"), "***"),  # a Canvas token anywhere
    (re.compile(r"(://[^/\s:@]+:)[^@\s/]+@"), r"\1***@"),  # a password in a connection URL
)


def redact(text: str) -> str:
    """`text` with anything shaped like a token, secret or password replaced by `***`."""
    for pattern, replacement in _SECRET_PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def utc_now() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


@dataclass
class RunReport:
    """What one pipeline run did, as printed and as loaded into `run_reports`.

    Attributes:
        pipeline_name: the dlt pipeline name of the run.
        lms: "canvas" or "brightspace".
        shard: the shard key (`all` for a whole run).
        run_id: unique id of the run (UTC start time plus a random suffix).
        status: `succeeded`, `succeeded_with_errors` or `failed`.
    """

    pipeline_name: str
    lms: str
    shard: str = "all"
    dataset_name: str = ""
    destination: str = ""
    strict: bool = False
    schema_contract: str = "evolve"
    run_id: str = ""
    started_at: datetime = field(default_factory=utc_now)
    finished_at: datetime | None = None
    status: str = STATUS_FAILED
    error_class: str | None = None
    error_message: str | None = None
    load_ids: list[str] = field(default_factory=list)
    http: dict[str, Any] = field(default_factory=dict)
    loaded: dict[str, int] = field(default_factory=dict)
    totals: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.run_id:
            self.run_id = f"{self.started_at:%Y%m%dT%H%M%S%fZ}-{uuid.uuid4().hex[:8]}"

    def finish(self, status: str, error: BaseException | None = None, message: str | None = None) -> None:
        """Close the report: its status and, for a failure, the error's class and a secret-free message."""
        self.finished_at = utc_now()
        self.status = status
        if error is not None:
            self.error_class = type(error).__name__
            self.error_message = redact(message if message is not None else str(error))[:MAX_ERROR_CHARS]

    def as_row(self) -> dict[str, Any]:
        """The report as one `run_reports` row; lists become the child tables
        `run_reports__tables`, `__retries`, `__skipped` and `__stages` (each row carries `run_id`)."""
        http = self.http
        retries, gave_up = http.get("retries", {}), http.get("gave_up", {})
        skipped = http.get("skipped", [])
        return {
            "run_id": self.run_id,
            "pipeline_name": self.pipeline_name,
            "lms": self.lms,
            "shard": self.shard,
            "dataset_name": self.dataset_name,
            "destination": self.destination,
            "started_at": self.started_at,
            "finished_at": self.finished_at or utc_now(),
            "status": self.status,
            "error_class": self.error_class,
            "error_message": self.error_message,
            "strict": self.strict,
            "schema_contract": self.schema_contract,
            "load_ids": ",".join(self.load_ids),
            "requests": int(http.get("requests", 0)),
            "throttled": int(http.get("throttled", 0)),
            "connection_errors": int(http.get("connection_errors", 0)),
            "retries_total": sum(retries.values()),
            "governor_waits": int(http.get("governor_waits", 0)),
            "rows_loaded": sum(self.loaded.values()),
            "skipped_scopes": len(skipped),
            "rejected_rows": len(http.get("rejected", [])),
            "seconds_total": round(sum(self.seconds.values()), 3),
            "tables": [
                {
                    "run_id": self.run_id,
                    "table_name": t,
                    "rows_loaded": self.loaded.get(t, 0),
                    "rows_in_table": self.totals.get(t),
                }
                for t in sorted(set(self.loaded) | set(self.totals))
            ],
            "retries": [
                {
                    "run_id": self.run_id,
                    "cause": c,
                    "retries": retries.get(c, 0),
                    "gave_up": gave_up.get(c, 0),
                }
                for c in sorted(set(retries) | set(gave_up))
            ],
            "skipped": [_skipped_row(self.run_id, item) for item in skipped],
            "stages": [{"run_id": self.run_id, "stage": k, "seconds": v} for k, v in self.seconds.items()],
        }


def _skipped_row(run_id: str, item: dict[str, Any]) -> dict[str, Any]:
    scope = next((k for k in item if k not in ("resource", "reason")), "")
    return {
        "run_id": run_id,
        "resource": item.get("resource"),
        "scope": scope,
        "scope_id": None if not scope else str(item[scope]),
        "reason": redact(str(item.get("reason", ""))),
    }


REPORT_COLUMNS: dict[str, Any] = {
    "run_id": {"data_type": "text", "nullable": False},
    "started_at": {"data_type": "timestamp", "timezone": True},
    "finished_at": {"data_type": "timestamp", "timezone": True},
    "error_class": {"data_type": "text"},
    "error_message": {"data_type": "text"},
    "load_ids": {"data_type": "text"},
}


# the run id of a report package, kept in the package's own state (committed with the package)
PACKAGE_RUN_ID = "report_run_id"


def report_resource(report: RunReport) -> Any:
    """The report as a dlt resource: table `run_reports`, one row per run, key `run_id`.

    Each run appends a row (and its nested rows, which carry `run_id` and, as a merge would give
    them, `_dlt_root_id`). Appending skips the staging dataset and the merge: 60-85 ms of a
    0.6 s no-change Canvas Data 2 rerun (A/B runs). The package keeps its run id in its state, so replaying
    it after a kill first deletes what its unfinished jobs wrote (`_remove_rows_of_unfinished_jobs`)
    and never duplicates a row.
    """

    def row() -> Iterator[dict[str, Any]]:
        dlt.current.load_package_state()["state"][PACKAGE_RUN_ID] = report.run_id  # type: ignore[typeddict-unknown-key]
        yield report.as_row()

    return dlt.resource(
        row,
        name=REPORT_TABLE,
        write_disposition="append",
        primary_key="run_id",
        columns=REPORT_COLUMNS,
        max_table_nesting=1,
    )


def report_schema(reports: Pipeline) -> dlt.Schema:
    """The report pipeline's schema, named as dlt names it by default: nested rows get `_dlt_root_id`
    (the column the merged reports of earlier versions made, not nullable) though rows are appended."""
    schema = dlt.Schema(normalize_schema_name(reports.pipeline_name))
    DataItemNormalizer.update_normalizer_config(schema, {"root_key_propagation": True})
    return schema


def report_pipeline(pipeline: Pipeline) -> Pipeline:
    """A pipeline that writes to `pipeline`'s destination and dataset, with its own working dir."""
    credentials = destination_credentials(pipeline)
    destination = type(pipeline.destination)(credentials=credentials)  # type: ignore[call-arg]
    reports = dlt.pipeline(
        pipeline_name=pipeline.pipeline_name + REPORT_PIPELINE_SUFFIX,
        pipelines_dir=pipeline.pipelines_dir,
        destination=destination,
        dataset_name=pipeline.dataset_name,
    )
    # it has no state worth keeping: write none to `_dlt_pipeline_state`, read none back
    reports.config.restore_from_destination = False
    return reports


def store_run_report(pipeline: Pipeline, report: RunReport) -> None:
    """Append `report` to the `run_reports` table in `pipeline`'s dataset.

    The report pipeline keeps nothing between runs but a report that a killed run left pending:
    that one is loaded first, then the working folder is discarded and the new report written
    from an empty local schema (the dataset or destination may have changed since the last report,
    and dlt then reads what exists from the destination itself).
    """
    _load_pending_report(pipeline)
    _discard_working_folder(pipeline)
    reports = report_pipeline(pipeline)
    reports.extract(report_resource(report), schema=report_schema(reports))
    reports.normalize()
    reports.load()


def _load_pending_report(pipeline: Pipeline) -> None:
    """Load a report an earlier, killed run left pending; one that cannot be loaded is dropped."""
    if not _may_hold_pending_report(pipeline):
        return  # the usual case, told without opening a dlt pipeline on the folder (about 20 ms)
    try:
        reports = report_pipeline(pipeline)
        if reports.has_pending_data:
            _remove_rows_of_unfinished_jobs(reports)
            reports.load()
    except Exception as exc:  # a report is not worth blocking every later one for
        logger.warning(
            "a run report left pending by an earlier run could not be read or loaded and is dropped (%s)",
            type(exc).__name__,
        )


def _may_hold_pending_report(pipeline: Pipeline) -> bool:
    """Whether the report pipeline's working folder holds an extracted or a normalized package (what
    dlt's `has_pending_data` counts), read from dlt's folder layout; a folder that does not have the
    layout is left to dlt to read."""
    working = _working_folder(pipeline)
    if not working.exists():
        return False
    folders = [working / "normalize" / "extracted", working / "load" / "normalized"]
    if not all(folder.is_dir() for folder in folders):
        return True
    return any(any(folder.iterdir()) for folder in folders)


def _remove_rows_of_unfinished_jobs(reports: Pipeline) -> None:
    """Delete from the dataset what the unfinished jobs of a pending report package wrote, before
    the replay runs them again.

    A job a kill cut after its rows were committed, but before dlt marked it done, runs again; for
    appended rows that would be a second copy. Every report row, nested ones included, carries the
    run id the package keeps in its state, so each table with an unfinished job loses that run's
    rows first; tables whose jobs finished keep theirs. A package without a run id was written by
    a version that merged the report (`_clear_staging_of_unfinished_copies`).
    """
    for load_id in reports.list_normalized_load_packages():
        run_id = reports.get_load_package_state(load_id).get(PACKAGE_RUN_ID)
        if run_id is None:
            _clear_staging_of_unfinished_copies(reports, load_id)
            continue
        unfinished = _tables_of_unfinished_jobs(reports, load_id)
        if not unfinished:
            continue
        with reports.sql_client() as client:
            for table in sorted(unfinished):
                try:
                    client.execute_sql(
                        f"delete from {client.make_qualified_table_name(table)} where run_id = %s", run_id
                    )
                except DatabaseUndefinedRelation:
                    pass  # the killed run never created it


def _tables_of_unfinished_jobs(reports: Pipeline, load_id: str) -> set[str]:
    """Tables with a copy job of package `load_id` that is not done (merge follow-ups left out)."""
    jobs = reports.get_load_package_info(load_id).jobs
    return {
        job.job_file_info.table_name
        for state in ("new_jobs", "started_jobs")
        for job in jobs.get(state, [])
        if job.job_file_info.file_format != "sql"  # a merge follow-up: it reads staging
    }


def _clear_staging_of_unfinished_copies(reports: Pipeline, load_id: str) -> None:
    """Empty the staging tables whose copy job a killed run may have half done, before the replay
    of a report package that merges (written by an earlier version).

    dlt truncates a package's staging tables once, when its load starts, not when a killed load is
    resumed; a copy job that had written its rows but was not yet marked done then writes them a
    second time. For `run_reports` (merged on `run_id`, with nested tables) dlt de-duplicates by
    row id, which two copies of one row share, so both would be merged. The staging dataset holds
    only this package's rows, so a table whose copy job will run again is emptied first; tables
    whose copies finished keep their rows for the merge.
    """
    rerun = _tables_of_unfinished_jobs(reports, load_id)
    if not rerun:
        return
    with reports.sql_client() as client:
        with client.with_staging_dataset():
            for table in sorted(rerun):
                try:
                    client.execute_sql(f"delete from {client.make_qualified_table_name(table)}")
                except DatabaseUndefinedRelation:
                    pass  # the killed run never created it


def _discard_working_folder(pipeline: Pipeline) -> None:
    """Remove the report pipeline's working folder so that no kill can leave half of it behind.

    The folder is first renamed (one atomic step) and only then deleted, so the pipeline's path
    holds either the whole folder or none; a folder a killed run was deleting is deleted here.
    """
    working = _working_folder(pipeline)
    for leftover in working.parent.glob(working.name + DISCARDED_SUFFIX + "*"):
        shutil.rmtree(leftover, ignore_errors=True)
    if working.exists():
        discarded = working.with_name(f"{working.name}{DISCARDED_SUFFIX}{uuid.uuid4().hex[:8]}")
        working.rename(discarded)
        shutil.rmtree(discarded, ignore_errors=True)


def _working_folder(pipeline: Pipeline) -> Path:
    """The report pipeline's working folder."""
    return Path(pipeline.pipelines_dir) / (pipeline.pipeline_name + REPORT_PIPELINE_SUFFIX)
