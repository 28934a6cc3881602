"""Import SIS data into Canvas: check the CSVs locally, upload, watch the job, report, load the record.

usage: python pipelines/sis_import.py FILE [FILE ...] [options]     (CSVs or one zip)
       python pipelines/sis_import.py --demo                          (sample data, local sandbox)
"""

from __future__ import annotations

import argparse
import io
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from pipelines.write_path import (
    add_connection_args,
    configure_logging,
    connect,
    lms_error_in,
    warehouse,
)
from sources.canvas.helpers import CanvasApi
from sources.lms_http.jobs import JobFailedError, JobPoller, JobTimeoutError, PollPolicy
from writeback.canvas.sis_format import Validation, validate_inputs
from writeback.canvas.sis_imports import COUNT_NAMES, SisImportClient, canvas_sis_imports, job_state

PIPELINE_NAME = "canvas_sis_import"

EXIT_IMPORTED = 0
EXIT_ERROR = 1
EXIT_REFUSED = 2
EXIT_WARNINGS = 3
EXIT_FAILED = 4
EXIT_TIMEOUT = 5

EPILOG = """\
exit status:
  0  imported (or: --validate-only found nothing wrong, --no-wait submitted)
  1  could not run: settings, permissions, network or a Canvas error
  2  refused: the files failed the local check (nothing was uploaded), or bad options
  3  imported with warnings (Canvas skipped some rows; see the warnings)
  4  the import failed (failed / failed_with_messages / aborted)
  5  still running when --timeout ran out (the import goes on in Canvas; check it later)

Files are recognised by their header, as Canvas does (users, accounts, terms, courses, sections,
enrollments). Several CSVs are zipped into one upload. The import record is merged into the
`sis_imports` table of the canvas dataset (DuckDB: canvas_pipeline.duckdb) unless --no-load.
"""

# Small, valid sample data for --demo: a new term, course and section, three users, their enrollments.
DEMO_FILES = {
    "terms.csv": "term_id,name,status,start_date,end_date\n2027SP,Spring 2027,active,2027-01-11,2027-05-08\n",
    "courses.csv": (
        "course_id,short_name,long_name,account_id,term_id,status\n"
        "2027SP-DATA-101-01,DATA-101-01,DATA 101: Data in Practice (Spring 2027),,2027SP,active\n"
    ),
    "sections.csv": "section_id,course_id,name,status\n2027SP-DATA-101-01-001,2027SP-DATA-101-01,DATA-101-01 Section 001,active\n",
    "users.csv": (
        "user_id,login_id,first_name,last_name,email,status\n"
        "S9900001,ada.lovelace,Ada,Lovelace,ada.lovelace@students.sandbox.test,active\n"
        "S9900002,alan.turing,Alan,Turing,alan.turing@students.sandbox.test,active\n"
        "T9900001,grace.hopper,Grace,Hopper,grace.hopper@faculty.sandbox.test,active\n"
    ),
    "enrollments.csv": (
        "course_id,user_id,role,section_id,status\n"
        "2027SP-DATA-101-01,S9900001,student,2027SP-DATA-101-01-001,active\n"
        "2027SP-DATA-101-01,S9900002,student,2027SP-DATA-101-01-001,active\n"
        "2027SP-DATA-101-01,T9900001,teacher,2027SP-DATA-101-01-001,active\n"
    ),
}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="sis_import.py",
        description="Check SIS CSVs locally, import them into Canvas, watch the job and report.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("files", nargs="*", type=Path, help="SIS CSV files, or one zip of them")
    check = parser.add_argument_group("checking")
    check.add_argument("--validate-only", action="store_true", help="check the files and stop (exit 0 or 2)")
    check.add_argument(
        "--no-validate", action="store_true", help="upload without the local check (not advised)"
    )
    imp = parser.add_argument_group("import parameters (sent to Canvas as named)")
    imp.add_argument(
        "--batch-mode",
        action="store_true",
        help="full batch update of one term: SIS data of that term missing from this import is deleted",
    )
    imp.add_argument("--batch-mode-term-id", help="the term of --batch-mode (id or sis_term_id:X)")
    imp.add_argument(
        "--multi-term-batch-mode",
        action="store_true",
        help="batch mode over every term in the import (needs --change-threshold)",
    )
    imp.add_argument("--batch-mode-enrollment-drop-status", choices=["deleted", "completed", "inactive"])
    imp.add_argument(
        "--override-sis-stickiness", action="store_true", help="overwrite values changed in the Canvas UI"
    )
    imp.add_argument(
        "--add-sis-stickiness", action="store_true", help="make this import's values sticky (with override)"
    )
    imp.add_argument(
        "--clear-sis-stickiness",
        action="store_true",
        help="clear stickiness of this import's values (with override)",
    )
    imp.add_argument("--diffing-data-set-identifier", help="diff against the last import of this data set")
    imp.add_argument(
        "--diffing-remaster-data-set",
        action="store_true",
        help="send the full data set; the next import diffs against it",
    )
    imp.add_argument(
        "--diffing-drop-status",
        choices=["deleted", "completed", "inactive"],
        help="status for enrollments missing from a diffed import",
    )
    imp.add_argument(
        "--diffing-user-remove-status",
        choices=["deleted", "suspended"],
        help="status for users missing from a diffed import",
    )
    imp.add_argument(
        "--change-threshold", type=int, help="percent of change above which batch/diff deletes are skipped"
    )
    imp.add_argument(
        "--diff-row-count-threshold", type=int, help="rows changed above which diffing is skipped"
    )
    imp.add_argument(
        "--skip-deletes", action="store_true", help="ignore rows with status deleted and batch deletions"
    )
    imp.add_argument("--update-sis-id-if-login-claimed", action="store_true")
    watch = parser.add_argument_group("watching")
    watch.add_argument(
        "--timeout",
        type=float,
        default=1800.0,
        help="seconds to watch before giving up (default 1800; exit 5)",
    )
    watch.add_argument(
        "--poll-interval",
        type=float,
        default=2.0,
        help="first wait between status checks, doubling (default 2 s)",
    )
    watch.add_argument(
        "--max-poll-interval",
        type=float,
        default=60.0,
        help="longest wait between status checks (default 60 s)",
    )
    watch.add_argument("--no-wait", action="store_true", help="submit and exit without watching")
    parser.add_argument("--history", action="store_true", help="also load the account's whole import history")
    add_connection_args(parser)
    args = parser.parse_args(argv)
    if not args.files and not args.demo:
        parser.error("give the SIS CSV files (or one zip) to import, or --demo")
    if args.batch_mode and not (args.batch_mode_term_id or args.multi_term_batch_mode):
        parser.error("--batch-mode needs --batch-mode-term-id (or --multi-term-batch-mode)")
    if args.multi_term_batch_mode and args.change_threshold is None:
        parser.error("--multi-term-batch-mode needs --change-threshold")
    return args


