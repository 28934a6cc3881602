"""Load Brightspace into DuckDB (default) or Postgres: `python pipelines/brightspace_pipeline.py --demo`."""

from __future__ import annotations

import argparse
import logging
import shutil
import sys
import tempfile
from contextlib import ExitStack
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a plain checkout too

import dlt  # noqa: E402
from dlt.common.configuration.exceptions import ConfigFieldMissingException  # noqa: E402

from pipelines.lms_inputs import (  # noqa: E402
    add_input_arguments,
    write_brightspace_demo_inputs,
)
from pipelines.runner import (  # noqa: E402
    add_run_arguments,
    load_and_report,
    main_with_clear_errors,
    select_resources,
)
from pipelines.shards import WarehouseStageTimer, shard_from_args, shard_pipeline_name, shared_destination  # noqa: E402
from pipelines.transform import add_transform_arguments  # noqa: E402
from sources.brightspace import brightspace_source, connect  # noqa: E402
from sources.brightspace.bds_catalogue import DEFAULT_DATA_SET_TABLES  # noqa: E402
from sources.brightspace.settings import DEFAULT_REFRESH_TOKEN_FILE, DEFAULT_TOKEN_URL  # noqa: E402
from sources.lms_http.retry import RetryPolicy  # noqa: E402

PIPELINE_NAME = "brightspace_pipeline"
RESOURCES = [
    "org_units",
    "users",
    "courses",
    "enrollments",
    "classlists",
    "grade_setup",
    "grade_categories",
    "grade_objects",
    "grade_values",
    "final_grades",
    "content_user_progress",
    *DEFAULT_DATA_SET_TABLES,  # Brightspace Data Sets: attendance, engagement, ... (bds_catalogue.py)
]
MISSING_CONFIG = """\
No Brightspace connection is configured. Set these (or run with --demo to load the local sandbox):
  base_url       in .dlt/config.toml   [sources.brightspace] base_url = "https://<school>.brightspace.com"
                 or env SOURCES__BRIGHTSPACE__BASE_URL
  client_id      in .dlt/secrets.toml  [sources.brightspace] client_id = "<OAuth2 app client id>"
                 or env SOURCES__BRIGHTSPACE__CLIENT_ID
  client_secret  in .dlt/secrets.toml  [sources.brightspace] client_secret = "<OAuth2 app client secret>"
                 or env SOURCES__BRIGHTSPACE__CLIENT_SECRET
  refresh_token  in .dlt/secrets.toml  [sources.brightspace] refresh_token = "<first refresh token>"
                 or env SOURCES__BRIGHTSPACE__REFRESH_TOKEN
                 (not needed once .dlt/brightspace_refresh.token holds the rotated one)
See .dlt/secrets.toml.example."""

logger = logging.getLogger("brightspace_pipeline")


