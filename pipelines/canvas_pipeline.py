"""Load Canvas into DuckDB (default) or Postgres: `python pipelines/canvas_pipeline.py --demo`."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from contextlib import ExitStack
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a plain checkout too

import dlt  # noqa: E402
from dlt.common.configuration.exceptions import ConfigFieldMissingException  # noqa: E402

from pipelines.lms_inputs import (  # noqa: E402
    INPUT_FILE_ERRORS,
    add_input_arguments,
    describe_skipped,
    input_locations,
    report_rejected_files,
    schema_table_counts,
    write_canvas_demo_inputs,
)
from pipelines.run_report import StageTimer, format_summary, rows_loaded, table_counts  # noqa: E402
from pipelines.transform import add_transform_arguments, transform_after_load  # noqa: E402
from sources.canvas import CanvasApi, canvas_source  # noqa: E402
from sources.lms_http.errors import LmsApiError  # noqa: E402
from sources.sis_roster import sis_roster_source  # noqa: E402

PIPELINE_NAME = "canvas_pipeline"
RESOURCES = [
    "accounts",
    "terms",
    "courses",
    "users",
    "sections",
    "enrollments",
    "assignment_groups",
    "assignments",
    "submissions",
    "student_summaries",
    "course_activity",
    "rollcall_attendance",
]
MISSING_CONFIG = """\
No Canvas connection is configured. Set both of these (or run with --demo to load the local sandbox):
  base_url      in .dlt/config.toml   [sources.canvas] base_url = "https://<school>.instructure.com"
                or env SOURCES__CANVAS__BASE_URL
  access_token  in .dlt/secrets.toml  [sources.canvas] access_token = "<account admin token>"
                or env SOURCES__CANVAS__ACCESS_TOKEN