def import_options(args: argparse.Namespace) -> dict[str, Any]:
    """The Canvas import parameters set on the command line."""
    names = [
        "batch_mode",
        "batch_mode_term_id",
        "multi_term_batch_mode",
        "batch_mode_enrollment_drop_status",
        "override_sis_stickiness",
        "add_sis_stickiness",
        "clear_sis_stickiness",
        "diffing_data_set_identifier",
        "diffing_remaster_data_set",
        "diffing_drop_status",
        "diffing_user_remove_status",
        "change_threshold",
        "diff_row_count_threshold",
        "skip_deletes",
        "update_sis_id_if_login_claimed",
    ]
    return {n: getattr(args, n) for n in names if getattr(args, n) not in (None, False)}


def write_demo_files(folder: Path) -> list[Path]:
    """The --demo sample as one zip in `folder`."""
    path = folder / "sis_demo.zip"
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        for name, text in DEMO_FILES.items():
            archive.writestr(name, text)
    path.write_bytes(buf.getvalue())
    return [path]


def print_validation(validation: Validation, verbose: bool) -> None:
    kinds = ", ".join(f"{f.name} ({f.kind or '?'}, {f.rows} rows)" for f in validation.files)
    print(f"Checked {len(validation.files)} file(s): {kinds}")
    for problem in validation.errors:
        print(f"  error  {problem}")
    notes = validation.notes
    for problem in notes[: None if verbose else 10]:
        print(f"  note   {problem}")
    if len(notes) > 10 and not verbose:
        print(f"  ... {len(notes) - 10} more notes (-v shows all)")


def outcome_code(record: dict[str, Any], timed_out: bool) -> int:
    """The exit status for a watched import."""
    if timed_out:
        return EXIT_TIMEOUT
    state = record.get("workflow_state")
    if state == "imported":
        return EXIT_IMPORTED
    if state in ("imported_with_messages", "partially_restored"):
        return EXIT_WARNINGS
    return EXIT_FAILED


