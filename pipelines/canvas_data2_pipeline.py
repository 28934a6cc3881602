"""Load Canvas Data 2 (DAP) into DuckDB (default) or Postgres: `python pipelines/canvas_data2_pipeline.py --demo`.

The first run takes a snapshot of every table, later runs the changes since (deletes included). The
SQL models then build the same marts as from the REST pipeline (dbt var canvas_channel = cd2).

A big table is loaded in bounded batches (`load_in_batches`): each load package takes at most
`OBJECTS_PER_BATCH` DAP objects of each table, so no step's memory grows with the institution.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import sys
from collections.abc import Callable, Sequence
from contextlib import ExitStack

from dlt.common.configuration.exceptions import ConfigFieldMissingException
from dlt.extract.source import DltSource
from dlt.pipeline.pipeline import Pipeline

from pipelines.load import LoadOutcome, LoadRequest, load_source, open_pipeline
from pipelines.runner import (
    add_load_arguments,
    add_run_arguments,
    load_request,
    main_with_clear_errors,
    print_outcome,
)
from pipelines.shards import Shard
from sources.canvas_data2 import canvas_data2, pending_tables
from sources.canvas_data2.client import DapClient
from sources.canvas_data2.connection import canvas_data2_settings
from sources.canvas_data2.settings import MART_TABLES

PIPELINE_NAME = "canvas_data2_pipeline"
MISSING_CONFIG = """\
No Canvas Data 2 client is configured. Set both of these (or run with --demo to load the local sandbox):
  client_id      in .dlt/secrets.toml  [sources.canvas_data2] client_id = "<DAP client id>"
                 or env SOURCES__CANVAS_DATA2__CLIENT_ID
  client_secret  in .dlt/secrets.toml  [sources.canvas_data2] client_secret = "<DAP client secret>"
                 or env SOURCES__CANVAS_DATA2__CLIENT_SECRET
See .dlt/secrets.toml.example."""

logger = logging.getLogger("canvas_data2_pipeline")

# DAP objects of each table per load package: the sandbox writes 100,000 records an object, so a
# package holds at most about that many rows per table whatever the institution's size
OBJECTS_PER_BATCH = 1


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    add_load_arguments(parser, "Canvas Data 2", list(MART_TABLES), seed=7)
    parser.set_defaults(dataset="canvas_data2")
    parser.add_argument(
        "--tables",
        help="comma-separated DAP tables (e.g. users,canvas_logs.web_logs) or `all`; default --resources",
    )
    parser.add_argument(
        "--resnapshot",
        help="tables to load from a new snapshot this run (`all` for every one): after an incompatible "
        "schema change or when DAP answers SnapshotRequired",
    )
    parser.add_argument(
        "--jobs-per-minute", type=int, default=None, help="DAP job creations a minute (default 5)"
    )
    add_run_arguments(parser, PIPELINE_NAME, rollcall=False)
    return parser.parse_args(argv)


def connect(args: argparse.Namespace, stack: ExitStack) -> DapClient:
    """The DAP client: the sandbox's with --demo, else `[sources.canvas_data2]`."""
    if not args.demo:
        try:
            return canvas_data2_settings(jobs_per_minute=args.jobs_per_minute).client()
        except ConfigFieldMissingException:
            raise SystemExit(MISSING_CONFIG) from None
    from sandbox.canvas_data2 import CanvasData2Sandbox
    from sandbox.canvas_data2.auth import DEFAULT_LIMITS

    # DAP allows 5 new jobs a minute unless Instructure raises it (docs/canvas-data-2.md section 10); at 5
    # the demo's 15 tables take 3 minutes, so the demo's institution has it raised to 60
    # (`--throttle strict`: the documented 5; `off`: no limits)
    jobs = {"off": 1_000_000, "default": 60, "strict": DEFAULT_LIMITS["create_job"]}[args.throttle]
    limits = {route: 1_000_000 for route in DEFAULT_LIMITS} if args.throttle == "off" else {}
    sandbox = stack.enter_context(
        CanvasData2Sandbox(size=args.size, seed=args.seed, job_polls=2, limits={**limits, "create_job": jobs})
    )
    print(f"Started the sandbox Canvas Data 2 ({args.size} institution) at {sandbox.base_url}")
    return canvas_data2_settings(
        base_url=sandbox.base_url,
        client_id=sandbox.client_id,
        client_secret=sandbox.client_secret,
        jobs_per_minute=args.jobs_per_minute or jobs,
        poll_seconds=0.5,  # the sandbox's jobs take one poll each to wait and to run
    ).client()


def run(args: argparse.Namespace) -> LoadOutcome:
    """Run one load and print its summary."""
    with ExitStack() as stack:
        client = connect(args, stack)
        request = load_request(args, "canvas_data2", client, Shard())
        pipeline = open_pipeline(request)
        request.notify(f"Extracting from {client.base_url} ...")
        outcome = load_in_batches(pipeline, request, client, args.tables or args.resources, args.resnapshot)
        print_outcome("Canvas Data 2 load", outcome)
        return outcome


def load_in_batches(
    pipeline: Pipeline,
    request: LoadRequest,
    client: DapClient,
    tables: str | Sequence[str] | None,
    resnapshot: str | Sequence[str] | None = None,
    *,
    objects_per_batch: int | None = OBJECTS_PER_BATCH,
    file_format: str = "parquet",
) -> LoadOutcome:
    """Load the tables through `load_source`, one bounded batch (load package) at a time.

    The first batch creates each table's job (or continues one a killed run left in state) and takes
    up to `objects_per_batch` of its objects; later batches continue the tables with objects left
    (`ObjectBatches`). It is one run of the load library: one run report, the SQL models built once.
    """
    source = canvas_data2(
        client=client,
        tables=tables,
        resnapshot=resnapshot,
        file_format=file_format,
        objects_per_batch=objects_per_batch,
    )
    later = ObjectBatches(pipeline, client, file_format, objects_per_batch, request.notify)
    return load_source(pipeline, source, request, list(source.resources), later)


@dataclasses.dataclass
class ObjectBatches:
    """The later packages of a Canvas Data 2 run: the tables whose job still has objects to load
    (kept in the resource state by the previous package), until none has."""

    pipeline: Pipeline
    client: DapClient
    file_format: str
    objects_per_batch: int | None
    notify: Callable[[str], None]
    number: int = 1

    @property
    def total(self) -> int:
        return 0  # a job's object count is known only once it ran

    def more(self, first: DltSource) -> bool:
        return bool(pending_tables(_resource_states(self.pipeline)))

    def next(self, first: DltSource) -> DltSource | None:
        left = pending_tables(_resource_states(self.pipeline))
        if not left:
            return None
        self.number += 1
        self.notify(f"Batch {self.number}: {', '.join(left)} have objects left ...")
        return canvas_data2(
            client=self.client,
            tables=left,
            file_format=self.file_format,
            objects_per_batch=self.objects_per_batch,
            pending_only=True,
        )


def _resource_states(pipeline: Pipeline) -> dict[str, dict]:
    return pipeline.state.get("sources", {}).get("canvas_data2", {}).get("resources", {})


def main(argv: list[str] | None = None) -> int:
    return main_with_clear_errors(run, parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
