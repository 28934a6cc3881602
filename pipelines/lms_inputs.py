"""File inputs beside the LMS APIs for the demo: the sandboxes' Roll Call CSVs and SIS roster; and
how a skipped scope reads in the summary."""

from __future__ import annotations

import tempfile
from contextlib import ExitStack
from pathlib import Path
from typing import Any


def demo_folder(stack: ExitStack, prefix: str) -> Path:
    """A temp folder removed when the run ends."""
    return Path(stack.enter_context(tempfile.TemporaryDirectory(prefix=prefix)))


def write_canvas_demo_inputs(
    sandbox: Any, stack: ExitStack, rollcall_dir: str | None, sis_roster: str | None
) -> dict[str, str | None]:
    """Have the Canvas sandbox write the Roll Call CSVs and SIS roster not given on the command line.

    Returns:
        {"rollcall_dir": ..., "sis_roster": ...}: the given paths, or the ones written (removed when
        `stack` closes).
    """
    folder = demo_folder(stack, "canvas-demo-inputs-")
    if not rollcall_dir:
        files = sandbox.write_rollcall_reports(folder / "rollcall")
        rollcall_dir = str(folder / "rollcall")
        # the folder vanishes with the run: say what it held, not where
        print(f"The sandbox wrote {len(files)} Roll Call attendance reports (loaded as rollcall_attendance)")
    if not sis_roster:
        sis_roster = str(sandbox.write_sis_roster(folder / "sis_roster.csv"))
        print("The sandbox wrote its SIS roster (loaded as sis_roster)")
    return {"rollcall_dir": rollcall_dir, "sis_roster": sis_roster}


def write_brightspace_demo_inputs(
    sandbox: Any, stack: ExitStack, sis_roster: str | None
) -> dict[str, str | None]:
    """Have the Brightspace sandbox write its SIS roster unless one is given; returns {"sis_roster": ...}."""
    if not sis_roster:
        folder = demo_folder(stack, "brightspace-demo-inputs-")
        sis_roster = str(sandbox.write_sis_roster(folder / "sis_roster.csv"))
        print("The sandbox wrote its SIS roster (loaded as sis_roster)")
    return {"sis_roster": sis_roster}


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
