"""File inputs beside the LMS APIs: Roll Call CSV folders and the SIS roster, for both pipelines."""

from __future__ import annotations

import argparse
import sys
import tempfile
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import dlt
from dlt.common.configuration.exceptions import ConfigFieldMissingException
from dlt.pipeline.pipeline import Pipeline

from sources.canvas.rollcall import RollcallFileError
from sources.sis_roster import SisRosterFileError

# errors about an input file the user must fix; the pipelines print them without a traceback
INPUT_FILE_ERRORS: tuple[type[Exception], ...] = (RollcallFileError, SisRosterFileError)


def add_input_arguments(parser: argparse.ArgumentParser, rollcall: bool) -> None:
    """Add `--sis-roster` (and, for Canvas, `--rollcall-dir`) to a pipeline's parser."""
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


def config_value(key: str) -> str | None:
    """A setting from .dlt/config.toml or the environment, or None."""
    try:
        value = dlt.config[key]
    except (KeyError, ConfigFieldMissingException):
        return None
    return str(value) if value else None


def input_locations(args: argparse.Namespace) -> tuple[str | None, str | None]:
    """(Roll Call folder, SIS roster path): the command line wins over config."""
    rollcall = getattr(args, "rollcall_dir", None) or config_value("sources.canvas.rollcall_bucket_url")
    roster = getattr(args, "sis_roster", None) or config_value("sources.sis_roster.path")
    return rollcall, roster


def demo_folder(stack: ExitStack, prefix: str) -> Path:
    """A temp folder removed when the run ends."""
    folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix=prefix)))
    return folder


def write_canvas_demo_inputs(args: argparse.Namespace, sandbox: Any, stack: ExitStack) -> None:
    """Have the Canvas sandbox write its Roll Call CSVs and SIS roster; point `args` at them."""
    folder = demo_folder(stack, "canvas-demo-inputs-")
    if not getattr(args, "rollcall_dir", None):
        files = sandbox.write_rollcall_reports(folder / "rollcall")
        args.rollcall_dir = str(folder / "rollcall")
        print(f"The sandbox wrote {len(files)} Roll Call attendance reports to {args.rollcall_dir}")
    if not getattr(args, "sis_roster", None):
        args.sis_roster = str(sandbox.write_sis_roster(folder / "sis_roster.csv"))
        print(f"The sandbox wrote its SIS roster to {args.sis_roster}")


def write_brightspace_demo_inputs(args: argparse.Namespace, sandbox: Any, stack: ExitStack) -> None:
    """Have the Brightspace sandbox write its SIS roster; point `args` at it."""
    if not getattr(args, "sis_roster", None):
        folder = demo_folder(stack, "brightspace-demo-inputs-")
        args.sis_roster = str(sandbox.write_sis_roster(folder / "sis_roster.csv"))
        print(f"The sandbox wrote its SIS roster to {args.sis_roster}")


def schema_table_counts(pipeline: Pipeline, schema_name: str, tables: list[str]) -> dict[str, int]:
    """Live row counts of `tables` that exist in one of the pipeline's (non-default) schemas."""
    schema = pipeline.schemas.get(schema_name)
    if schema is None:
        return {}
    existing = set(schema.data_table_names())
    counts: dict[str, int] = {}
    with pipeline.sql_client() as client:
        for table in tables:
            if table in existing:
                rows = client.execute_sql(f"select count(*) from {client.make_qualified_table_name(table)}")
                counts[table] = int(rows[0][0])
    return counts


def describe_skipped(item: dict[str, Any]) -> str:
    """One skipped scope as a summary line: a course, an org unit or a file."""
    for scope, label in (
        ("course_id", "course"),
        ("org_unit_id", "org unit"),
        ("file", "file"),
        ("data_set", "data set"),
    ):
        if scope in item:
            return f"{item['resource']} of {label} {item[scope]}"
    return str(item.get("resource"))


def report_rejected_files(skipped: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Print each rejected input file's error to stderr; returns them."""
    rejected = [item for item in skipped if "file" in item]
    for item in rejected:
        print(f"error: {item['reason']}", file=sys.stderr)
    return rejected
