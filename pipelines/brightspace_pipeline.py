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

import dlt
from dlt.common.configuration.exceptions import ConfigFieldMissingException

from pipelines.lms_inputs import write_brightspace_demo_inputs
from pipelines.load import BRIGHTSPACE_RESOURCES, LoadOutcome
from pipelines.runner import (
    add_load_arguments,
    add_run_arguments,
    int_list,
    load_and_print,
    load_request,
    main_with_clear_errors,
)
from pipelines.shards import shard_from_args
from sources.brightspace import connect
from sources.brightspace.settings import DEFAULT_REFRESH_TOKEN_FILE, DEFAULT_TOKEN_URL
from sources.lms_http.retry import RetryPolicy

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


def _setting(key: str, secret: bool) -> str | None:
    try:
        value = (dlt.secrets if secret else dlt.config)[f"sources.brightspace.{key}"]
    except (KeyError, ConfigFieldMissingException):
        return None
    return str(value) if value else None


def resolve_connection(args: argparse.Namespace, stack: ExitStack) -> tuple[dict[str, Any], dict[str, Any]]:
    """Connection settings (the sandbox's with --demo, else dlt config and secrets) and the demo's inputs."""
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
        inputs = write_brightspace_demo_inputs(sandbox, stack, args.sis_roster)
        return {
            "base_url": sandbox.base_url,
            "client_id": sandbox.client_id,
            "client_secret": sandbox.client_secret,
            "refresh_token": sandbox.initial_refresh_token,
            "token_url": sandbox.token_url,
            "refresh_token_file": str(Path(token_dir) / "brightspace_refresh.token"),
        }, inputs
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
    return settings, {}


def run(args: argparse.Namespace) -> LoadOutcome:
    """Run one load and print its summary."""
    shard = shard_from_args(org_units=int_list(args.org_units, "numeric org unit ids"))
    with ExitStack() as stack:
        conn, inputs = resolve_connection(args, stack)
        client = connect(
            conn["base_url"],
            conn["client_id"],
            conn["client_secret"],
            conn["refresh_token"],
            token_url=conn["token_url"],
            refresh_token_file=conn["refresh_token_file"],
            max_in_flight=args.max_in_flight,
            policy=RetryPolicy(),
        )
        return load_and_print("Brightspace load", load_request(args, "brightspace", client, shard, **inputs))


def main(argv: list[str] | None = None) -> int:
    return main_with_clear_errors(run, parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
