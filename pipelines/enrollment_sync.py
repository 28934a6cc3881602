"""Sync Canvas enrollments to a desired state (a CSV or a warehouse table): plan, then --apply.

usage: python pipelines/enrollment_sync.py --desired roster.csv [--apply] [options]
       python pipelines/enrollment_sync.py --demo [--apply]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from contextlib import ExitStack
from datetime import UTC, datetime
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
from writeback.canvas.enrollment_sync import (
    CHANGES,
    DesiredInputError,
    Plan,
    SyncRun,
    actual_from_rows,
    apply_plan,
    desired_from_csv,
    desired_from_rows,
    enrollment_sync_report,
    fetch_actual,
    plan_sync,
    scope_of,
)

PIPELINE_NAME = "canvas_enrollment_sync"
EXIT_OK = 0
EXIT_ERROR = 1
EXIT_BAD_INPUT = 2
EXIT_FAILURES = 3

EPILOG = """\
Desired enrollments: a CSV with sis_course_id and/or sis_section_id, sis_user_id, role
(student|teacher|ta|observer|designer) and status (active|completed|inactive|deleted); the SIS
enrollments.csv names course_id, section_id, user_id are accepted too. Or --desired-table: a
table with those columns in the dataset.

Actual enrollments: live from Canvas (every state, for the courses and sections the desired set
names), or --actual warehouse: the `enrollments` table of the last canvas_pipeline load.

Plan per desired row: create (missing or deleted in Canvas; Canvas reuses a deleted match),
reactivate (inactive or concluded), conclude, inactivate, delete, or keep. --conclude-missing also
concludes live SIS enrollments of the touched courses that the desired set leaves out.

