"""What both extraction pipelines share: run options, resource selection, the load steps, the report, the exit."""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from dlt.common.schema.exceptions import DataValidationError
from dlt.common.storages import NormalizeStorage, PackageStorage
from dlt.destinations.exceptions import DatabaseUndefinedRelation
from dlt.extract.source import DltSource
from dlt.pipeline.pipeline import Pipeline

from pipelines.lms_inputs import (
    INPUT_FILE_ERRORS,
    describe_skipped,
    input_locations,
    report_rejected_files,
    schema_table_counts,
)
from pipelines.run_report import (
    STATUS_FAILED,
    STATUS_SUCCEEDED,
    STATUS_WITH_ERRORS,
    RunReport,
    StageTimer,
    format_summary,
    rows_loaded,
    store_run_report,
    table_counts,
)
from pipelines.shards import Shard, shard_from_args, warehouse_write_lock
from pipelines.transform import transform_after_load
from sources.lms_http.errors import LmsApiError, LmsPermissionError
from sources.lms_http.stats import RequestStats
from sources.privacy import PrivacyConfigError
from sources.sis_roster import sis_roster_source

logger = logging.getLogger(__name__)

SCHEMA_CONTRACTS = ("evolve", "freeze", "discard_row", "discard_value")


def add_run_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the options every pipeline run shares: `--strict` and `--schema-contract`."""
    parser.add_argument(
        "--strict",
        action="store_true",
        help="fail the run on a course the credentials may not read (default: skip it and report it)",
    )
    parser.add_argument(
        "--schema-contract",
        choices=SCHEMA_CONTRACTS,
        default=None,
        help="what a new table, new column or changed type in the data does: evolve (default) the "
        "warehouse, freeze (fail the run, load nothing), discard_row or discard_value",
    )


def select_resources(source: DltSource, wanted_csv: str | None, known: list[str]) -> DltSource:
    """Narrow `source` to `--resources a,b`; an unknown name stops with the list to choose from."""
    if not wanted_csv:
        return source
    wanted = [r.strip() for r in wanted_csv.split(",") if r.strip()]
    unknown = sorted(set(wanted) - set(known))
    if unknown:
        raise SystemExit(f"unknown resources {unknown}; choose from {', '.join(known)}")
    return source.with_resources(*wanted)


def _ids(text: str | None) -> list[int] | None:
    return [int(x) for x in text.split(",") if x.strip()] if text else None


def shard_of(args: argparse.Namespace) -> Shard:
    """The shard the command line selects."""
    return shard_from_args(
        getattr(args, "account", None),
        _ids(getattr(args, "terms", None)),
        _ids(getattr(args, "courses", None)),
        _ids(getattr(args, "org_units", None)),
    )


def start_report(pipeline: Pipeline, source: DltSource, args: argparse.Namespace) -> RunReport:
    """An open run report for this run (its shard read from the command line)."""
    shard = shard_of(args)
    return RunReport(
        pipeline_name=pipeline.pipeline_name,
        lms=source.name,
        shard=shard.key,
        dataset_name=pipeline.dataset_name,
        destination=args.destination,
        strict=bool(getattr(args, "strict", False)),
        schema_contract=getattr(args, "schema_contract", None) or "evolve",
    )


def load_and_report(
    title: str,
    pipeline: Pipeline,
    source: DltSource,
    stats: RequestStats,
    resources: list[str],
    args: argparse.Namespace,
    timer: StageTimer,
) -> dict[str, Any]:
    """Extract, normalize and load `source` (plus the SIS roster, if given), print the summary,
    then build the SQL models unless --no-transform. Returns the figures printed.

    Every run, failed ones included, appends its report to the `run_reports` table of the dataset
    (when the destination is reachable); a failure is then raised again for the caller to report.
    """
    report = start_report(pipeline, source, args)
    if args.full_refresh and not shard_of(args).is_whole:
        raise SystemExit(
            f"--full-refresh drops the tables every shard shares, so it cannot run on one shard "
            f"({report.shard}): run it once without --account/--terms/--courses/--org-units, then the shards."
        )
    pending_before = _pending_packages(pipeline)
    try:
        outcome = _load(title, pipeline, source, stats, resources, args, timer, report)
    except Exception as exc:
        if find_cause(exc, DataValidationError) is not None:
            _abort_new_packages(pipeline, pending_before)
        cause = clear_error(exc)
        report.http, report.seconds = stats.as_dict(), dict(timer.seconds)
        report.finish(STATUS_FAILED, cause or exc, describe_error(cause) if cause is not None else None)
        _store(pipeline, report, timer)
        raise
    failed = outcome["rejected_files"] or outcome["transform_failed"]
    report.finish(STATUS_WITH_ERRORS if failed else STATUS_SUCCEEDED)
    _store(pipeline, report, timer)
    outcome["report"] = report
    return outcome


def _load(
    title: str,
    pipeline: Pipeline,
    source: DltSource,
    stats: RequestStats,
    resources: list[str],
    args: argparse.Namespace,
    timer: StageTimer,
    report: RunReport,
) -> dict[str, Any]:
    # before the pending step, which holds the warehouse lock for the rest of the run
    _forget_state_built_for_another_dataset(pipeline)
    _drop_extracted_copies_of_committed_packages(pipeline)
    if pipeline.has_pending_data:
        print("Finishing the load left pending by the previous run first ...")
        timer.run("pending", pipeline.load)
        print("Finished the pending load; extracting ...")
    refresh = "drop_sources" if args.full_refresh else None
    # parquet loads DuckDB ~20x faster than INSERT statements (Canvas medium: 3 s vs 70 s)
    file_format = getattr(args, "file_format", None) or ("parquet" if args.destination == "duckdb" else None)
    roster = input_locations(args)[1]
    # the SIS roster goes into the same dataset, for the enrolment audit (one extract: two
    # extract steps would leave the first package's schema stale)
    data = [source, sis_roster_source(roster)] if roster else source
    contract = getattr(args, "schema_contract", None)
    extract_info = timer.run(
        "extract",
        pipeline.extract,
        data,
        refresh=refresh,
        loader_file_format=file_format,
        schema_contract=contract,
    )
    report.load_ids = list(extract_info.loads_ids)
    print("Normalizing ...")
    timer.run("normalize", pipeline.normalize)
    print(f"Loading into {args.destination} ...")
    load_info = timer.run("load", pipeline.load)
    loaded = rows_loaded(pipeline)
    totals = table_counts(pipeline, resources)
    totals.update(schema_table_counts(pipeline, "sis_roster", ["sis_roster"]))
    http = stats.as_dict()
    report.http, report.loaded, report.totals, report.seconds = http, loaded, totals, dict(timer.seconds)
    print(format_summary(title, load_info, loaded, totals, http, timer))
    skipped = http["skipped"]
    scopes = [item for item in skipped if "file" not in item]  # rejected files are errors below
    if scopes:
        print(f"skipped {len(scopes)} scope(s) the credentials may not read:")
        for item in scopes:
            print(f"  {describe_skipped(item)}")
    if http.get("rejected"):  # rows without a usable key (sources/canvas/rejects.py)
        print(
            f"set aside {len(http['rejected'])} row(s) with a missing or mistyped key: see the rejects table"
        )
    rejected = report_rejected_files(skipped)
    return {
        "loaded": loaded,
        "totals": totals,
        "http": http,
        "seconds": timer.seconds,
        "skipped": skipped,
        "rejected_files": rejected,
        # the SQL models in sql/ run after every load unless --no-transform
        **transform_after_load(pipeline, args),
    }


def _forget_state_built_for_another_dataset(pipeline: Pipeline) -> None:
    """Start afresh when the dataset holds nothing of this pipeline (another dataset or destination).

    The incremental cursors in the local state describe what the *previous* dataset holds; kept,
    they would load only changes into the new one and leave it silently incomplete. Only local
    state is dropped: tables in the dataset (another shard's, say) are left alone.
    """
    if pipeline.first_run or pipeline.has_pending_data:
        return  # nothing to forget, or pending packages that bring the state to the dataset
    # a concurrent shard may be loading: a DuckDB file can't be opened while another process writes
    with warehouse_write_lock(pipeline):
        if _dataset_has_state_of(pipeline):
            return
    print(
        f"Dataset {pipeline.dataset_name!r} holds no load of {pipeline.pipeline_name} yet: "
        "its incremental state was built for another dataset, so this run loads everything."
    )
    pipeline.drop()  # local state, schemas and working files; the pipeline re-initialises in place


def _drop_extracted_copies_of_committed_packages(pipeline: Pipeline) -> None:
    """Delete what a kill during dlt's normalize commit left of an extracted package.

    dlt commits a normalized package by renaming it into `load/normalized` and only then deletes
    the extracted copy, file by file. A kill in between leaves that copy, whole or in part, beside
    the committed package: normalizing it again would fail on the missing parts, every run, or
    load its rows a second time. The copy is deleted when its package is already normalized or
    loaded, and when it lacks the parts every extracted package has (only that deletion removes them).
    """
    extracted = Path(pipeline.working_dir) / "normalize" / NormalizeStorage.EXTRACTED_FOLDER
    load_ids = set(pipeline.list_extracted_load_packages())
    if not load_ids:
        return
    committed = set(pipeline.list_normalized_load_packages()) | set(pipeline.list_completed_load_packages())
    for load_id in sorted(load_ids):
        package = extracted / load_id
        whole = (package / PackageStorage.NEW_JOBS_FOLDER).is_dir() and (
            package / PackageStorage.SCHEMA_FILE_NAME
        ).is_file()
        if load_id in committed or not whole:
            logger.warning(
                "deleting what a killed normalize step left of extracted load package %s: "
                "dlt had already passed it on to the load step",
                load_id,
            )
            shutil.rmtree(package, ignore_errors=True)


def _dataset_has_state_of(pipeline: Pipeline) -> bool:
    """Whether the destination dataset has a state row written by this pipeline's loads."""
    try:
        with pipeline.sql_client() as client:
            table = client.make_qualified_table_name("_dlt_pipeline_state")
            rows = client.execute_sql(
                f"select count(*) from {table} where pipeline_name = %s", pipeline.pipeline_name
            )
            return bool(rows and rows[0][0])
    except DatabaseUndefinedRelation:
        return False


def _pending_packages(pipeline: Pipeline) -> set[str]:
    return set(pipeline.list_extracted_load_packages()) | set(pipeline.list_normalized_load_packages())


def _abort_new_packages(pipeline: Pipeline, before: set[str]) -> None:
    """Drop what the run left pending, so a contract violation leaves nothing to load next time.

    Everything pending is aborted (older leftovers of a crashed run too: they failed the same
    normalize step); dlt rewinds the local state and schemas to the oldest aborted package.
    """
    new = sorted(_pending_packages(pipeline) - before)
    if not new:
        return
    try:
        pipeline.abort_packages()
    except Exception as exc:  # the run fails anyway; the user can still abort by hand
        logger.warning(
            "could not abort load packages %s (run `dlt pipeline %s abort-packages`): %s",
            new,
            pipeline.pipeline_name,
            exc,
        )
    else:
        logger.info("aborted load packages %s after a schema contract violation", new)


def _store(pipeline: Pipeline, report: RunReport, timer: StageTimer) -> None:
    """Load the report; a warehouse that cannot take it costs a warning, never the run."""
    try:
        # under the warehouse lock like a load (WarehouseStageTimer takes it for "report")
        timer.run("report", store_run_report, pipeline, report)
    except Exception as exc:
        logger.warning("could not store the run report in %s: %s", pipeline.dataset_name, exc)
        print(f"warning: the run report was not stored ({type(exc).__name__})", file=sys.stderr)
        return
    print(f"run report {report.run_id} ({report.status}) stored in table {pipeline.dataset_name}.run_reports")


def find_cause(exc: BaseException, kind: type[BaseException]) -> BaseException | None:
    """The first exception of type `kind` in `exc`'s cause/context chain, if any."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, kind):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


def describe_error(cause: BaseException) -> str:
    """One line for an error the user can fix: a schema contract violation names the option."""
    if isinstance(cause, DataValidationError):
        where = f"table {cause.table_name}" + (f" column {cause.column_name}" if cause.column_name else "")
        return (
            f"the data broke --schema-contract {cause.contract_mode} ({cause.schema_entity} of {where}); "
            "nothing from this run was loaded. Rerun with --schema-contract evolve to accept the change, "
            "or discard_row / discard_value to leave it out."
        )
    return str(cause)


def clear_error(exc: BaseException) -> BaseException | None:
    """The LMS, input-file, privacy-setting or schema contract error behind a failure (dlt wraps it in a step error)."""
    known = (LmsApiError, DataValidationError, PrivacyConfigError, *INPUT_FILE_ERRORS)
    return find_cause(exc, known)  # type: ignore[arg-type]


def main_with_clear_errors(
    run: Callable[[argparse.Namespace], dict[str, Any]], args: argparse.Namespace
) -> int:
    """Run a pipeline; exit 1 with one clear line (no traceback) on an LMS or input-file error."""
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")
    try:
        outcome = run(args)
    except Exception as exc:
        cause = clear_error(exc)
        if cause is None:
            raise
        hint = ""
        if getattr(args, "strict", False) and isinstance(cause, LmsPermissionError):
            hint = (
                " (--strict is on: without it, a scope the credentials may not read is skipped and reported)"
            )
        print(f"error: {describe_error(cause)}{hint}", file=sys.stderr)
        print(
            "Nothing was lost: fix the setting and run again; finished loads stay in place.", file=sys.stderr
        )
        return 1
    # the good files were loaded; rejected files and failed models need fixing
    return 1 if outcome["rejected_files"] or outcome["transform_failed"] else 0
