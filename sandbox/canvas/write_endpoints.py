"""The write path of the sandbox API: SIS imports, enrollment writes, account reports, Progress and
file downloads, with the job state they share (clock, ids, stored files)."""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING, Any

from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request

from .account_reports import (
    REPORT_STEPS,
    REPORTS,
    TITLES,
    AccountReport,
    ReportContext,
    generate,
    report_json,
)
from .app import API_PREFIX, NOT_FOUND, ApiError, Ctx, Reply
from .enrollment_writes import (
    EnrollmentWriteError,
    change_state,
    create_from_params,
    enroll_user,
    find_user,
    reactivate,
)
from .jobs import IdAllocator, JobClock, StoredFile
from .model import ROLE_IDS, Course, Enrollment, Section
from .pagination import paginate_numbered
from .payloads import HTML_HOST, enrollment_json
from .sis_import import IMPORT_STEPS, SisImport, SisProcessor, sis_import_json, truthy
from .timestamps import iso

if TYPE_CHECKING:
    from .app import CanvasApp

# (method, path under /api/v1, handler). Paths are matched per method, so a path can have a GET
# handler in app.ROUTES and a POST one here.
WRITE_ROUTES: tuple[tuple[str, str, str], ...] = (
    ("POST", "/accounts/<account_id>/sis_imports", "sis_imports_create"),
    ("GET", "/accounts/<account_id>/sis_imports", "sis_imports_index"),
    ("GET", "/accounts/<account_id>/sis_imports/importing", "sis_imports_importing"),
    ("GET", "/accounts/<account_id>/sis_imports/<import_id>", "sis_imports_show"),
    ("POST", "/courses/<course_id>/enrollments", "enrollments_create_in_course"),
    ("POST", "/sections/<section_id>/enrollments", "enrollments_create_in_section"),
    ("DELETE", "/courses/<course_id>/enrollments/<enrollment_id>", "enrollments_destroy"),
    ("PUT", "/courses/<course_id>/enrollments/<enrollment_id>/reactivate", "enrollments_reactivate"),
    ("POST", "/accounts/<account_id>/bulk_enrollment", "bulk_enrollment_create"),
    ("GET", "/accounts/<account_id>/reports", "reports_available"),
    ("POST", "/accounts/<account_id>/reports/<report>", "reports_create"),
    ("GET", "/accounts/<account_id>/reports/<report>", "reports_index"),
    ("GET", "/accounts/<account_id>/reports/<report>/<report_id>", "reports_show"),
    ("DELETE", "/accounts/<account_id>/reports/<report>/<report_id>", "reports_delete"),
    ("GET", "/progress/<progress_id>", "progress_show"),
    ("POST", "/progress/<progress_id>/cancel", "progress_cancel"),
)
# Outside /api/v1, like Canvas's file download URLs.
SITE_ROUTES: tuple[tuple[str, str, str], ...] = (("GET", "/files/<file_id>/download", "files_download"),)
_ROUTE_MAP: Map | None = None  # built on first use, shared by every sandbox in the process

SIS_NOT_ROOT = "SIS imports can only be executed on root accounts"
BATCH_TERM_MISSING = "Batch mode specified, but the given batch_mode_term_id cannot be found."
BULK_LIMIT = 500
PROGRESS_STEPS = 2  # queued, running (50%), then completed


def request_params(request: Request) -> MultiDict[str, str]:
    """Query, form and JSON body parameters together (Canvas reads all three); JSON objects are
    flattened to `a[b]` keys and lists to `a[]`."""
    out: MultiDict[str, str] = MultiDict()
    for key, value in request.args.items(multi=True):
        out.add(key, value)
    mimetype = request.mimetype or ""
    if mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        for key, value in request.form.items(multi=True):
            out.add(key, value)
    elif mimetype == "application/json":
        try:
            body = json.loads(request.get_data(cache=True) or b"{}")
        except ValueError:
            raise ApiError(400, {"errors": [{"message": "Invalid JSON body"}]}) from None
        _flatten(body, "", out)
    return out


def _flatten(value: Any, prefix: str, out: MultiDict[str, str]) -> None:
    if isinstance(value, dict):
        for k, v in value.items():
            _flatten(v, f"{prefix}[{k}]" if prefix else str(k), out)
    elif isinstance(value, list):
        for v in value:
            _flatten(v, f"{prefix}[]", out)
    elif value is not None:
        out.add(prefix, ("true" if value else "false") if isinstance(value, bool) else str(value))


