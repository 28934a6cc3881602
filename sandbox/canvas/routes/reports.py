"""Account report routes: the reports on offer, start one, show, list and delete runs
(docs/canvas-api.md 4.9)."""

from __future__ import annotations

from ..account_reports import REPORTS, TITLES, AccountReport
from ..http import NOT_FOUND, ApiError, Ctx, Reply, request_params
from ..pagination import paginate_numbered
from . import Room


class ReportRoutes(Room):
    ROUTES = (
        ("GET", "/accounts/<account_id>/reports", "reports_available"),
        ("POST", "/accounts/<account_id>/reports/<report>", "reports_create"),
        ("GET", "/accounts/<account_id>/reports/<report>", "reports_index"),
        ("GET", "/accounts/<account_id>/reports/<report>/<report_id>", "reports_show"),
        ("DELETE", "/accounts/<account_id>/reports/<report>/<report_id>", "reports_delete"),
    )

    def reports_available(self, ctx: Ctx, account_id: str) -> Reply:
        """GET /accounts/:id/reports: the reports this sandbox can run, with their parameters."""
        self.find.account(ctx, account_id)
        out = []
        for name, parameters in REPORTS.items():
            last = max(
                (r for r in self.jobs.reports.values() if r.report == name), key=lambda r: r.id, default=None
            )
            out.append(
                {
                    "report": name,
                    "title": TITLES[name],
                    "parameters": {k: {"required": False, "description": v} for k, v in parameters.items()},
                    "last_run": self.jobs.report_json(ctx, last) if last else None,
                }
            )
        return Reply(out, len(out))

    def reports_create(self, ctx: Ctx, account_id: str, report: str) -> Reply:
        """POST /accounts/:id/reports/:report with `parameters[...]`; unknown report names are 404."""
        account = self.find.account(ctx, account_id)
        if report not in REPORTS:
            raise ApiError(404, NOT_FOUND)
        params = request_params(ctx.request)
        parameters = {
            k[len("parameters[") : -1]: v
            for k, v in params.items()
            if k.startswith("parameters[") and k.endswith("]")
        }
        run = AccountReport(
            self.jobs.next_id("report"), report, account, self.jobs.clock.now(), self.inst.clock, parameters
        )
        self.jobs.reports[run.id] = run
        return Reply(self.jobs.report_json(ctx, run, stage=0))

    def _report(self, ctx: Ctx, account_id: str, report: str, report_id: str) -> AccountReport:
        self.find.account(ctx, account_id)
        found = self.jobs.reports.get(int(report_id)) if report_id.isdigit() else None
        if found is None or found.report != report:
            raise ApiError(404, NOT_FOUND)
        return found

    def reports_show(self, ctx: Ctx, account_id: str, report: str, report_id: str) -> Reply:
        """GET /accounts/:id/reports/:report/:id: status, progress and (once complete) the attachment."""
        return Reply(self.jobs.report_json(ctx, self._report(ctx, account_id, report, report_id)))

    def reports_index(self, ctx: Ctx, account_id: str, report: str) -> Reply:
        """GET /accounts/:id/reports/:report: runs of one report, newest first."""
        self.find.account(ctx, account_id)
        if report not in REPORTS:
            raise ApiError(404, NOT_FOUND)
        runs = sorted((r for r in self.jobs.reports.values() if r.report == report), key=lambda r: -r.id)
        page, link = paginate_numbered(runs, ctx.args, ctx.link_base)
        return Reply([self.jobs.report_json(ctx, r) for r in page], len(page), link)

    def reports_delete(self, ctx: Ctx, account_id: str, report: str, report_id: str) -> Reply:
        """DELETE /accounts/:id/reports/:report/:id: the report (status `deleted`) is gone afterwards."""
        found = self._report(ctx, account_id, report, report_id)
        out = self.jobs.report_json(ctx, found)
        out["status"] = "deleted"
        del self.jobs.reports[found.id]
        return Reply(out)
