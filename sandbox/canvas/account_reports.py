"""Account reports in the sandbox: provisioning_csv and last_user_access_csv, run as async jobs
whose CSV output is served as a file (docs/canvas-api.md section 4.9)."""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from .institution import Institution
from .model import Account, Course, Enrollment, User
from .payloads import TIME_ZONE
from .timestamps import iso

ROLE_NAMES = {
    "StudentEnrollment": "student",
    "TeacherEnrollment": "teacher",
    "TaEnrollment": "ta",
    "ObserverEnrollment": "observer",
    "DesignerEnrollment": "designer",
}
ENROLL_STATE = {"completed": "concluded", "creation_pending": "invited"}
COURSE_STATE = {
    "unpublished": "unpublished",
    "available": "active",
    "completed": "concluded",
    "deleted": "deleted",
}

PROVISIONING_ENTITIES = ("users", "accounts", "terms", "courses", "sections", "enrollments")
HEADERS = {
    "users": [
        "canvas_user_id",
        "user_id",
        "integration_id",
        "authentication_provider_id",
        "login_id",
        "first_name",
        "last_name",
        "full_name",
        "sortable_name",
        "short_name",
        "email",
        "status",
        "created_by_sis",
    ],
    "accounts": [
        "canvas_account_id",
        "account_id",
        "canvas_parent_id",
        "parent_account_id",
        "name",
        "status",
        "created_by_sis",
    ],
    "terms": ["canvas_term_id", "term_id", "name", "status", "start_date", "end_date", "created_by_sis"],
    "courses": [
        "canvas_course_id",
        "course_id",
        "integration_id",
        "short_name",
        "long_name",
        "canvas_account_id",
        "account_id",
        "canvas_term_id",
        "term_id",
        "status",
        "start_date",
        "end_date",
        "course_format",
        "created_by_sis",
    ],
    "sections": [
        "canvas_section_id",
        "section_id",
        "canvas_course_id",
        "course_id",
        "integration_id",
        "name",
        "status",
        "start_date",
        "end_date",
        "canvas_account_id",
        "account_id",
        "created_by_sis",
    ],
    "enrollments": [
        "canvas_course_id",
        "course_id",
        "canvas_user_id",
        "user_id",
        "role",
        "role_id",
        "canvas_section_id",
        "section_id",
        "status",
        "canvas_associated_user_id",
        "associated_user_id",
        "created_by_sis",
        "base_role_type",
        "limit_section_privileges",
        "canvas_enrollment_id",
    ],
    "last_user_access": ["user id", "user sis id", "user name", "last access at", "last ip"],
}

# Report name -> parameters it documents (GET /accounts/:id/reports lists them).
REPORTS: dict[str, dict[str, str]] = {
    "provisioning_csv": {
        "enrollment_term_id": "The canvas id of the term to get grades from",
        "users": "Get the Provisioning file for users",
        "accounts": "Get the Provisioning file for accounts",
        "terms": "Get the Provisioning file for terms",
        "courses": "Get the Provisioning file for courses",
        "sections": "Get the Provisioning file for sections",
        "enrollments": "Get the Provisioning file for enrollments",
        "include_deleted": "Include deleted objects",
        "created_by_sis": "Only include objects created by SIS",
    },
    "last_user_access_csv": {
        "enrollment_term_id": "The canvas id of the term to scope users by",
        "include_deleted": "Include deleted users",
    },
}
TITLES = {"provisioning_csv": "Provisioning", "last_user_access_csv": "Last User Access"}
# created, running (0%), running (50%), compiling (90%), then complete
REPORT_STEPS = 4


def _flag(value: str | None) -> bool:
    return (value or "").lower() in ("1", "true", "t", "yes", "y", "on")


_ZONE = ZoneInfo(TIME_ZONE)


def local_time(ts: int | None) -> str | None:
    """default_timezone_format: ISO 8601 in the account's time zone, with its offset."""
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, UTC).astimezone(_ZONE).isoformat()


@dataclass
class AccountReport:
    """One report run."""

    id: int
    report: str
    account: Account
    started: float  # job-clock reading
    created_at: int
    parameters: dict[str, str]
    file_id: int | None = None
    finished: bool = False
    ended_at: int | None = None
    rows: int = 0
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass
class ReportContext:
    """What report generation needs beyond the institution."""

    inst: Institution
    user_status: dict[int, str]
    created_by_sis: Callable[[str, Any], bool]