def _int_list(text: str | None) -> list[int] | None:
    if not text:
        return None
    try:
        return [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise SystemExit(f"expected a comma-separated list of numeric org unit ids, got {text!r}") from None


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--demo", action="store_true", help="start the local Brightspace sandbox and load it")
    parser.add_argument(
        "--size", default="small", choices=["small", "medium", "large"], help="sandbox size with --demo"
    )
    parser.add_argument("--seed", type=int, default=11, help="sandbox seed with --demo")
    parser.add_argument(
        "--throttle",
        default="default",
        choices=["off", "default", "strict"],
        help="sandbox throttle with --demo",
    )
    parser.add_argument(
        "--destination", default="duckdb", help="dlt destination: duckdb (default) or postgres"
    )
    parser.add_argument("--dataset", default="brightspace", help="dataset (schema) name in the destination")
    parser.add_argument("--resources", help=f"comma-separated subset of: {','.join(RESOURCES)}")
    parser.add_argument("--org-units", help="comma-separated course offering org unit ids (a shard)")
    parser.add_argument(
        "--pipeline-name",
        help=f"dlt pipeline name (default: {PIPELINE_NAME}, or {PIPELINE_NAME}__<shard> for a shard)",
    )
    parser.add_argument(
        "--full-refresh", action="store_true", help="drop this source's tables and state, then load all"
    )
    parser.add_argument("--max-in-flight", type=int, default=8, help="most concurrent requests for the app")
    add_input_arguments(parser, rollcall=False)
    add_transform_arguments(parser)
    add_run_arguments(parser)
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress at INFO level")
    return parser.parse_args(argv)


def _setting(key: str, secret: bool) -> str | None:
    try:
        value = (dlt.secrets if secret else dlt.config)[f"sources.brightspace.{key}"]
    except (KeyError, ConfigFieldMissingException):
        return None
    return str(value) if value else None


def resolve_connection(args: argparse.Namespace, stack: ExitStack) -> dict[str, Any]:
    """Connection settings: the sandbox's with --demo, else dlt config and secrets."""
    if args.demo:
        from sandbox.brightspace import BrightspaceSandbox

        sandbox = stack.enter_context(
            BrightspaceSandbox(size=args.size, seed=args.seed, throttle=args.throttle)
        )
        # the demo's rotating refresh token lives in a temp dir, never in the repo
        token_dir = tempfile.mkdtemp(prefix="brightspace-demo-")
        stack.callback(shutil.rmtree, token_dir, True)
        logger.info("sandbox Brightspace (%s) at %s", args.size, sandbox.base_url)
        print(f"Started the sandbox Brightspace ({args.size} institution) at {sandbox.base_url}")
        write_brightspace_demo_inputs(args, sandbox, stack)
        return {
            "base_url": sandbox.base_url,
            "client_id": sandbox.client_id,
            "client_secret": sandbox.client_secret,
            "refresh_token": sandbox.initial_refresh_token,
            "token_url": sandbox.token_url,
            "refresh_token_file": str(Path(token_dir) / "brightspace_refresh.token"),
        }
    settings = {
        "base_url": _setting("base_url", secret=False),
        "client_id": _setting("client_id", secret=True),
        "client_secret": _setting("client_secret", secret=True),
        "refresh_token": _setting("refresh_token", secret=True),
        "token_url": _setting("token_url", secret=False) or DEFAULT_TOKEN_URL,
        "refresh_token_file": _setting("refresh_token_file", secret=False) or DEFAULT_REFRESH_TOKEN_FILE,
    }
    has_token = settings["refresh_token"] or Path(str(settings["refresh_token_file"])).expanduser().is_file()
    if not (settings["base_url"] and settings["client_id"] and settings["client_secret"] and has_token):
        raise SystemExit(MISSING_CONFIG)
    return settings


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Run one load; returns the figures printed in the summary."""
    timer = WarehouseStageTimer()
    with ExitStack() as stack:
        conn = resolve_connection(args, stack)
        api = connect(
            conn["base_url"],
            conn["client_id"],
            conn["client_secret"],
            conn["refresh_token"],
            token_url=conn["token_url"],
            refresh_token_file=conn["refresh_token_file"],
            max_in_flight=args.max_in_flight,
            policy=RetryPolicy(),
        )
        shard = shard_from_args(org_units=_int_list(args.org_units))
        name = args.pipeline_name or shard_pipeline_name(PIPELINE_NAME, shard)
        pipeline = dlt.pipeline(
            pipeline_name=name,
            destination=shared_destination(args.destination, PIPELINE_NAME, name),
            dataset_name=args.dataset,
            progress="log" if args.verbose else None,
        )
        source = brightspace_source(
            base_url=conn["base_url"],
            client_id="unused",
            client_secret="unused",
            refresh_token=None,
            org_unit_ids=_int_list(args.org_units),
            strict=args.strict,
            api=api,
        )
        source = select_resources(source, args.resources, RESOURCES)
        stack.enter_context(timer.locked_from(pipeline))
        suffix = "" if shard.is_whole else f" (shard {shard.key}, pipeline {name})"
        print(f"Extracting from {conn['base_url']} ...{suffix}")
        return load_and_report("Brightspace load", pipeline, source, api.stats, RESOURCES, args, timer)


def main(argv: list[str] | None = None) -> int:
    return main_with_clear_errors(run, parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
