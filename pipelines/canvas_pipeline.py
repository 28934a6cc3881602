"""Load Canvas into DuckDB (default) or Postgres: `python pipelines/canvas_pipeline.py --demo`."""

from __future__ import annotations

import argparse
import logging
import sys
from contextlib import ExitStack

from dlt.common.configuration.exceptions import ConfigFieldMissingException

from pipelines.lms_inputs import write_canvas_demo_inputs
from pipelines.load import CANVAS_RESOURCES, LoadOutcome
from pipelines.runner import (
    add_load_arguments,
    add_run_arguments,
    int_list,
    main_with_clear_errors,
    run_pipeline,
)
from pipelines.shards import shard_from_args
from sources.canvas import CanvasSettings, canvas_settings

PIPELINE_NAME = "canvas_pipeline"
RESOURCES = list(CANVAS_RESOURCES)
MISSING_CONFIG = """\
No Canvas connection is configured. Set both of these (or run with --demo to load the local sandbox):
  base_url      in .dlt/config.toml   [sources.canvas] base_url = "https://<school>.instructure.com"
                or env SOURCES__CANVAS__BASE_URL
  access_token  in .dlt/secrets.toml  [sources.canvas] access_token = "<account admin token>"
                or env SOURCES__CANVAS__ACCESS_TOKEN
See .dlt/secrets.toml.example."""

logger = logging.getLogger("canvas_pipeline")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    add_load_arguments(parser, "Canvas", RESOURCES, seed=7)
    parser.add_argument("--courses", help="comma-separated Canvas course ids (a shard)")
    parser.add_argument("--terms", help="comma-separated enrollment term ids (a shard)")
    parser.add_argument(
        "--account", default=None, help="account id: the root (default: self) or a sub-account (a shard)"
    )
    parser.add_argument(
        "--file-format",
        choices=["parquet", "jsonl", "insert_values", "csv"],
        help="load file format (default: parquet on duckdb and postgres, the destination's own elsewhere)",
    )
    add_run_arguments(parser, PIPELINE_NAME, rollcall=True)
    return parser.parse_args(argv)


def connection_settings(
    args: argparse.Namespace, stack: ExitStack
) -> tuple[CanvasSettings, dict[str, str | None]]:
    """The Canvas settings (the sandbox's host and token with --demo, else `[sources.canvas]`) and
    the demo's input files."""
    if not args.demo:
        try:
            return canvas_settings(max_in_flight=args.max_in_flight), {}
        except ConfigFieldMissingException:
            raise SystemExit(MISSING_CONFIG) from None
    from sandbox.canvas import CanvasSandbox

    sandbox = stack.enter_context(CanvasSandbox(size=args.size, seed=args.seed, throttle=args.throttle))
    logger.info("sandbox Canvas (%s) at %s", args.size, sandbox.base_url)
    print(f"Started the sandbox Canvas ({args.size} institution) at {sandbox.base_url}")
    inputs = write_canvas_demo_inputs(sandbox, stack, args.rollcall_dir, args.sis_roster)
    settings = canvas_settings(
        base_url=sandbox.base_url, access_token=sandbox.admin_token, max_in_flight=args.max_in_flight
    )
    return settings, inputs


def run(args: argparse.Namespace) -> LoadOutcome:
    """Run one load and print its summary."""
    shard = shard_from_args(args.account, int_list(args.terms), int_list(args.courses))
    return run_pipeline(args, "canvas", shard, connection_settings)


def main(argv: list[str] | None = None) -> int:
    return main_with_clear_errors(run, parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