def _scope(ctx: ReportContext, account: Account, params: dict[str, str]) -> list[Course]:
    inst = ctx.inst
    courses = inst.account_courses.get(account.id, [])
    term = params.get("enrollment_term_id")
    if term:
        if term.startswith("sis_term_id:"):
            term_id = next((t.id for t in inst.terms if t.sis_term_id == term.split(":", 1)[1]), -1)
        else:
            term_id = int(term) if term.isdigit() else -1
        courses = [c for c in courses if c.enrollment_term_id == term_id]
    return courses


def provisioning_tables(
    ctx: ReportContext, account: Account, params: dict[str, str]
) -> dict[str, list[list[Any]]]:
    """The selected provisioning CSVs as rows (header first), following the sis_exporter's filters."""
    inst = ctx.inst
    include_deleted = _flag(params.get("include_deleted"))
    only_sis = _flag(params.get("created_by_sis"))
    courses = _scope(ctx, account, params)
    wanted = [e for e in PROVISIONING_ENTITIES if _flag(params.get(e))]
    out: dict[str, list[list[Any]]] = {}
    sis = ctx.created_by_sis
    for entity in wanted:
        rows: list[list[Any]] = [HEADERS[entity]]
        if entity == "users":
            users = inst.users
            if account.id != inst.root.id:
                ids = {e.user.id for c in courses for e in c.enrollments}
                users = [u for u in users if u.id in ids]
            for u in sorted(users, key=lambda u: u.id):
                status = ctx.user_status.get(u.id, "active")
                if status == "deleted" and not (include_deleted and u.sis_user_id):
                    continue
                if only_sis and not sis("user", u):
                    continue
                last, _, first = u.sortable_name.partition(", ")
                rows.append(
                    [
                        u.id,
                        u.sis_user_id,
                        u.integration_id,
                        None,
                        u.login_id,
                        first,
                        last,
                        u.name,
                        u.sortable_name,
                        u.short_name,
                        u.email,
                        status,
                        sis("user", u),
                    ]
                )
        elif entity == "accounts":
            accounts = (
                inst.descendants(account.id)
                if account.id == inst.root.id
                else inst.children.get(account.id, [])
            )
            for a in accounts:
                if only_sis and not sis("account", a):
                    continue
                parent = inst.accounts_by_id.get(a.parent_account_id or 0)
                rows.append(
                    [
                        a.id,
                        a.sis_account_id,
                        a.parent_account_id,
                        parent.sis_account_id if parent else None,
                        a.name,
                        "active",
                        sis("account", a),
                    ]
                )
        elif entity == "terms":
            for t in inst.terms:
                if only_sis and not sis("term", t):
                    continue
                rows.append(
                    [
                        t.id,
                        t.sis_term_id,
                        t.name,
                        "active",
                        local_time(t.start_at),
                        local_time(t.end_at),
                        sis("term", t),
                    ]
                )
        elif entity == "courses":
            for c in courses:
                if not include_deleted and c.workflow_state in ("deleted", "completed"):
                    continue
                if only_sis and not sis("course", c):
                    continue
                acc = inst.accounts_by_id[c.account_id]
                term = inst.terms_by_id[c.enrollment_term_id]
                rows.append(
                    [
                        c.id,
                        c.sis_course_id,
                        c.integration_id,
                        c.course_code,
                        c.name,
                        c.account_id,
                        acc.sis_account_id,
                        term.id,
                        term.sis_term_id,
                        COURSE_STATE.get(c.workflow_state, c.workflow_state),
                        None,
                        None,
                        None,
                        sis("course", c),
                    ]
                )
        elif entity == "sections":
            for c in courses:
                if c.workflow_state == "deleted" and not include_deleted:
                    continue
                acc = inst.accounts_by_id[c.account_id]
                for s in c.sections:
                    if only_sis and not sis("section", s):
                        continue
                    restricted = s.start_at is not None or s.end_at is not None
                    rows.append(
                        [
                            s.id,
                            s.sis_section_id,
                            c.id,
                            c.sis_course_id,
                            s.integration_id,
                            s.name,
                            "active",
                            local_time(s.start_at) if restricted else None,
                            local_time(s.end_at) if restricted else None,
                            c.account_id,
                            acc.sis_account_id,
                            sis("section", s),
                        ]
                    )
        else:
            for c in courses:
                for e in sorted(c.enrollments, key=lambda e: e.id):
                    if not _keep_enrollment(ctx, c, e, include_deleted, only_sis):
                        continue
                    rows.append(enrollment_row(inst, c, e, sis("enrollment", e)))
        out[entity] = rows
    return out


