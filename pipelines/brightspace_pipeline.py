"""Load Brightspace into DuckDB (default) or Postgres: `python pipelines/brightspace_pipeline.py --demo`."""

from __future__ import annotations

import argparse
import logging
import shutil
import sys
import tempfile
from contextlib import ExitStack
from pathlib import Path

from dlt.common.configuration.exceptions import ConfigFieldMissingException

from pipelines.lms_inputs import write_brightspace_demo_inputs
from pipelines.load import BRIGHTSPACE_RESOURCES, LoadOutcome
from pipelines.runner import (
    add_load_arguments,
    add_run_arguments,
    int_list,
    main_with_clear_errors,
    run_pipeline,
)
from pipelines.shards import shard_from_args
from sources.brightspace import BrightspaceSettings, brightspace_settings

PIPELINE_NAME = "brightspace_pipeline"
RESOURCES = list(BRIGHTSPACE_RESOURCES)
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


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    add_load_arguments(parser, "Brightspace", RESOURCES, seed=11)
    parser.add_argument("--org-units", help="comma-separated course offering org unit ids (a shard)")
    add_run_arguments(parser, PIPELINE_NAME, rollcall=False)
    return parser.parse_args(argv)


def connection_settings(
    args: argparse.Namespace, stack: ExitStack
) -> tuple[BrightspaceSettings, dict[str, str | None]]:
    """The Brightspace settings (the sandbox's app with --demo, else `[sources.brightspace]`) and
    the demo's input files."""
    if not args.demo:
        try:
            settings = brightspace_settings(max_in_flight=args.max_in_flight)
        except ConfigFieldMissingException:
            raise SystemExit(MISSING_CONFIG) from None
        if not (settings.refresh_token or Path(settings.refresh_token_file).expanduser().is_file()):
            raise SystemExit(MISSING_CONFIG)
        return settings, {}
    from sandbox.brightspace import BrightspaceSandbox

    sandbox = stack.enter_context(BrightspaceSandbox(size=args.size, seed=args.seed, throttle=args.throttle))
    # the demo's rotating refresh token lives in a temp dir, never in the repo
    token_dir = tempfile.mkdtemp(prefix="brightspace-demo-")
    stack.callback(shutil.rmtree, token_dir, True)
    logger.info("sandbox Brightspace (%s) at %s", args.size, sandbox.base_url)
    print(f"Started the sandbox Brightspace ({args.size} institution) at {sandbox.base_url}")
    inputs = write_brightspace_demo_inputs(sandbox, stack, args.sis_roster)
    settings = brightspace_settings(
        base_url=sandbox.base_url,
        client_id=sandbox.client_id,
        client_secret=sandbox.client_secret,
        refresh_token=sandbox.initial_refresh_token,
        token_url=sandbox.token_url,
        refresh_token_file=str(Path(token_dir) / "brightspace_refresh.token"),
        max_in_flight=args.max_in_flight,
    )
    return settings, inputs


def run(args: argparse.Namespace) -> LoadOutcome:
    """Run one load and print its summary."""
    shard = shard_from_args(org_units=int_list(args.org_units, "numeric org unit ids"))
    return run_pipeline(args, "brightspace", shard, connection_settings)


def main(argv: list[str] | None = None) -> int:
    return main_with_clear_errors(run, parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
