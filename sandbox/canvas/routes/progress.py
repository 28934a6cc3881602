"""Progress and file routes: the state of a background job, cancelling one, and the bytes of a
stored file (docs/canvas-api.md 4.11; file URLs live outside /api/v1, as Canvas's do)."""

from __future__ import annotations

from ..http import NOT_FOUND, ApiError, Ctx, Reply, request_params
from . import Room


class ProgressRoutes(Room):
    ROUTES = (
        ("GET", "/progress/<progress_id>", "progress_show"),
        ("POST", "/progress/<progress_id>/cancel", "progress_cancel"),
    )
    SITE_ROUTES = (("GET", "/files/<file_id>/download", "files_download"),)

    def progress_show(self, ctx: Ctx, progress_id: str) -> Reply:
        """GET /progress/:id."""
        p = self.jobs.progress.get(int(progress_id)) if progress_id.isdigit() else None
        if p is None:
            raise ApiError(404, NOT_FOUND)
        return Reply(self.jobs.progress_json(ctx, p))

    def progress_cancel(self, ctx: Ctx, progress_id: str) -> Reply:
        """POST /progress/:id/cancel (optional `message`): a pending job becomes failed."""
        p = self.jobs.progress.get(int(progress_id)) if progress_id.isdigit() else None
        if p is None:
            raise ApiError(404, NOT_FOUND)
        if p["workflow_state"] in ("queued", "running"):
            p["workflow_state"] = "failed"
            p["message"] = request_params(ctx.request).get("message") or "Canceled"
            p["updated_at"] = self.inst.clock
        return Reply(self.jobs.progress_json(ctx, p))

    def files_download(self, ctx: Ctx, file_id: str) -> Reply:
        """GET /files/:id/download: the bytes of a stored file."""
        stored = self.jobs.files.get(int(file_id)) if file_id.isdigit() else None
        if stored is None:
            raise ApiError(404, NOT_FOUND)
        return Reply(
            stored.data,
            items=1,
            content_type=stored.content_type,
            headers=[("content-disposition", f'attachment; filename="{stored.filename}"')],
        )