def _keep_enrollment(
    ctx: ReportContext, c: Course, e: Enrollment, include_deleted: bool, only_sis: bool
) -> bool:
    by_sis = ctx.created_by_sis("enrollment", e)
    if only_sis and not by_sis:
        return False
    if ctx.user_status.get(e.user.id) == "deleted" and not include_deleted:
        return False  # the user's login is gone
    if include_deleted:
        return e.state != "deleted" or by_sis
    return e.state not in ("deleted", "completed") and c.workflow_state != "deleted"


def enrollment_row(inst: Institution, c: Course, e: Enrollment, by_sis: bool) -> list[Any]:
    """One provisioning enrollments.csv row."""
    observed: User | None = inst.users_by_id.get(e.associated_user_id) if e.associated_user_id else None
    state = "deleted" if c.workflow_state == "deleted" else ENROLL_STATE.get(e.state, e.state)
    return [
        c.id,
        c.sis_course_id,
        e.user.id,
        e.user.sis_user_id,
        ROLE_NAMES[e.type],
        e.role_id,
        e.section.id,
        e.section.sis_section_id,
        state,
        e.associated_user_id,
        observed.sis_user_id if observed else None,
        by_sis,
        e.type,
        e.limit_privileges_to_course_section,
        e.id,
    ]


def last_user_access_rows(ctx: ReportContext, account: Account, params: dict[str, str]) -> list[list[Any]]:
    """last_user_access_csv: one row per login with its last request time (our users' last_login)."""
    inst = ctx.inst
    include_deleted = _flag(params.get("include_deleted"))
    users = inst.users
    if account.id != inst.root.id or params.get("enrollment_term_id"):
        courses = _scope(ctx, account, params)
        ids = {e.user.id for c in courses for e in c.enrollments if include_deleted or e.state != "deleted"}
        users = [u for u in users if u.id in ids]
    rows: list[list[Any]] = [HEADERS["last_user_access"]]
    for u in sorted(users, key=lambda u: u.id):
        if ctx.user_status.get(u.id, "active") != "active" and not include_deleted:
            continue
        ip = None if u.last_login is None else f"10.{u.id // 65536 % 256}.{u.id // 256 % 256}.{u.id % 256}"
        rows.append([u.id, u.sis_user_id, u.sortable_name, local_time(u.last_login), ip])
    return rows


def _csv_bytes(rows: list[list[Any]]) -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    for row in rows:
        writer.writerow(
            ["" if v is None else ("true" if v is True else "false" if v is False else v) for v in row]
        )
    return buf.getvalue().encode()


def generate(ctx: ReportContext, report: AccountReport) -> tuple[str, str, bytes, int] | None:
    """The report's file: (file name, content type, bytes, data rows); None when nothing was selected.

    One provisioning CSV comes as a .csv; several come zipped, one CSV per entity (as Canvas does).
    """
    stamp = datetime.fromtimestamp(ctx.inst.clock, UTC).strftime("%d_%b_%Y")
    if report.report == "last_user_access_csv":
        rows = last_user_access_rows(ctx, report.account, report.parameters)
        return f"last_user_access_{stamp}_{report.id}_.csv", "text/csv", _csv_bytes(rows), len(rows) - 1
    tables = provisioning_tables(ctx, report.account, report.parameters)
    if not tables:
        return None
    count = sum(len(rows) - 1 for rows in tables.values())
    if len(tables) == 1:
        ((entity, rows),) = tables.items()
        return f"{entity}_provisioning_{stamp}_{report.id}_.csv", "text/csv", _csv_bytes(rows), count
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as archive:
        for entity, rows in tables.items():
            archive.writestr(f"{entity}.csv", _csv_bytes(rows))
    return f"provisioning_csv_{stamp}_{report.id}_.zip", "application/zip", buf.getvalue(), count


def report_json(
    report: AccountReport, stage: int, file: dict[str, Any] | None, file_url: str | None
) -> dict[str, Any]:
    """An AccountReport as GET /accounts/:id/reports/:report/:id returns it at a stage."""
    if report.finished:
        status, progress = "complete", 100
    elif stage == 0:
        status, progress = "created", 0
    elif stage < REPORT_STEPS - 1:
        status, progress = "running", (stage - 1) * 50
    else:
        status, progress = "compiling", 90
    out: dict[str, Any] = {
        "id": report.id,
        "report": report.report,
        "file_url": file_url,
        "status": status,
        "created_at": iso(report.created_at),
        "started_at": iso(report.created_at) if stage > 0 or report.finished else None,
        "ended_at": iso(report.ended_at),
        "parameters": dict(report.parameters),
        "progress": progress,
        "current_line": report.rows if report.finished else None,
        "run_time": 0.0 if report.finished else None,
    }
    if file is not None:
        out["attachment"] = file
    return out