exit status:
  0  dry run shown, or every change applied
  1  could not run: settings, permissions, network
  2  the desired input has problems (listed with line numbers); nothing was done
  3  some actions failed or could not be resolved (each is listed with Canvas's reason)

Students are never notified unless --notify. The run and its actions are merged into the
enrollment_sync_runs and enrollment_sync_actions tables of the canvas dataset unless --no-load.
"""


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="enrollment_sync.py",
        description="Plan (dry run) or apply the enrollment changes that make Canvas match the SIS.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    src = parser.add_argument_group("desired and actual state")
    src.add_argument("--desired", type=Path, help="CSV of desired enrollments")
    src.add_argument("--desired-table", help="warehouse table of desired enrollments (in --dataset)")
    src.add_argument(
        "--actual", choices=["live", "warehouse"], default="live", help="where Canvas's enrollments come from"
    )
    act = parser.add_argument_group("applying")
    act.add_argument(
        "--apply", action="store_true", help="make the changes (default: dry run, show the plan)"
    )
    act.add_argument(
        "--notify", action="store_true", help="let Canvas notify users of new enrollments (off by default)"
    )
    act.add_argument("--concurrency", type=int, default=4, help="changes in flight at once (default 4)")
    act.add_argument(
        "--conclude-missing", action="store_true", help="conclude SIS enrollments the desired set leaves out"
    )
    parser.add_argument("--show", type=int, default=50, help="list at most this many actions (default 50)")
    parser.add_argument("--show-keep", action="store_true", help="list the enrollments left alone too")
    add_connection_args(parser)
    args = parser.parse_args(argv)
    if not (args.desired or args.desired_table or args.demo):
        parser.error("give --desired CSV or --desired-table TABLE (or --demo)")
    if args.desired and args.desired_table:
        parser.error("give either --desired or --desired-table, not both")
    return args


def demo_roster(sandbox: Any, folder: Path) -> Path:
    """A desired-state CSV for --demo: one course's live students as they are, plus each kind of change."""
    rows = [r for r in sandbox.truth_rows("enrollments") if r["sis_course_id"] and r["sis_user_id"]]
    courses = sandbox.truth_rows("courses")
    open_course = next(
        c["sis_course_id"] for c in courses if c["workflow_state"] == "available" and c["sis_course_id"]
    )
    students = [r for r in rows if r["sis_course_id"] == open_course and r["type"] == "StudentEnrollment"]
    lines = ["sis_course_id,sis_section_id,sis_user_id,role,status"]
    active = [r for r in students if r["enrollment_state"] == "active"]
    for r in students:
        status = {"inactive": "active", "deleted": "deleted"}.get(r["enrollment_state"], "active")
        if r is active[0]:
            status = "completed"  # conclude one
        if r["enrollment_state"] in ("active", "inactive", "invited") or r is active[0]:
            lines.append(f"{open_course},,{r['sis_user_id']},student,{status}")
    enrolled = {r["sis_user_id"] for r in students}
    newcomers = sorted({r["sis_user_id"] for r in rows if r["type"] == "StudentEnrollment"} - enrolled)[:2]
    lines += [f"{open_course},,{u},student,active" for u in newcomers]
    path = folder / "desired_enrollments.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


def read_table(args: argparse.Namespace, table: str, columns: str = "*") -> list[dict[str, Any]]:
    """Rows of a table in the warehouse dataset."""
    pipeline = warehouse(PIPELINE_NAME, args.destination, args.dataset)
    with pipeline.sql_client() as client:
        name = client.make_qualified_table_name(table)
        with client.execute_query(f"select {columns} from {name}") as cursor:
            names = [c[0] for c in cursor.description]
            return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def format_plan(plan: Plan, show: int, show_keep: bool) -> str:
    counts = plan.counts()
    order = (*CHANGES, "unresolved", "keep")
    lines = [
        "Plan: " + ", ".join(f"{k} {counts[k]}" for k in order if counts.get(k))
        if plan.actions
        else "Plan: nothing"
    ]
    listed = [a for a in plan.actions if show_keep or a.kind != "keep"]
    for action in listed[:show]:
        lines.append(f"  {action.kind:<11} {action.label():<58} {action.reason}")
    if len(listed) > show:
        lines.append(f"  ... {len(listed) - show} more (--show N lists more)")
    return "\n".join(lines)


def format_outcome(plan: Plan) -> str:
    changes = [a for a in plan.actions if a.is_change or a.kind == "unresolved"]
    ok = [a for a in changes if a.status == "ok"]
    failed = [a for a in changes if a.status == "failed"]
    lines = [f"Applied {len(plan.changes)} change(s): {len(ok)} ok, {len(failed)} failed"]
    for a in failed:
        status = f" (HTTP {a.http_status})" if a.http_status else ""
        lines.append(f"  failed  {a.kind:<11} {a.label()}: {a.error}{status}")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    with ExitStack() as stack:
        base_url, token, sandbox = (
            connect(args, stack) if (args.demo or args.actual == "live" or args.apply) else (None, None, None)
        )
        desired_file = args.desired
        if args.demo and not (args.desired or args.desired_table):
            folder = Path(stack.enter_context(tempfile.TemporaryDirectory()))
            desired_file = demo_roster(sandbox, folder)
            print(f"Using a demo desired-state file: {desired_file.name}")
        try:
            if desired_file:
                desired = desired_from_csv(desired_file)
                desired_source = str(desired_file)
            else:
                rows = read_table(args, args.desired_table)
                desired = desired_from_rows(((None, r) for r in rows), args.desired_table)
                desired_source = f"{args.dataset}.{args.desired_table}"
        except DesiredInputError as exc:
            for problem in exc.problems:
                print(f"  error  {problem}")
            print(f"Refused: {len(exc.problems)} problem(s) in the desired enrollments; nothing was done.")
            return EXIT_BAD_INPUT
        scope = scope_of(desired)
        print(
            f"Desired: {len(desired)} enrollment(s) from {desired_source} "
            f"({len(scope.courses)} course(s), {len(scope.sections)} section(s) by section id)"
        )
        api = CanvasApi(base_url, token, max_in_flight=args.max_in_flight) if base_url else None
        if args.actual == "live":
            assert api is not None
            actual = fetch_actual(api, scope, workers=args.max_in_flight)
            actual_source = "live"
        else:
            rows = read_table(
                args,
                "enrollments",
                "id, course_id, course_section_id, user_id, sis_course_id, sis_section_id, sis_user_id, type, enrollment_state",
            )
            actual = [
                a
                for a in actual_from_rows(rows)
                if a.sis_course_id in scope.courses or a.sis_section_id in scope.sections
            ]
            known_courses = {a.sis_course_id for a in actual}
            known_sections = {a.sis_section_id for a in actual}
            scope.missing_courses = scope.courses - known_courses
            scope.missing_sections = scope.sections - known_sections
            actual_source = f"warehouse {args.dataset}.enrollments"
        print(f"Actual: {len(actual)} enrollment(s) in those courses and sections ({actual_source})")
        plan = plan_sync(desired, actual, scope, conclude_missing=args.conclude_missing)
        print(format_plan(plan, args.show, args.show_keep))
        sync = SyncRun.start("apply" if args.apply else "dry_run", desired_source, actual_source, args.notify)
        code = EXIT_OK
        if not args.apply:
            n = len(plan.changes)
            print(
                f"Dry run: nothing was changed. Run again with --apply to make {'these' if n != 1 else 'this'} {n} change(s)."
                if n
                else "Dry run: Canvas already matches; nothing to do."
            )
            if any(a.kind == "unresolved" for a in plan.actions):
                code = EXIT_FAILURES
        else:
            assert api is not None
            apply_plan(api, plan, notify=args.notify, concurrency=args.concurrency)
            print(format_outcome(plan))
            if any(a.status == "failed" for a in plan.actions):
                code = EXIT_FAILURES
            if args.actual == "live":
                # a fresh plan against what Canvas now holds: empty unless something failed
                left = plan_sync(
                    desired,
                    fetch_actual(api, scope_of(desired), workers=args.max_in_flight),
                    scope_of(desired),
                    args.conclude_missing,
                )
                print(f"Check: a fresh plan now has {len(left.changes)} change(s).")
        sync.finished_at = datetime.now(UTC)
        if not args.no_load:
            try:
                warehouse(PIPELINE_NAME, args.destination, args.dataset).run(
                    enrollment_sync_report(sync, plan)
                )
                target = "canvas_pipeline.duckdb" if args.destination == "duckdb" else args.destination
                print(
                    f"Run {sync.run_id} loaded into {args.dataset}.enrollment_sync_runs / enrollment_sync_actions ({target})."
                )
            except Exception as exc:  # the changes are made; a load problem must not hide their outcome
                print(f"warning: could not load the run report into the warehouse: {exc}", file=sys.stderr)
        return code


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    configure_logging(args.verbose)
    try:
        return run(args)
    except Exception as exc:
        error = lms_error_in(exc)
        if error is None:
            raise
        print(f"error: {error}", file=sys.stderr)
        return EXIT_ERROR


if __name__ == "__main__":
    sys.exit(main())
