"""Enrollment sync: desired enrollments (SIS keys) against what Canvas has, a plan of the
difference, and its idempotent execution with bounded, throttle-aware concurrency.

Canvas has no idempotency keys, but re-POSTing an enrollment with the same user, type and section
reuses the existing one (same id), and conclude / inactivate / reactivate are state changes, so
a plan can be re-run safely; after a successful run the plan is empty.
"""

from __future__ import annotations

import csv
import logging
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import dlt
from dlt.sources import DltResource

from sources.canvas.helpers import CanvasApi
from sources.canvas.settings import ENROLLMENT_STATES, ts, typed
from sources.lms_http.errors import LmsApiError, LmsNotFoundError

from .write_api import CanvasWriteError, CanvasWriter

logger = logging.getLogger(__name__)

ROLE_TYPES = {
    "student": "StudentEnrollment",
    "teacher": "TeacherEnrollment",
    "ta": "TaEnrollment",
    "observer": "ObserverEnrollment",
    "designer": "DesignerEnrollment",
}
TYPE_ROLES = {v: k for k, v in ROLE_TYPES.items()}
# desired status -> the Canvas state it asks for
DESIRED_STATES = {
    "active": "active",
    "completed": "completed",
    "concluded": "completed",
    "inactive": "inactive",
    "deleted": "deleted",
}
# which existing enrollment stands for a desired one when several match: the most alive first
_STATE_RANK = {
    "active": 0,
    "invited": 1,
    "creation_pending": 2,
    "inactive": 3,
    "completed": 4,
    "rejected": 5,
    "deleted": 6,
}
CHANGES = ("create", "reactivate", "conclude", "inactivate", "delete")
# column aliases: our names, and the Canvas SIS enrollments.csv names
_ALIASES = {
    "sis_course_id": ("sis_course_id", "course_id"),
    "sis_section_id": ("sis_section_id", "section_id"),
    "sis_user_id": ("sis_user_id", "user_id"),
    "role": ("role", "type"),
    "status": ("status", "enrollment_state"),
}


@dataclass(frozen=True)
class Desired:
    """One enrollment the SIS wants, by SIS keys."""

    sis_user_id: str
    type: str
    status: str  # active | completed | inactive | deleted
    sis_course_id: str | None = None
    sis_section_id: str | None = None
    source_line: int | None = None

    @property
    def key(self) -> tuple[str, str, str, str]:
        return (self.sis_course_id or "", self.sis_section_id or "", self.sis_user_id, self.type)


@dataclass(frozen=True)
class Actual:
    """One enrollment Canvas has."""

    id: int
    course_id: int
    course_section_id: int | None
    user_id: int | None
    sis_course_id: str | None
    sis_section_id: str | None
    sis_user_id: str | None
    type: str
    state: str


@dataclass
class Action:
    """One step of a plan and, after --apply, what happened."""

    kind: str  # create | reactivate | conclude | inactivate | delete | keep | unresolved
    reason: str
    desired: Desired | None = None
    actual: Actual | None = None
    status: str = "planned"  # planned | ok | failed
    error: str | None = None
    http_status: int | None = None
    enrollment_id: int | None = None
    after_state: str | None = None

    @property
    def is_change(self) -> bool:
        return self.kind in CHANGES

    def label(self) -> str:
        d, a = self.desired, self.actual
        course = (
            (d.sis_course_id if d else None)
            or (a.sis_course_id if a else None)
            or (str(a.course_id) if a else "")
        )
        section = (d.sis_section_id if d else None) or (a.sis_section_id if a else None) or ""
        user = (
            (d.sis_user_id if d else None) or (a.sis_user_id if a else None) or (str(a.user_id) if a else "")
        )
        etype = (d.type if d else None) or (a.type if a else "")
        where = f"{course} / {section}" if section else course
        return f"{where}  {user}  {TYPE_ROLES.get(etype, etype)}"


