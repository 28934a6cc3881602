"""What the write-path commands share: the Canvas connection (or the sandbox with --demo), the
warehouse pipeline their records load through, and exit statuses."""

from __future__ import annotations

import argparse
import logging
import os
from contextlib import ExitStack
from typing import Any

import dlt
from dlt.common.configuration.exceptions import ConfigFieldMissingException

from pipelines.warehouse import duckdb_destination
from sources.canvas.connection import canvas_settings
from sources.lms_http.errors import LmsApiError

# The extract (pipelines/canvas_pipeline.py) loads DuckDB's canvas_pipeline.duckdb; the write-path
# records go into the same file and dataset so they can be joined with it.
WAREHOUSE_FILE = "canvas_pipeline.duckdb"

MISSING_CONFIG = """\
No Canvas connection is configured. Set both of these (or run with --demo to use the local sandbox):
  base_url      in .dlt/config.toml   [sources.canvas] base_url = "https://<school>.instructure.com"
                or env SOURCES__CANVAS__BASE_URL (or --base-url)
  access_token  in .dlt/secrets.toml  [sources.canvas] access_token = "<account admin token>"
                or env SOURCES__CANVAS__ACCESS_TOKEN
See .dlt/secrets.toml.example."""

logger = logging.getLogger(__name__)


def add_connection_args(parser: argparse.ArgumentParser) -> None:
    """--demo (with sandbox size/seed), --base-url, --account, warehouse options and -v."""
    group = parser.add_argument_group("connection")
    group.add_argument(
        "--demo", action="store_true", help="start the local Canvas sandbox and work against it"
    )
    group.add_argument(
        "--size", default="small", choices=["small", "medium", "large"], help="sandbox size with --demo"
    )
    group.add_argument("--seed", type=int, default=7, help="sandbox seed with --demo")
    group.add_argument("--base-url", help="Canvas host (default: [sources.canvas] base_url)")
    group.add_argument("--account", default="self", help="root account id (default: self)")
    group.add_argument("--max-in-flight", type=int, default=4, help="most concurrent requests for the token")
    wh = parser.add_argument_group("warehouse")
    wh.add_argument("--destination", default="duckdb", help="dlt destination: duckdb (default) or postgres")
    wh.add_argument("--dataset", default="canvas", help="dataset (schema) the records load into")
    wh.add_argument("--no-load", action="store_true", help="do not load the run's records into the warehouse")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress at INFO level")


def connect(args: argparse.Namespace, stack: ExitStack) -> tuple[str, str, Any]:
    """The Canvas base URL and token, and the sandbox when --demo started one (else None)."""
    if args.demo:
        from sandbox.canvas import CanvasSandbox

        sandbox = stack.enter_context(CanvasSandbox(size=args.size, seed=args.seed, throttle="default"))
        print(f"Started the sandbox Canvas ({args.size} institution) at {sandbox.base_url}")
        return sandbox.base_url, sandbox.admin_token, sandbox
    try:
        settings = canvas_settings(base_url=args.base_url)
    except ConfigFieldMissingException:
        raise SystemExit(MISSING_CONFIG) from None
    return settings.base_url, settings.access_token, None


def warehouse(pipeline_name: str, destination: str, dataset: str) -> dlt.Pipeline:
    """A pipeline into the Canvas dataset: DuckDB's canvas_pipeline.duckdb beside the extract, or
    any dlt destination configured the usual way."""
    os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")
    dest: Any = duckdb_destination(WAREHOUSE_FILE) if destination == "duckdb" else destination
    return dlt.pipeline(pipeline_name=pipeline_name, destination=dest, dataset_name=dataset)


def lms_error_in(exc: BaseException) -> LmsApiError | None:
    """The LmsApiError behind an exception (dlt wraps source errors in its own)."""
    cause: BaseException | None = exc
    while cause is not None and not isinstance(cause, LmsApiError):
        cause = cause.__cause__ or cause.__context__
    return cause


def configure_logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")