def format_report(record: dict[str, Any], code: int) -> str:
    """The closing report: state, counts, warnings and errors."""
    lines = [
        f"== SIS import {record.get('id')}: {record.get('workflow_state')} ({record.get('progress', 0)}%) =="
    ]
    counts = (record.get("data") or {}).get("counts") or {}
    shown = [
        f"{n} {counts[n]}" for n in COUNT_NAMES if counts.get(n) and n not in ("error_count", "warning_count")
    ]
    lines.append(
        "counts: " + (", ".join(shown) if shown else ("none yet" if not counts else "nothing changed"))
    )
    for label, key in (("warnings", "processing_warnings"), ("errors", "processing_errors")):
        messages = record.get(key) or []
        lines.append(f"{label}: {len(messages) if messages else 'none'}")
        for file, message in messages[:50]:
            lines.append(f"  {file or '(import)'}: {message}")
        if len(messages) > 50:
            lines.append(f"  ... {len(messages) - 50} more (all are in the sis_imports table)")
    meaning = {
        EXIT_IMPORTED: "imported",
        EXIT_WARNINGS: "imported with warnings",
        EXIT_FAILED: "import failed",
        EXIT_TIMEOUT: "still running when the time limit ran out",
    }[code]
    lines.append(f"exit status {code}: {meaning}")
    return "\n".join(lines)


def watch(
    client: SisImportClient,
    record: dict[str, Any],
    args: argparse.Namespace,
    sleep: Callable[[float], None],
    clock: Callable[[], float],
) -> tuple[dict[str, Any], bool]:
    """Poll the import with the shared poller (capped exponential backoff, time limit).

    Returns:
        The last record seen and whether the time limit ran out.
    """
    poller = JobPoller(
        PollPolicy(
            first_delay=args.poll_interval, factor=2.0, max_delay=args.max_poll_interval, timeout=args.timeout
        ),
        lms="Canvas",
        sleep=sleep,
        clock=clock,
    )
    latest = {"record": record}
    started = clock()
    shown: list[tuple[Any, Any]] = [(record.get("workflow_state"), record.get("progress"))]

    def check(job_id: str) -> Any:
        current = client.status(job_id)
        latest["record"] = current
        seen = (current.get("workflow_state"), current.get("progress"))
        if seen != shown[-1]:
            shown.append(seen)
            print(f"  [{clock() - started:7.1f}s] {seen[0]:<24} {seen[1] or 0:>3}%", flush=True)
        return job_state(current)

    try:
        poller.wait("SIS import", str(record["id"]), check)
    except JobFailedError:
        pass  # the record says why; the report prints it
    except JobTimeoutError:
        return latest["record"], True
    return latest["record"], False


def load_records(args: argparse.Namespace, api: CanvasApi, record: dict[str, Any]) -> None:
    pipeline = warehouse(PIPELINE_NAME, args.destination, args.dataset)
    pipeline.run(canvas_sis_imports(records=[record], api=api, account_id=args.account, history=args.history))
    target = "canvas_pipeline.duckdb" if args.destination == "duckdb" else args.destination
    print(f"Loaded the import record into {args.dataset}.sis_imports ({target}).")


def run(
    args: argparse.Namespace,
    *,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> int:
    """Check, upload, watch, report and load; returns the exit status."""
    with ExitStack() as stack:
        files: list[Path] = list(args.files)
        if args.demo and not files:
            folder = Path(stack.enter_context(tempfile.TemporaryDirectory()))
            files = write_demo_files(folder)
            print(f"Using the demo SIS data: {', '.join(DEMO_FILES)}")
        validation, upload = validate_inputs(files)
        print_validation(validation, args.verbose)
        if upload is None or (not validation.ok and not args.no_validate):
            print(
                f"Refused: {len(validation.errors)} problem(s) above; nothing was uploaded. Fix the files and run again."
            )
            return EXIT_REFUSED
        if args.validate_only:
            print("The files pass the local check.")
            return EXIT_IMPORTED
        base_url, token, _ = connect(args, stack)
        api = CanvasApi(base_url, token, max_in_flight=args.max_in_flight)
        client = SisImportClient(api, args.account)
        record = client.submit(upload.filename, upload.data, upload.extension, import_options(args))
        print(
            f"Submitted {upload.filename} ({len(upload.data):,} bytes) as SIS import {record['id']}: {record.get('workflow_state')}"
        )
        if args.no_wait:
            code = EXIT_IMPORTED
            print(
                f"Not watching (--no-wait). Check it later: GET /api/v1/accounts/{args.account}/sis_imports/{record['id']}"
            )
        else:
            record, timed_out = watch(client, record, args, sleep, clock)
            code = outcome_code(record, timed_out)
            print(format_report(record, code))
        if not args.no_load:
            try:
                load_records(args, api, record)
            except Exception as exc:  # the import itself is done; a load problem must not hide its status
                print(f"warning: could not load the import record into the warehouse: {exc}", file=sys.stderr)
        return code


def main(
    argv: list[str] | None = None,
    *,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> int:
    args = parse_args(argv)
    configure_logging(args.verbose)
    try:
        return run(args, sleep=sleep, clock=clock)
    except Exception as exc:
        error = lms_error_in(exc)
        if error is None:
            raise
        print(f"error: {error}", file=sys.stderr)
        return EXIT_ERROR


if __name__ == "__main__":
    sys.exit(main())