@dataclass
class Plan:
    """Every action, in a stable order (changes first, then the rest)."""

    actions: list[Action] = field(default_factory=list)

    @property
    def changes(self) -> list[Action]:
        return [a for a in self.actions if a.is_change]

    def counts(self) -> Counter[str]:
        return Counter(a.kind for a in self.actions)


class DesiredInputError(ValueError):
    """The desired-state input has problems; `problems` lists them with their line numbers."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__(f"{len(problems)} problem(s) in the desired enrollments")
        self.problems = problems


# ---- desired state -------------------------------------------------------------------------------
def _pick(row: dict[str, str], name: str) -> str:
    for alias in _ALIASES[name]:
        if row.get(alias):
            return row[alias].strip()
    return ""


def desired_from_rows(rows: Iterable[tuple[int | None, dict[str, Any]]], source: str) -> list[Desired]:
    """Desired enrollments from rows with sis_course_id / sis_section_id, sis_user_id, role, status
    (Canvas SIS names course_id, section_id, user_id are accepted too).

    Raises:
        DesiredInputError: a row without a course or section, user, known role or status, or a duplicate.
    """
    out: list[Desired] = []
    problems: list[str] = []
    seen: dict[tuple[str, str, str, str], int | None] = {}
    for line, raw in rows:
        row = {str(k).strip().lower(): ("" if v is None else str(v)) for k, v in raw.items()}
        where = f"{source}:{line}" if line else source
        course, section, user = (
            _pick(row, "sis_course_id"),
            _pick(row, "sis_section_id"),
            _pick(row, "sis_user_id"),
        )
        role, status = _pick(row, "role").lower(), _pick(row, "status").lower() or "active"
        # "student" or the Canvas type name ("StudentEnrollment")
        etype = {t.lower(): t for t in TYPE_ROLES}.get(role, ROLE_TYPES.get(role, ""))
        bad = []
        if not course and not section:
            bad.append("needs sis_course_id or sis_section_id")
        if not user:
            bad.append("missing sis_user_id")
        if not etype:
            bad.append(f"role {role!r} is not one of {', '.join(ROLE_TYPES)}")
        if status not in DESIRED_STATES:
            bad.append(f"status {status!r} is not one of {', '.join(DESIRED_STATES)}")
        if bad:
            problems.extend(f"{where}: {b}" for b in bad)
            continue
        item = Desired(user, etype, DESIRED_STATES[status], course or None, section or None, line)
        if item.key in seen:
            problems.append(
                f"{where}: duplicate of line {seen[item.key]} (same course, section, user and role)"
            )
            continue
        seen[item.key] = line
        out.append(item)
    if problems:
        raise DesiredInputError(problems)
    return out


def desired_from_csv(path: Path) -> list[Desired]:
    """Desired enrollments from a CSV file (header row first)."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise DesiredInputError([f"{path}: is not UTF-8"]) from None
    reader = csv.DictReader(text.splitlines())
    header = {h.strip().lower() for h in reader.fieldnames or []}
    needed = [name for name in ("sis_user_id", "role") if not header & set(_ALIASES[name])]
    if not header & {"sis_course_id", "course_id", "sis_section_id", "section_id"}:
        needed.append("sis_course_id or sis_section_id")
    if needed:
        raise DesiredInputError([f"{path}:1: missing column(s) {', '.join(needed)}"])
    return desired_from_rows(((i + 2, row) for i, row in enumerate(reader)), path.name)


# ---- actual state --------------------------------------------------------------------------------
def actual_from_rows(rows: Iterable[dict[str, Any]]) -> list[Actual]:
    """Actual enrollments from API objects or warehouse rows (same field names)."""
    out = []
    for r in rows:
        out.append(
            Actual(
                id=int(r["id"]),
                course_id=int(r["course_id"]),
                course_section_id=int(r["course_section_id"])
                if r.get("course_section_id") is not None
                else None,
                user_id=int(r["user_id"]) if r.get("user_id") is not None else None,
                sis_course_id=r.get("sis_course_id"),
                sis_section_id=r.get("sis_section_id"),
                sis_user_id=r.get("sis_user_id"),
                type=r["type"],
                state=r.get("enrollment_state") or r.get("state") or "",
            )
        )
    return out


