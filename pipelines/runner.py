"""The command-line side of both extraction pipelines: options to a LoadRequest, the LoadOutcome to the
terminal, exit codes. The load itself is pipelines/load.py."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from typing import Any

from pipelines.config_errors import describe_config_error
from pipelines.dashboard import dashboard_hint
from pipelines.load import (
    SCHEMA_CONTRACTS,
    LoadOutcome,
    LoadRequest,
    LoadRequestError,
    Models,
    clear_error,
    describe_error,
    run_load,
)
from pipelines.progress import show_progress
from pipelines.shards import Shard
from pipelines.transform import DEFAULT_ANALYTICS_SCHEMA
from sources.lms_http.errors import LmsPermissionError

__all__ = ["SCHEMA_CONTRACTS", "clear_error", "describe_error"]


def add_load_arguments(
    parser: argparse.ArgumentParser, lms: str, resources: Sequence[str], seed: int
) -> None:
    """Add the options both pipelines share: the sandbox, the warehouse, resources, inputs, models, run."""
    parser.add_argument("--demo", action="store_true", help=f"start the local {lms} sandbox and load it")
    parser.add_argument(
        "--size", default="small", choices=["small", "medium", "large"], help="sandbox size with --demo"
    )
    parser.add_argument("--seed", type=int, default=seed, help="sandbox seed with --demo")
    parser.add_argument(
        "--throttle",
        default="default",
        choices=["off", "default", "strict"],
        help="sandbox throttle with --demo",
    )
    parser.add_argument(
        "--destination", default="duckdb", help="dlt destination: duckdb (default) or postgres"
    )
    parser.add_argument("--dataset", default=lms.lower(), help="dataset (schema) name in the destination")
    parser.add_argument("--resources", help=f"comma-separated subset of: {','.join(resources)}")


def add_run_arguments(parser: argparse.ArgumentParser, pipeline_name: str, rollcall: bool) -> None:
    """Add the options after the shard: pipeline name, refresh, concurrency, inputs, models, `--strict`,
    `--schema-contract` and `-v`."""
    parser.add_argument(
        "--pipeline-name",
        help=f"dlt pipeline name (default: {pipeline_name}, or {pipeline_name}__<shard> for a shard)",
    )
    parser.add_argument(
        "--full-refresh", action="store_true", help="drop this source's tables and state, then load all"
    )
    parser.add_argument(
        "--max-in-flight",
        type=int,
        default=None,
        help="most concurrent requests for the token (default: [sources.<lms>] max_in_flight, else 8)",
    )
    if rollcall:
        parser.add_argument(
            "--rollcall-dir",
            help="folder or bucket URL of Roll Call attendance CSVs "
            "(default: [sources.canvas] rollcall_bucket_url)",
        )
    parser.add_argument(
        "--sis-roster",
        help="SIS roster CSV file, folder or bucket URL, loaded as table sis_roster "
        "(default: [sources.sis_roster] path)",
    )
    parser.add_argument(
        "--no-transform",
        action="store_true",
        help="load only; do not build the SQL models in sql/ afterwards",
    )
    parser.add_argument("--models", help="dbt selection of the models to build (default: all)")
    parser.add_argument(
        "--strict-grades",
        action="store_true",
        help="fail the build when a computed course grade disagrees with the LMS (default: report it)",
    )
    parser.add_argument(
        "--analytics-schema",
        default=DEFAULT_ANALYTICS_SCHEMA,
        help=f"schema the marts are built in (default {DEFAULT_ANALYTICS_SCHEMA})",
    )
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
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress at INFO level")


def int_list(text: str | None, what: str = "numeric ids") -> list[int] | None:
    """`1,2,3` as [1, 2, 3]; a value that is not a list of numbers stops with what was expected."""
    if not text:
        return None
    try:
        return [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise SystemExit(f"expected a comma-separated list of {what}, got {text!r}") from None


def load_request(
    args: argparse.Namespace,
    lms: str,
    client: Any,
    shard: Shard,
    rollcall_dir: str | None = None,
    sis_roster: str | None = None,
) -> LoadRequest:
    """The request the command line asks for (the inputs a --demo sandbox wrote win over none given)."""
    wanted = [r.strip() for r in (args.resources or "").split(",") if r.strip()]
    return LoadRequest(
        lms=lms,
        client=client,
        destination=args.destination,
        dataset=args.dataset,
        shard=shard,
        resources=wanted or None,
        full_refresh=args.full_refresh,
        schema_contract=args.schema_contract,
        strict=args.strict,
        models=None if args.no_transform else Models(args.models, args.analytics_schema, args.strict_grades),
        rollcall_dir=getattr(args, "rollcall_dir", None) or rollcall_dir,
        sis_roster=args.sis_roster or sis_roster,
        pipeline_name=args.pipeline_name,
        file_format=getattr(args, "file_format", None),
        progress=args.verbose,
        notify=print,
        watch=show_progress,
    )


def run_pipeline(
    args: argparse.Namespace,
    lms: str,
    shard: Shard,
    connection: Callable[[argparse.Namespace, ExitStack], tuple[Any, dict[str, str | None]]],
) -> LoadOutcome:
    """One command-line run: the LMS settings (and a --demo sandbox's input files) from
    `connection`, their client, the load, the printed summary."""
    with ExitStack() as stack:
        settings, inputs = connection(args, stack)
        request = load_request(args, lms, settings.client(), shard, **inputs)
        return load_and_print(f"{lms.capitalize()} load", request)


def load_and_print(title: str, request: LoadRequest) -> LoadOutcome:
    """Run the load and print its summary; a request that cannot run stops with its reason."""
    try:
        outcome = run_load(request)
    except LoadRequestError as exc:
        raise SystemExit(str(exc)) from None
    print_outcome(title, outcome)
    return outcome


def print_outcome(title: str, outcome: LoadOutcome) -> None:
    """The summary, skipped scopes, rejected files, the SQL models and where to look next."""
    from pipelines.lms_inputs import describe_skipped
    from pipelines.run_report import format_summary

    print(
        format_summary(
            title, outcome.load_info, outcome.loaded, outcome.totals, outcome.http, outcome.seconds
        )
    )
    scopes = outcome.skipped_scopes
    if scopes:
        print(f"skipped {len(scopes)} scope(s) the credentials may not read:")
        for item in scopes:
            print(f"  {describe_skipped(item)}")
    if outcome.http.get("rejected"):  # rows without a usable key (sources/canvas/rejects.py)
        print(
            f"set aside {len(outcome.http['rejected'])} row(s) with a missing or mistyped key: "
            "see the rejects table"
        )
    for item in outcome.rejected_files:
        print(f"error: {item['reason']}", file=sys.stderr)
    if outcome.models is not None:
        print(outcome.models.format())
    if outcome.models_error is not None:
        print(f"error: {outcome.models_error}", file=sys.stderr)
        print(
            "The load itself is complete; fix the models or data and rerun (or pass --no-transform).",
            file=sys.stderr,
        )
    print(next_steps(outcome))


def next_steps(outcome: LoadOutcome) -> str:
    """Where the data is and two commands to look at it."""
    pipeline = outcome.pipeline
    where = outcome.warehouse
    lines = [f"Your data: dataset {pipeline.dataset_name} in {where}"]
    if where.endswith(".duckdb"):
        table = next(iter(sorted(outcome.totals)), "run_reports")
        lines.append(f'  query it:   duckdb {where} "select count(*) from {pipeline.dataset_name}.{table}"')
    lines.append(f"  {dashboard_hint(pipeline.pipeline_name)}")
    return "\n".join(lines)


class _DestinationChangeWarning(logging.Filter):
    """Drops dlt's warning that the local state names another destination: a raw log line
    (timestamp, process and thread ids) about something that is expected when `--destination`
    changes; the load says in a line of its own when the new destination makes it load everything."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "in state differs from destination" not in record.getMessage()


def main_with_clear_errors(run: Callable[[argparse.Namespace], LoadOutcome], args: argparse.Namespace) -> int:
    """Run a pipeline; exit 1 with one clear line (no traceback) on an LMS or input-file error."""
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")
    logging.getLogger("dlt").addFilter(_DestinationChangeWarning())
    try:
        outcome = run(args)
    except Exception as exc:
        cause = clear_error(exc)
        if cause is None:
            setting = describe_config_error(exc)
            if setting is None:
                raise
            print(f"error: {setting}", file=sys.stderr)
            return 1
        hint = ""
        if args.strict and isinstance(cause, LmsPermissionError):
            hint = (
                " (--strict is on: without it, a scope the credentials may not read is skipped and reported)"
            )
        print(f"error: {describe_error(cause)}{hint}", file=sys.stderr)
        print(
            "Nothing was lost: fix the setting and run again; finished loads stay in place.", file=sys.stderr
        )
        return 1
    # the good files were loaded; rejected files and failed models need fixing
    return 1 if outcome.failed else 0