class WriteEndpoints:
    """Handlers for WRITE_ROUTES and the jobs behind them, over one CanvasApp's institution.

    Jobs move one stage per `clock.step_seconds` of `clock` time and take effect when their last
    stage is reached (checked before every request and by the sandbox's truth methods).
    """

    def __init__(self, app: CanvasApp) -> None:
        self.app = app
        self.inst = app.inst
        self.clock = JobClock()
        self.ids = IdAllocator(app.inst)
        self.sis_imports: dict[int, SisImport] = {}
        self.reports: dict[int, AccountReport] = {}
        self.progress: dict[int, dict[str, Any]] = {}
        self.files: dict[int, StoredFile] = {}
        self.notifications: list[tuple[int, int]] = []  # (enrollment id, user id) notified on create
        self.user_status: dict[int, str] = {}  # user id -> "suspended" | "deleted" after SIS imports
        self.sis_touched: set[tuple[str, int]] = set()  # (kind, id) written by a sandbox SIS import
        self.api_enrollments: set[int] = set()  # enrollment ids made by the enrollments API
        self._seq = {"sis_import": 0, "report": 0, "progress": 0, "file": 0}

    # ---- routing -------------------------------------------------------------------------------
    @staticmethod
    def match(environ: dict[str, Any]) -> tuple[str, dict[str, str]] | None:
        """The write-path handler and its arguments for a request, or None when no route fits.

        The app consults this only when its read routes do not match. The map is built once per
        process, on first use: werkzeug compiles every rule, which would slow each sandbox start.
        """
        global _ROUTE_MAP
        if _ROUTE_MAP is None:
            _ROUTE_MAP = Map(
                [
                    Rule(API_PREFIX + path, endpoint=name, methods=[method])
                    for method, path, name in WRITE_ROUTES
                ]
                + [Rule(path, endpoint=name, methods=[method]) for method, path, name in SITE_ROUTES]
            )
        try:
            endpoint, args = _ROUTE_MAP.bind_to_environ(environ).match()
        except HTTPException:
            return None
        return str(endpoint), args

    @staticmethod
    def route_names(api_prefix: str) -> dict[str, str]:
        """Stats names per handler: `:id` style, prefixed by the method when it is not GET."""
        names = {}
        for routes, prefix in ((WRITE_ROUTES, api_prefix), (SITE_ROUTES, "")):
            for method, path, name in routes:
                template = prefix + path.replace("<", ":").replace(">", "")
                names[name] = template if method == "GET" else f"{method} {template}"
        return names

    def _next(self, kind: str) -> int:
        self._seq[kind] += 1
        return self._seq[kind]

    # ---- job progression -----------------------------------------------------------------------
    def settle(self) -> None:
        """Finish every job whose time has come, oldest first (call with the institution lock held)."""
        for job in sorted(self.sis_imports.values(), key=lambda j: j.id):
            if job.result is None and self.clock.stage(job.started) >= IMPORT_STEPS:
                self._run_import(job)
        for report in sorted(self.reports.values(), key=lambda r: r.id):
            if not report.finished and self.clock.stage(report.started) >= REPORT_STEPS:
                self._run_report(report)
        for progress in sorted(self.progress.values(), key=lambda p: p["id"]):
            if (
                progress["workflow_state"] in ("queued", "running")
                and self.clock.stage(progress["_started"]) >= PROGRESS_STEPS
            ):
                progress["_run"]()

    def created_by_sis(self, kind: str, obj: Any) -> bool:
        """Whether an object counts as SIS-created: written by a sandbox SIS import, or generated with
        SIS ids (the generator's SIS-keyed data stands in for earlier imports)."""
        if (kind, obj.id) in self.sis_touched:
            return True
        if kind == "enrollment":
            if obj.id in self.api_enrollments:
                return False
            course = self.inst.courses_by_id.get(obj.course_id)
            return bool(course and course.sis_course_id and obj.user.sis_user_id)
        sis_attr = {
            "user": "sis_user_id",
            "account": "sis_account_id",
            "term": "sis_term_id",
            "course": "sis_course_id",
            "section": "sis_section_id",
        }[kind]
        return getattr(obj, sis_attr) is not None

    # ---- files ---------------------------------------------------------------------------------
    def store_file(self, filename: str, content_type: str, data: bytes) -> StoredFile:
        stored = StoredFile(self._next("file"), filename, content_type, data, self.inst.clock)
        self.files[stored.id] = stored
        return stored

    def file_json(self, ctx: Ctx, stored: StoredFile) -> dict[str, Any]:
        """A File object; its url is this sandbox's download route (with a verifier, as Canvas's)."""
        verifier = hashlib.sha1(f"file:{stored.id}:{self.inst.seed}".encode()).hexdigest()[:20]
        return {
            "id": stored.id,
            "uuid": verifier,
            "display_name": stored.filename,
            "filename": stored.filename,
            "content-type": stored.content_type,
            "size": len(stored.data),
            "url": f"{ctx.request.host_url.rstrip('/')}/files/{stored.id}/download?download_frd=1&verifier={verifier}",
            "created_at": iso(stored.created_at),
            "updated_at": iso(stored.created_at),
            "locked": False,
            "hidden": False,
        }

    def files_download(self, ctx: Ctx, file_id: str) -> Reply:
        """GET /files/:id/download: the bytes of a stored file."""
        stored = self.files.get(int(file_id)) if file_id.isdigit() else None
        if stored is None:
            raise ApiError(404, NOT_FOUND)
        return Reply(
            stored.data,
            items=1,
            content_type=stored.content_type,
            headers=[("content-disposition", f'attachment; filename="{stored.filename}"')],
        )

    # ---- SIS imports ---------------------------------------------------------------------------
    def sis_imports_create(self, ctx: Ctx, account_id: str) -> Reply:
        """POST /accounts/:id/sis_imports: multipart `attachment`, or the raw body plus `extension`."""
        account = self.app._account(ctx, account_id)
        if account.id != self.inst.root.id:
            raise ApiError(400, {"message": SIS_NOT_ROOT})
        request = ctx.request
        charset = request.mimetype_params.get("charset")
        if charset and charset.lower() not in ("utf-8", "utf8"):
            raise ApiError(400, {"error": "Invalid content type, UTF-8 required"})
        params = request_params(request)
        if request.mimetype == "multipart/form-data":
            upload = request.files.get("attachment")
            if upload is None:
                raise ApiError(400, {"message": "No file given"})
            filename, data = upload.filename or "attachment", upload.read()
        else:
            data = request.get_data(cache=True)
            if not data:
                raise ApiError(400, {"message": "No file given"})
            ext = params.get("extension") or (
                "zip" if request.mimetype in ("application/zip", "application/x-zip-compressed") else "csv"
            )
            filename = f"sis_upload.{ext}"
        flat = {k: params.get(k, "") for k in params.keys()}
        batch_term = None
        if truthy(flat.get("batch_mode")):
            raw = flat.get("batch_mode_term_id", "")
            if raw.startswith("sis_term_id:"):
                term = next((t for t in self.inst.terms if t.sis_term_id == raw.split(":", 1)[1]), None)
            else:
                term = self.inst.terms_by_id.get(int(raw)) if raw.isdigit() else None
            if term is None and not truthy(flat.get("multi_term_batch_mode")):
                raise ApiError(400, {"message": BATCH_TERM_MISSING})
            batch_term = term.id if term else None
        if truthy(flat.get("multi_term_batch_mode")) and not flat.get("change_threshold"):
            raise ApiError(400, {"message": "change_threshold is required to use multi term_batch mode."})
        stored = self.store_file(
            filename, "application/zip" if filename.endswith(".zip") else "text/csv", data
        )
        job = SisImport(
            id=self._next("sis_import"),
            started=self.clock.now(),
            created_at=self.inst.clock,
            params=flat,
            uploads=[(filename, data)],
            attachment_ids=[stored.id],
            user=self.inst.users_by_id[ctx.token.user_id],
            batch_term_id=batch_term,
        )
        self.sis_imports[job.id] = job
        return Reply(self._import_json(ctx, job, stage=0))

    def _run_import(self, job: SisImport) -> None:
        ident = job.params.get("diffing_data_set_identifier")
        previous = None
        if ident:
            previous = max(
                (
                    j
                    for j in self.sis_imports.values()
                    if j.id < job.id
                    and j.params.get("diffing_data_set_identifier") == ident
                    and j.result is not None
                    and j.result.workflow_state in ("imported", "imported_with_messages")
                ),
                key=lambda j: j.id,
                default=None,
            )
        job.result = SisProcessor(
            self.inst, self.ids, job, previous, self.user_status, self.sis_touched
        ).run()
        job.ended_at = self.inst.clock

    def _import_json(self, ctx: Ctx, job: SisImport, stage: int | None = None) -> dict[str, Any]:
        stage = self.clock.stage(job.started) if stage is None else stage
        attachments = [self.file_json(ctx, self.files[i]) for i in job.attachment_ids]
        return sis_import_json(job, stage, attachments)

    def sis_imports_show(self, ctx: Ctx, account_id: str, import_id: str) -> Reply:
        """GET /accounts/:id/sis_imports/:id."""
        self.app._account(ctx, account_id)
        job = self.sis_imports.get(int(import_id)) if import_id.isdigit() else None
        if job is None:
            raise ApiError(404, NOT_FOUND)
        return Reply(self._import_json(ctx, job))

    def sis_imports_index(self, ctx: Ctx, account_id: str) -> Reply:
        """GET /accounts/:id/sis_imports, newest first, wrapped in {"sis_imports": [...]}; no rel=last.

        Filters: `created_since`, `created_before` (ISO 8601), `workflow_state[]`.
        """
        self.app._account(ctx, account_id)
        rows = [self._import_json(ctx, j) for j in sorted(self.sis_imports.values(), key=lambda j: -j.id)]
        rows = self._filter_imports(ctx, rows)
        page, link = paginate_numbered(rows, ctx.args, ctx.link_base, total_known=False)
        return Reply({"sis_imports": page}, len(page), link)

    def sis_imports_importing(self, ctx: Ctx, account_id: str) -> Reply:
        """GET /accounts/:id/sis_imports/importing: imports still running."""
        self.app._account(ctx, account_id)
        rows = [
            self._import_json(ctx, j)
            for j in sorted(self.sis_imports.values(), key=lambda j: -j.id)
            if j.result is None
        ]
        return Reply({"sis_imports": rows}, len(rows))

    @staticmethod
    def _filter_imports(ctx: Ctx, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        states = set(ctx.values("workflow_state"))
        if states and "all" not in states:
            rows = [r for r in rows if r["workflow_state"] in states]
        since, before = ctx.args.get("created_since"), ctx.args.get("created_before")
        if since:
            rows = [r for r in rows if r["created_at"] >= since]
        if before:
            rows = [r for r in rows if r["created_at"] < before]
        return rows

    # ---- enrollments ---------------------------------------------------------------------------
    def _write_enrollment(self, ctx: Ctx, course: Course, section: Section | None) -> Reply:
        params = request_params(ctx.request)
        try:
            result = create_from_params(self.inst, self.ids, course, section, params, self.inst.clock)
        except EnrollmentWriteError as err:
            raise ApiError(err.status, err.payload) from None
        if result.created:
            self.api_enrollments.add(result.enrollment.id)
        if result.notified:
            self.notifications.append((result.enrollment.id, result.enrollment.user.id))
        return self._enrollment_reply(course, result.enrollment)

    def _enrollment_reply(self, course: Course, enrollment: Enrollment) -> Reply:
        grades = self.inst.grades(course) if enrollment.type == "StudentEnrollment" else {}
        return Reply(enrollment_json(enrollment, course, self.inst, grades.get(enrollment.id)))

    def enrollments_create_in_course(self, ctx: Ctx, course_id: str) -> Reply:
        """POST /courses/:id/enrollments (default state invited; a matching enrollment is reused)."""
        return self._write_enrollment(ctx, self.app._course(ctx, course_id), None)

    def enrollments_create_in_section(self, ctx: Ctx, section_id: str) -> Reply:
        """POST /sections/:id/enrollments (enrollment[course_section_id] is ignored)."""
        course, section = self.app._section(ctx, section_id)
        return self._write_enrollment(ctx, course, section)

    def _course_enrollment(self, ctx: Ctx, course_id: str, enrollment_id: str) -> tuple[Course, Enrollment]:
        course = self.app._course(ctx, course_id)
        wanted = int(enrollment_id) if enrollment_id.isdigit() else -1
        enrollment = next((e for e in course.enrollments if e.id == wanted), None)
        if enrollment is None:
            raise ApiError(404, NOT_FOUND)
        return course, enrollment

    def enrollments_destroy(self, ctx: Ctx, course_id: str, enrollment_id: str) -> Reply:
        """DELETE /courses/:id/enrollments/:id?task=conclude|delete|inactivate|deactivate (default conclude)."""
        course, enrollment = self._course_enrollment(ctx, course_id, enrollment_id)
        task = request_params(ctx.request).get("task") or "conclude"
        if task not in ("conclude", "delete", "inactivate", "deactivate"):
            task = "conclude"
        change_state(course, enrollment, task, self.inst.clock)
        return self._enrollment_reply(course, enrollment)

    def enrollments_reactivate(self, ctx: Ctx, course_id: str, enrollment_id: str) -> Reply:
        """PUT /courses/:id/enrollments/:id/reactivate (400 unless the enrollment is inactive)."""
        course, enrollment = self._course_enrollment(ctx, course_id, enrollment_id)
        try:
            reactivate(course, enrollment, self.inst.clock)
        except EnrollmentWriteError as err:
            raise ApiError(err.status, err.payload) from None
        return self._enrollment_reply(course, enrollment)

    def bulk_enrollment_create(self, ctx: Ctx, account_id: str) -> Reply:
        """POST /accounts/:id/bulk_enrollment: enroll user_ids[] in course_ids[]; returns a Progress."""
        account = self.app._account(ctx, account_id)
        params = request_params(ctx.request)
        user_ids = params.getlist("user_ids[]") + params.getlist("user_ids")
        course_ids = params.getlist("course_ids[]") + params.getlist("course_ids")
        if not user_ids or not course_ids:
            raise ApiError(400, {"error": "user_ids and course_ids are required"})
        if len(user_ids) * len(course_ids) > BULK_LIMIT:
            raise ApiError(400, {"error": "Too many users to enroll at once."})
        etype = params.get("enrollment_type") or "StudentEnrollment"
        role_id = params.get("enrollment_role_id")
        if role_id:
            etype = {v: k for k, v in ROLE_IDS.items()}.get(int(role_id) if role_id.isdigit() else -1, "")
        if etype not in ROLE_IDS:
            raise ApiError(400, {"error": "Invalid enrollment type"})
        inst = self.inst

        def run() -> dict[str, Any]:
            done, failed = [], []
            for cid in course_ids:
                course = inst.courses_by_id.get(int(cid)) if cid.isdigit() else None
                for uid in user_ids:
                    user = find_user(inst, uid)
                    if course is None or user is None or course.workflow_state == "completed":
                        failed.append({"course_id": cid, "user_id": uid})
                        continue
                    e, created = enroll_user(inst, self.ids, course, None, user, etype, "active", inst.clock)
                    if created:
                        self.api_enrollments.add(e.id)
                    done.append(e.id)
            return {"enrollment_ids": done, "failed": failed}

        progress = self._new_progress("bulk_enrollment", "Account", account.id, ctx.token.user_id, run)
        return Reply(self._progress_json(ctx, progress))

    # ---- Progress ------------------------------------------------------------------------------
    def _new_progress(
        self, tag: str, context_type: str, context_id: int, user_id: int, work: Any
    ) -> dict[str, Any]:
        pid = self._next("progress")
        progress: dict[str, Any] = {
            "id": pid,
            "context_id": context_id,
            "context_type": context_type,
            "user_id": user_id,
            "tag": tag,
            "workflow_state": "queued",
            "created_at": self.inst.clock,
            "updated_at": self.inst.clock,
            "message": None,
            "results": None,
            "_started": self.clock.now(),
        }

        def run() -> None:
            progress["results"] = work()
            progress["workflow_state"] = "completed"
            progress["updated_at"] = self.inst.clock

        progress["_run"] = run
        self.progress[pid] = progress
        return progress

    def _progress_json(self, ctx: Ctx, p: dict[str, Any]) -> dict[str, Any]:
        state = p["workflow_state"]
        if state == "queued" and self.clock.stage(p["_started"]) >= 1:
            state = "running"
        completion = {"queued": 0, "running": 50}.get(state, 100)
        out = {
            "id": p["id"],
            "context_id": p["context_id"],
            "context_type": p["context_type"],
            "user_id": p["user_id"],
            "tag": p["tag"],
            "completion": completion,
            "workflow_state": state,
            "created_at": iso(p["created_at"]),
            "updated_at": iso(p["updated_at"]),
            "message": p["message"],
            "url": f"{ctx.request.host_url.rstrip('/')}/api/v1/progress/{p['id']}",
        }
        if state in ("completed", "failed"):
            out["results"] = p["results"]
        return out

    def progress_show(self, ctx: Ctx, progress_id: str) -> Reply:
        """GET /progress/:id."""
        p = self.progress.get(int(progress_id)) if progress_id.isdigit() else None
        if p is None:
            raise ApiError(404, NOT_FOUND)
        return Reply(self._progress_json(ctx, p))

    def progress_cancel(self, ctx: Ctx, progress_id: str) -> Reply:
        """POST /progress/:id/cancel (optional `message`): a pending job becomes failed."""
        p = self.progress.get(int(progress_id)) if progress_id.isdigit() else None
        if p is None:
            raise ApiError(404, NOT_FOUND)
        if p["workflow_state"] in ("queued", "running"):
            p["workflow_state"] = "failed"
            p["message"] = request_params(ctx.request).get("message") or "Canceled"
            p["updated_at"] = self.inst.clock
        return Reply(self._progress_json(ctx, p))

    # ---- account reports -----------------------------------------------------------------------
    def _report_context(self) -> ReportContext:
        return ReportContext(self.inst, self.user_status, self.created_by_sis)

    def reports_available(self, ctx: Ctx, account_id: str) -> Reply:
        """GET /accounts/:id/reports: the reports this sandbox can run, with their parameters."""
        self.app._account(ctx, account_id)
        out = []
        for name, parameters in REPORTS.items():
            last = max(
                (r for r in self.reports.values() if r.report == name), key=lambda r: r.id, default=None
            )
            out.append(
                {
                    "report": name,
                    "title": TITLES[name],
                    "parameters": {k: {"required": False, "description": v} for k, v in parameters.items()},
                    "last_run": self._report_json(ctx, last) if last else None,
                }
            )
        return Reply(out, len(out))

    def reports_create(self, ctx: Ctx, account_id: str, report: str) -> Reply:
        """POST /accounts/:id/reports/:report with `parameters[...]`; unknown report names are 404."""
        account = self.app._account(ctx, account_id)
        if report not in REPORTS:
            raise ApiError(404, NOT_FOUND)
        params = request_params(ctx.request)
        parameters = {
            k[len("parameters[") : -1]: v
            for k, v in params.items()
            if k.startswith("parameters[") and k.endswith("]")
        }
        run = AccountReport(
            self._next("report"), report, account, self.clock.now(), self.inst.clock, parameters
        )
        self.reports[run.id] = run
        return Reply(self._report_json(ctx, run, stage=0))

    def _run_report(self, report: AccountReport) -> None:
        produced = generate(self._report_context(), report)
        if produced is not None:
            filename, content_type, data, rows = produced
            report.file_id = self.store_file(filename, content_type, data).id
            report.rows = rows
        report.finished = True
        report.ended_at = self.inst.clock

    def _report_json(self, ctx: Ctx, report: AccountReport, stage: int | None = None) -> dict[str, Any]:
        stage = self.clock.stage(report.started) if stage is None else stage
        file = self.file_json(ctx, self.files[report.file_id]) if report.file_id else None
        file_url = (
            f"{HTML_HOST}/accounts/{report.account.id}/files/{report.file_id}/download"
            if report.file_id
            else None
        )
        return report_json(report, stage, file, file_url)

    def _report(self, ctx: Ctx, account_id: str, report: str, report_id: str) -> AccountReport:
        self.app._account(ctx, account_id)
        found = self.reports.get(int(report_id)) if report_id.isdigit() else None
        if found is None or found.report != report:
            raise ApiError(404, NOT_FOUND)
        return found

    def reports_show(self, ctx: Ctx, account_id: str, report: str, report_id: str) -> Reply:
        """GET /accounts/:id/reports/:report/:id: status, progress and (once complete) the attachment."""
        return Reply(self._report_json(ctx, self._report(ctx, account_id, report, report_id)))

    def reports_index(self, ctx: Ctx, account_id: str, report: str) -> Reply:
        """GET /accounts/:id/reports/:report: runs of one report, newest first."""
        self.app._account(ctx, account_id)
        if report not in REPORTS:
            raise ApiError(404, NOT_FOUND)
        runs = sorted((r for r in self.reports.values() if r.report == report), key=lambda r: -r.id)
        page, link = paginate_numbered(runs, ctx.args, ctx.link_base)
        return Reply([self._report_json(ctx, r) for r in page], len(page), link)

    def reports_delete(self, ctx: Ctx, account_id: str, report: str, report_id: str) -> Reply:
        """DELETE /accounts/:id/reports/:report/:id: the report (status `deleted`) is gone afterwards."""
        found = self._report(ctx, account_id, report, report_id)
        out = self._report_json(ctx, found)
        out["status"] = "deleted"
        del self.reports[found.id]
        return Reply(out)