@dataclass
class Scope:
    """The courses and sections a desired set touches, and those Canvas does not know."""

    courses: set[str] = field(default_factory=set)
    sections: set[str] = field(default_factory=set)
    missing_courses: set[str] = field(default_factory=set)
    missing_sections: set[str] = field(default_factory=set)


def scope_of(desired: Sequence[Desired]) -> Scope:
    scope = Scope()
    for d in desired:
        if d.sis_course_id:
            scope.courses.add(d.sis_course_id)
        elif d.sis_section_id:
            scope.sections.add(d.sis_section_id)
    return scope


def fetch_actual(api: CanvasApi, scope: Scope, workers: int = 4) -> list[Actual]:
    """Every enrollment (all states) of the scoped courses and sections, fetched in parallel
    through the shared governor. Unknown courses/sections are recorded in `scope.missing_*`."""
    params = {"state[]": ENROLLMENT_STATES}
    jobs = [("course", c, f"courses/sis_course_id:{c}/enrollments") for c in sorted(scope.courses)]
    jobs += [("section", s, f"sections/sis_section_id:{s}/enrollments") for s in sorted(scope.sections)]

    def fetch(job: tuple[str, str, str]) -> tuple[str, str, list[dict[str, Any]] | None]:
        kind, ident, path = job
        try:
            return kind, ident, api.rows(path, params)
        except LmsNotFoundError:
            return kind, ident, None

    rows: dict[int, dict[str, Any]] = {}
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        for kind, ident, found in pool.map(fetch, jobs):
            if found is None:
                (scope.missing_courses if kind == "course" else scope.missing_sections).add(ident)
                continue
            for r in found:
                rows[int(r["id"])] = r
    return actual_from_rows(rows.values())


# ---- the plan ------------------------------------------------------------------------------------
def _matches(d: Desired, a: Actual) -> bool:
    if a.sis_user_id != d.sis_user_id or a.type != d.type:
        return False
    if d.sis_section_id:
        return a.sis_section_id == d.sis_section_id
    return a.sis_course_id == d.sis_course_id


def plan_sync(
    desired: Sequence[Desired],
    actual: Sequence[Actual],
    scope: Scope | None = None,
    conclude_missing: bool = False,
) -> Plan:
    """What to do so Canvas holds the desired enrollments.

    For each desired enrollment the most alive matching one in Canvas decides:
    - wanted active: missing or deleted -> create (Canvas reuses a deleted match); inactive ->
      reactivate; concluded -> reactivate (re-POST, which reuses it); active or invited -> keep;
    - wanted completed: active, invited or inactive -> conclude;
    - wanted inactive: active, invited or concluded -> inactivate;
    - wanted deleted: anything not deleted -> delete.
    With `conclude_missing`, live enrollments in the scoped courses/sections whose user has an SIS
    id and whose role appears in the desired set, but which the desired set does not list, are concluded.
    """
    scope = scope or Scope()
    by_user: dict[str | None, list[Actual]] = defaultdict(list)
    for a in actual:
        by_user[a.sis_user_id].append(a)
    actions: list[Action] = []
    matched: set[int] = set()
    for d in desired:
        if (d.sis_course_id and d.sis_course_id in scope.missing_courses) or (
            not d.sis_course_id and d.sis_section_id in scope.missing_sections
        ):
            what = f"course {d.sis_course_id}" if d.sis_course_id else f"section {d.sis_section_id}"
            actions.append(Action("unresolved", f"{what} not found in Canvas", d))
            continue
        candidates = sorted(
            (a for a in by_user.get(d.sis_user_id, []) if _matches(d, a)),
            key=lambda a: (_STATE_RANK.get(a.state, 9), a.id),
        )
        matched.update(a.id for a in candidates)
        best = candidates[0] if candidates else None
        state = best.state if best else None
        if d.status == "active":
            if best is None or state in ("deleted", "rejected"):
                actions.append(
                    Action("create", "not in Canvas" if best is None else f"{state} in Canvas", d, best)
                )
            elif state == "inactive":
                actions.append(Action("reactivate", "inactive in Canvas", d, best))
            elif state == "completed":
                actions.append(Action("reactivate", "concluded in Canvas", d, best))
            else:
                actions.append(Action("keep", f"{state} in Canvas", d, best))
        elif d.status == "completed":
            if state in ("active", "invited", "creation_pending", "inactive"):
                actions.append(Action("conclude", f"{state} in Canvas", d, best))
            else:
                actions.append(
                    Action("keep", "not in Canvas" if best is None else f"{state} in Canvas", d, best)
                )
        elif d.status == "inactive":
            if state in ("active", "invited", "creation_pending", "completed"):
                actions.append(Action("inactivate", f"{state} in Canvas", d, best))
            else:
                actions.append(
                    Action("keep", "not in Canvas" if best is None else f"{state} in Canvas", d, best)
                )
        else:  # deleted
            live = [a for a in candidates if a.state != "deleted"]
            for a in live:
                actions.append(Action("delete", f"{a.state} in Canvas", d, a))
            if not live:
                actions.append(
                    Action("keep", "not in Canvas" if best is None else "deleted in Canvas", d, best)
                )
    if conclude_missing:
        roles = {d.type for d in desired}
        for a in sorted(actual, key=lambda a: a.id):
            in_scope = a.sis_course_id in scope.courses or a.sis_section_id in scope.sections
            if (
                in_scope
                and a.id not in matched
                and a.sis_user_id
                and a.type in roles
                and a.state in ("active", "invited", "creation_pending", "inactive")
            ):
                actions.append(Action("conclude", "not in the desired enrollments", None, a))
    order = {k: i for i, k in enumerate((*CHANGES, "unresolved", "keep"))}
    actions.sort(key=lambda a: order[a.kind])
    return Plan(actions)


