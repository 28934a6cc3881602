"""The job state behind the sandbox's write path: SIS imports, account reports, Progress and stored
files, with the clock and ids they share. The routes that start and show these jobs are in routes/."""

from __future__ import annotations

import hashlib
from typing import Any

from .account_reports import REPORT_STEPS, AccountReport, ReportContext, generate, report_json
from .http import Ctx
from .institution import Institution
from .jobs import IdAllocator, JobClock, StoredFile
from .payloads import HTML_HOST
from .sis_import import IMPORT_STEPS, SisImport, SisProcessor, sis_import_json
from .timestamps import iso

PROGRESS_STEPS = 2  # queued, running (50%), then completed


class WriteJobs:
    """The write path's jobs over one institution.

    Jobs move one stage per `clock.step_seconds` of `clock` time and take effect when their last
    stage is reached (checked before every request and by the sandbox's truth methods).
    """

    def __init__(self, inst: Institution) -> None:
        self.inst = inst
        self.clock = JobClock()
        self.ids = IdAllocator(inst)
        self.sis_imports: dict[int, SisImport] = {}
        self.reports: dict[int, AccountReport] = {}
        self.progress: dict[int, dict[str, Any]] = {}
        self.files: dict[int, StoredFile] = {}
        self.notifications: list[tuple[int, int]] = []  # (enrollment id, user id) notified on create
        self.user_status: dict[int, str] = {}  # user id -> "suspended" | "deleted" after SIS imports
        self.sis_touched: set[tuple[str, int]] = set()  # (kind, id) written by a sandbox SIS import
        self.api_enrollments: set[int] = set()  # enrollment ids made by the enrollments API
        self._seq = {"sis_import": 0, "report": 0, "progress": 0, "file": 0}

    def next_id(self, kind: str) -> int:
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
        stored = StoredFile(self.next_id("file"), filename, content_type, data, self.inst.clock)
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

    def import_json(self, ctx: Ctx, job: SisImport, stage: int | None = None) -> dict[str, Any]:
        stage = self.clock.stage(job.started) if stage is None else stage
        attachments = [self.file_json(ctx, self.files[i]) for i in job.attachment_ids]
        return sis_import_json(job, stage, attachments)

    def new_progress(
        self, tag: str, context_type: str, context_id: int, user_id: int, work: Any
    ) -> dict[str, Any]:
        pid = self.next_id("progress")
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

    def progress_json(self, ctx: Ctx, p: dict[str, Any]) -> dict[str, Any]:
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

    def _report_context(self) -> ReportContext:
        return ReportContext(self.inst, self.user_status, self.created_by_sis)

    def _run_report(self, report: AccountReport) -> None:
        produced = generate(self._report_context(), report)
        if produced is not None:
            filename, content_type, data, rows = produced
            report.file_id = self.store_file(filename, content_type, data).id
            report.rows = rows
        report.finished = True
        report.ended_at = self.inst.clock

    def report_json(self, ctx: Ctx, report: AccountReport, stage: int | None = None) -> dict[str, Any]:
        stage = self.clock.stage(report.started) if stage is None else stage
        file = self.file_json(ctx, self.files[report.file_id]) if report.file_id else None
        file_url = (
            f"{HTML_HOST}/accounts/{report.account.id}/files/{report.file_id}/download"
            if report.file_id
            else None
        )
        return report_json(report, stage, file, file_url)