See .dlt/secrets.toml.example."""

logger = logging.getLogger("canvas_pipeline")


def _int_list(text: str | None) -> list[int] | None:
    if not text:
        return None
    try:
        return [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise SystemExit(f"expected a comma-separated list of numeric ids, got {text!r}") from None


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--demo", action="store_true", help="start the local Canvas sandbox and load it")
    parser.add_argument("--size", default="small", choices=["small", "medium", "large"], help="sandbox size with --demo")
    parser.add_argument("--seed", type=int, default=7, help="sandbox seed with --demo")
    parser.add_argument("--throttle", default="default", choices=["off", "default", "strict"], help="sandbox throttle with --demo")
    parser.add_argument("--destination", default="duckdb", help="dlt destination: duckdb (default) or postgres")
    parser.add_argument("--dataset", default="canvas", help="dataset (schema) name in the destination")
    parser.add_argument("--resources", help=f"comma-separated subset of: {','.join(RESOURCES)}")
    parser.add_argument("--courses", help="comma-separated Canvas course ids (a shard)")
    parser.add_argument("--terms", help="comma-separated enrollment term ids (a shard)")
    parser.add_argument("--account", default=None, help="root account id (default: self)")
    parser.add_argument("--full-refresh", action="store_true", help="drop this source's tables and state, then load all")
    parser.add_argument(
        "--file-format",
        choices=["parquet", "jsonl", "insert_values", "csv"],
        help="load file format (default: parquet on duckdb, the destination's own elsewhere)",
    )
    parser.add_argument("--max-in-flight", type=int, default=8, help="most concurrent requests for the token")
    add_input_arguments(parser, rollcall=True)
    add_transform_arguments(parser)
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress at INFO level")
    return parser.parse_args(argv)


def resolve_connection(args: argparse.Namespace, stack: ExitStack) -> tuple[str, str]:
    """The Canvas base URL and token: the sandbox's with --demo, else dlt config and secrets."""
    if args.demo:
        from sandbox.canvas import CanvasSandbox

        sandbox = stack.enter_context(CanvasSandbox(size=args.size, seed=args.seed, throttle=args.throttle))
        logger.info("sandbox Canvas (%s) at %s", args.size, sandbox.base_url)
        print(f"Started the sandbox Canvas ({args.size} institution) at {sandbox.base_url}")
        write_canvas_demo_inputs(args, sandbox, stack)
        return sandbox.base_url, sandbox.admin_token
    try:
        base_url = dlt.config["sources.canvas.base_url"]
        token = dlt.secrets["sources.canvas.access_token"]
    except (KeyError, ConfigFieldMissingException):
        base_url, token = None, None
    if not base_url or not token:
        raise SystemExit(MISSING_CONFIG)
    return str(base_url), str(token)


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Run one load; returns the figures printed in the summary."""
    timer = StageTimer()
    with ExitStack() as stack:
        base_url, token = resolve_connection(args, stack)
        api = CanvasApi(base_url, token, max_in_flight=args.max_in_flight)
        source = canvas_source(
            base_url=base_url,
            access_token=token,
            account_id=args.account or "self",
            course_ids=_int_list(args.courses),
            term_ids=_int_list(args.terms),
            rollcall_bucket_url=input_locations(args)[0],
            api=api,
        )
        if args.resources:
            wanted = [r.strip() for r in args.resources.split(",") if r.strip()]
            unknown = sorted(set(wanted) - set(RESOURCES))
            if unknown:
                raise SystemExit(f"unknown resources {unknown}; choose from {', '.join(RESOURCES)}")
            source = source.with_resources(*wanted)
        pipeline = dlt.pipeline(
            pipeline_name=PIPELINE_NAME,
            destination=args.destination,
            dataset_name=args.dataset,
            progress="log" if args.verbose else None,
        )
        if pipeline.has_pending_data:
            print("Finishing the load left pending by the previous run first ...")
            timer.run("pending", pipeline.load)
        refresh = "drop_sources" if args.full_refresh else None
        print(f"Extracting from {base_url} ...")
        # parquet loads DuckDB ~20x faster than INSERT statements (medium: 3 s vs 70 s)
        file_format = args.file_format or ("parquet" if args.destination == "duckdb" else None)
        roster = input_locations(args)[1]
        # the SIS roster goes into the same dataset, for the enrolment audit (one extract: two
        # extract steps would leave the first package's schema stale)
        data = [source, sis_roster_source(roster)] if roster else source
        timer.run("extract", pipeline.extract, data, refresh=refresh, loader_file_format=file_format)
        print("Normalizing ...")
        timer.run("normalize", pipeline.normalize)
        print(f"Loading into {args.destination} ...")
        load_info = timer.run("load", pipeline.load)
        loaded = rows_loaded(pipeline)
        totals = table_counts(pipeline, RESOURCES)
        totals.update(schema_table_counts(pipeline, "sis_roster", ["sis_roster"]))
        http = api.stats.as_dict()
        print(format_summary("Canvas load", load_info, loaded, totals, http, timer))
        skipped = http["skipped"]
        scopes = [item for item in skipped if "file" not in item]  # rejected files are errors below
        if scopes:
            print(f"skipped {len(scopes)} scope(s) the token may not read:")
            for item in scopes:
                print(f"  {describe_skipped(item)}")
        rejected = report_rejected_files(skipped)
        # the SQL models in sql/ run after every load unless --no-transform
        transformed = transform_after_load(pipeline, args)
        return {
            "loaded": loaded,
            "totals": totals,
            "http": http,
            "seconds": timer.seconds,
            "skipped": skipped,
            "rejected_files": rejected,
            **transformed,
        }


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")
    try:
        outcome = run(args)
        if outcome["rejected_files"] or outcome["transform_failed"]:
            return 1  # the good files were loaded; the rejected ones need fixing
    except Exception as exc:  # a dlt step wraps the source's error: report the clear one
        cause: BaseException | None = exc
        while cause is not None and not isinstance(cause, (LmsApiError, *INPUT_FILE_ERRORS)):
            cause = cause.__cause__ or cause.__context__
        if cause is None:
            raise
        print(f"error: {cause}", file=sys.stderr)
        print("Nothing was lost: fix the setting and run again; finished loads stay in place.", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