# ---- applying it ---------------------------------------------------------------------------------
def execute(writer: CanvasWriter, action: Action, notify: bool) -> None:
    """Carry out one action, recording the outcome on it (never raises for a Canvas refusal)."""
    d, a = action.desired, action.actual
    try:
        if action.kind == "create" or (
            action.kind == "reactivate" and a is not None and a.state == "completed"
        ):
            assert d is not None
            form = {
                "enrollment[user_id]": f"sis_user_id:{d.sis_user_id}",
                "enrollment[type]": d.type,
                "enrollment[enrollment_state]": "active",
                "enrollment[notify]": "true" if notify else "false",
            }
            if d.sis_section_id:
                path = f"sections/sis_section_id:{d.sis_section_id}/enrollments"
            else:
                path = f"courses/sis_course_id:{d.sis_course_id}/enrollments"
            result = writer.post(path, data=form)
        elif action.kind == "reactivate":
            assert a is not None
            result = writer.put(f"courses/{a.course_id}/enrollments/{a.id}/reactivate")
        elif action.kind in ("conclude", "inactivate", "delete"):
            assert a is not None
            result = writer.delete(f"courses/{a.course_id}/enrollments/{a.id}", params={"task": action.kind})
        else:
            return
        action.status = "ok"
        action.enrollment_id = int(result["id"])
        action.after_state = result.get("enrollment_state")
    except CanvasWriteError as exc:
        action.status, action.error, action.http_status = "failed", exc.canvas_message, exc.status
    except LmsApiError as exc:
        action.status, action.error, action.http_status = "failed", str(exc), exc.status
    except Exception as exc:  # one broken action must not stop the others
        logger.exception("enrollment action failed")
        action.status, action.error = "failed", f"{type(exc).__name__}: {exc}"


def apply_plan(api: CanvasApi, plan: Plan, notify: bool = False, concurrency: int = 4) -> None:
    """Execute every change of the plan, at most `concurrency` at a time; each writes through the
    client's shared throttle governor. Failures are recorded per action, the rest carry on."""
    writer = CanvasWriter(api)
    changes = plan.changes
    with ThreadPoolExecutor(max_workers=max(1, concurrency)) as pool:
        list(pool.map(lambda action: execute(writer, action, notify), changes))
    for action in plan.actions:
        if action.kind == "unresolved":
            action.status, action.error = "failed", action.reason


