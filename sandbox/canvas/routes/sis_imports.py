"""SIS import routes: start an import from an upload, show one, list them (docs/canvas-api.md 4.10)."""

from __future__ import annotations

from typing import Any

from ..http import NOT_FOUND, ApiError, Ctx, Reply, request_params
from ..pagination import paginate_numbered
from ..sis_csv import truthy
from ..sis_import import SisImport
from . import Room

SIS_NOT_ROOT = "SIS imports can only be executed on root accounts"
BATCH_TERM_MISSING = "Batch mode specified, but the given batch_mode_term_id cannot be found."


class SisImportRoutes(Room):
    ROUTES = (
        ("POST", "/accounts/<account_id>/sis_imports", "sis_imports_create"),
        ("GET", "/accounts/<account_id>/sis_imports", "sis_imports_index"),
        ("GET", "/accounts/<account_id>/sis_imports/importing", "sis_imports_importing"),
        ("GET", "/accounts/<account_id>/sis_imports/<import_id>", "sis_imports_show"),
    )

    def sis_imports_create(self, ctx: Ctx, account_id: str) -> Reply:
        """POST /accounts/:id/sis_imports: multipart `attachment`, or the raw body plus `extension`."""
        account = self.find.account(ctx, account_id)
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
        stored = self.jobs.store_file(
            filename, "application/zip" if filename.endswith(".zip") else "text/csv", data
        )
        job = SisImport(
            id=self.jobs.next_id("sis_import"),
            started=self.jobs.clock.now(),
            created_at=self.inst.clock,
            params=flat,
            uploads=[(filename, data)],
            attachment_ids=[stored.id],
            user=self.inst.users_by_id[ctx.token.user_id],
            batch_term_id=batch_term,
        )
        self.jobs.sis_imports[job.id] = job
        return Reply(self.jobs.import_json(ctx, job, stage=0))

    def sis_imports_show(self, ctx: Ctx, account_id: str, import_id: str) -> Reply:
        """GET /accounts/:id/sis_imports/:id."""
        self.find.account(ctx, account_id)
        job = self.jobs.sis_imports.get(int(import_id)) if import_id.isdigit() else None
        if job is None:
            raise ApiError(404, NOT_FOUND)
        return Reply(self.jobs.import_json(ctx, job))

    def sis_imports_index(self, ctx: Ctx, account_id: str) -> Reply:
        """GET /accounts/:id/sis_imports, newest first, wrapped in {"sis_imports": [...]}; no rel=last.

        Filters: `created_since`, `created_before` (ISO 8601), `workflow_state[]`.
        """
        self.find.account(ctx, account_id)
        rows = [
            self.jobs.import_json(ctx, j) for j in sorted(self.jobs.sis_imports.values(), key=lambda j: -j.id)
        ]
        rows = self._filter_imports(ctx, rows)
        page, link = paginate_numbered(rows, ctx.args, ctx.link_base, total_known=False)
        return Reply({"sis_imports": page}, len(page), link)

    def sis_imports_importing(self, ctx: Ctx, account_id: str) -> Reply:
        """GET /accounts/:id/sis_imports/importing: imports still running."""
        self.find.account(ctx, account_id)
        rows = [
            self.jobs.import_json(ctx, j)
            for j in sorted(self.jobs.sis_imports.values(), key=lambda j: -j.id)
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
