"""Load Canvas into DuckDB (default) or Postgres: `python pipelines/canvas_pipeline.py --demo`."""

from __future__ import annotations

import argparse
import logging
import sys
from contextlib import ExitStack
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a plain checkout too

import dlt  # noqa: E402
from dlt.common.configuration.exceptions import ConfigFieldMissingException  # noqa: E402

from pipelines.lms_inputs import add_input_arguments, input_locations, write_canvas_demo_inputs  # noqa: E402
from pipelines.runner import (  # noqa: E402
    add_run_arguments,
    load_and_report,
    main_with_clear_errors,
    select_resources,
)
from pipelines.shards import WarehouseStageTimer, shard_from_args, shard_pipeline_name, shared_destination  # noqa: E402
from pipelines.transform import add_transform_arguments  # noqa: E402
from sources.canvas import CanvasApi, canvas_source  # noqa: E402

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
    "grading_period_sets",
    "grading_periods",
    "enrollment_period_grades",
    "late_policies",
    "custom_grade_statuses",
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
    parser.add_argument(
        "--size", default="small", choices=["small", "medium", "large"], help="sandbox size with --demo"
    )
    parser.add_argument("--seed", type=int, default=7, help="sandbox seed with --demo")
    parser.add_argument(
        "--throttle",
        default="default",
        choices=["off", "default", "strict"],
        help="sandbox throttle with --demo",
    )
    parser.add_argument(
        "--destination", default="duckdb", help="dlt destination: duckdb (default) or postgres"
    )
    parser.add_argument("--dataset", default="canvas", help="dataset (schema) name in the destination")
    parser.add_argument("--resources", help=f"comma-separated subset of: {','.join(RESOURCES)}")
    parser.add_argument("--courses", help="comma-separated Canvas course ids (a shard)")
    parser.add_argument("--terms", help="comma-separated enrollment term ids (a shard)")
    parser.add_argument(
        "--account", default=None, help="account id: the root (default: self) or a sub-account (a shard)"
    )
    parser.add_argument(
        "--pipeline-name",
        help=f"dlt pipeline name (default: {PIPELINE_NAME}, or {PIPELINE_NAME}__<shard> for a shard)",
    )
    parser.add_argument(
        "--full-refresh", action="store_true", help="drop this source's tables and state, then load all"
    )
    parser.add_argument(
        "--file-format",
        choices=["parquet", "jsonl", "insert_values", "csv"],
        help="load file format (default: parquet on duckdb, the destination's own elsewhere)",
    )
    parser.add_argument("--max-in-flight", type=int, default=8, help="most concurrent requests for the token")
    add_input_arguments(parser, rollcall=True)
    add_transform_arguments(parser)
    add_run_arguments(parser)
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
    timer = WarehouseStageTimer()
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
            strict=args.strict,
            api=api,
        )
        source = select_resources(source, args.resources, RESOURCES)
        shard = shard_from_args(args.account, _int_list(args.terms), _int_list(args.courses))
        name = args.pipeline_name or shard_pipeline_name(PIPELINE_NAME, shard)
        pipeline = dlt.pipeline(
            pipeline_name=name,
            destination=shared_destination(args.destination, PIPELINE_NAME, name),
            dataset_name=args.dataset,
            progress="log" if args.verbose else None,
        )
        stack.enter_context(timer.locked_from(pipeline))
        suffix = "" if shard.is_whole else f" (shard {shard.key}, pipeline {name})"
        print(f"Extracting from {base_url} ...{suffix}")
        return load_and_report("Canvas load", pipeline, source, api.stats, RESOURCES, args, timer)


def main(argv: list[str] | None = None) -> int:
    return main_with_clear_errors(run, parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