# ---- the report ------------------------------------------------------------------------------------
@dataclass
class SyncRun:
    """One run of the sync, as loaded into `enrollment_sync_runs`."""

    run_id: str
    mode: str  # dry_run | apply
    desired_source: str
    actual_source: str
    notify: bool
    started_at: datetime
    finished_at: datetime | None = None

    @staticmethod
    def start(mode: str, desired_source: str, actual_source: str, notify: bool) -> SyncRun:
        return SyncRun(uuid.uuid4().hex, mode, desired_source, actual_source, notify, datetime.now(UTC))


def run_row(run: SyncRun, plan: Plan) -> dict[str, Any]:
    counts = plan.counts()
    row = asdict(run)
    for kind in (*CHANGES, "keep", "unresolved"):
        row[f"planned_{kind}"] = counts.get(kind, 0)
    row["succeeded"] = sum(1 for a in plan.actions if a.status == "ok")
    row["failed"] = sum(1 for a in plan.actions if a.status == "failed")
    return row


def action_rows(run: SyncRun, plan: Plan) -> list[dict[str, Any]]:
    rows = []
    for seq, action in enumerate(plan.actions, start=1):
        d, a = action.desired, action.actual
        rows.append(
            {
                "run_id": run.run_id,
                "seq": seq,
                "action": action.kind,
                "reason": action.reason,
                "status": action.status,
                "error": action.error,
                "http_status": action.http_status,
                "sis_course_id": (d.sis_course_id if d else None) or (a.sis_course_id if a else None),
                "sis_section_id": (d.sis_section_id if d else None) or (a.sis_section_id if a else None),
                "sis_user_id": (d.sis_user_id if d else None) or (a.sis_user_id if a else None),
                "type": d.type if d else (a.type if a else None),
                "desired_status": d.status if d else None,
                "source_line": d.source_line if d else None,
                "course_id": a.course_id if a else None,
                "user_id": a.user_id if a else None,
                "state_before": a.state if a else None,
                "state_after": action.after_state,
                "enrollment_id": action.enrollment_id or (a.id if a else None),
            }
        )
    return rows


RUN_COLUMNS: dict[str, dict[str, Any]] = {
    "run_id": {"data_type": "text", "nullable": False},
    **typed("text", "mode", "desired_source", "actual_source"),
    **typed("bool", "notify"),
    **typed("bigint", *(f"planned_{k}" for k in (*CHANGES, "keep", "unresolved")), "succeeded", "failed"),
    **ts("started_at", "finished_at"),
}
ACTION_COLUMNS: dict[str, dict[str, Any]] = {
    "run_id": {"data_type": "text", "nullable": False},
    "seq": {"data_type": "bigint", "nullable": False},
    **typed(
        "text",
        "action",
        "reason",
        "status",
        "error",
        "sis_course_id",
        "sis_section_id",
        "sis_user_id",
        "type",
        "desired_status",
        "state_before",
        "state_after",
    ),
    **typed("bigint", "http_status", "source_line", "course_id", "user_id", "enrollment_id"),
}


@dlt.source(name="canvas_enrollment_sync", max_table_nesting=0)
def enrollment_sync_report(run: SyncRun, plan: Plan) -> list[DltResource]:
    """Two tables: `enrollment_sync_runs` (one row per run) and `enrollment_sync_actions`
    (one row per planned action with its outcome), both merged on their keys."""

    @dlt.resource(
        name="enrollment_sync_runs", primary_key="run_id", write_disposition="merge", columns=RUN_COLUMNS
    )
    def runs() -> Iterator[dict[str, Any]]:
        yield run_row(run, plan)

    @dlt.resource(
        name="enrollment_sync_actions",
        primary_key=("run_id", "seq"),
        write_disposition="merge",
        columns=ACTION_COLUMNS,
    )
    def actions() -> Iterator[list[dict[str, Any]]]:
        yield action_rows(run, plan)

    return [runs, actions]
