"""SIS imports: submit a CSV or zip, read the job's state for the shared poller, and load the
import records into the warehouse (`sis_imports`, merged on id) as a dlt resource."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import dlt
from dlt.sources import DltResource

from sources.canvas.helpers import CanvasApi
from sources.canvas.settings import ts, typed
from sources.lms_http.jobs import JobState

from .write_api import CanvasWriter

SUCCEEDED = ("imported", "imported_with_messages", "restored", "partially_restored")
FAILED = ("failed", "failed_with_messages", "aborted")
RUNNING = ("initializing", "created", "importing", "cleanup_batch", "restoring")

# Import parameters the API takes (docs/canvas-api.md section 4.10): flags and values.
FLAG_PARAMS = (
    "batch_mode",
    "multi_term_batch_mode",
    "skip_deletes",
    "override_sis_stickiness",
    "add_sis_stickiness",
    "clear_sis_stickiness",
    "diffing_remaster_data_set",
    "update_sis_id_if_login_claimed",
)
VALUE_PARAMS = (
    "batch_mode_term_id",
    "diffing_data_set_identifier",
    "diffing_drop_status",
    "diffing_user_remove_status",
    "batch_mode_enrollment_drop_status",
    "change_threshold",
    "diff_row_count_threshold",
)
COUNT_NAMES = (
    "accounts",
    "terms",
    "abstract_courses",
    "courses",
    "sections",
    "xlists",
    "users",
    "enrollments",
    "groups",
    "group_memberships",
    "grade_publishing_results",
    "batch_courses_deleted",
    "batch_sections_deleted",
    "batch_enrollments_deleted",
    "error_count",
    "warning_count",
)


def job_state(record: dict[str, Any]) -> JobState:
    """A SIS import record as the shared poller reads it."""
    status = str(record.get("workflow_state"))
    messages = record.get("processing_errors") or []
    detail = "; ".join(f"{f}: {m}" for f, m in messages[:3]) or None
    return JobState(
        status,
        done=status in SUCCEEDED,
        failed=status in FAILED,
        detail=detail,
        progress=record.get("progress"),
    )


class SisImportClient:
    """The SIS import endpoints of one root account."""

    def __init__(self, api: CanvasApi, account_id: str = "self") -> None:
        self.api = api
        self.writer = CanvasWriter(api)
        self.account_id = account_id

    def submit(self, filename: str, data: bytes, extension: str, options: dict[str, Any]) -> dict[str, Any]:
        """POST the file as multipart `attachment` with `import_type=instructure_csv` and `options`.

        Returns:
            The new import record (workflow_state `created`).
        """
        form: dict[str, str] = {"import_type": "instructure_csv", "extension": extension}
        for name in FLAG_PARAMS:
            if options.get(name):
                form[name] = "true"
        for name in VALUE_PARAMS:
            if options.get(name) not in (None, ""):
                form[name] = str(options[name])
        content_type = "application/zip" if extension == "zip" else "text/csv"
        return self.writer.post(
            f"accounts/{self.account_id}/sis_imports",
            data=form,
            files={"attachment": (filename, data, content_type)},
        )

    def status(self, import_id: int | str) -> dict[str, Any]:
        """GET one import's current record."""
        return self.api.get(f"accounts/{self.account_id}/sis_imports/{import_id}")

    def history(self, created_since: str | None = None) -> Iterator[list[dict[str, Any]]]:
        """Pages of the account's imports, newest first (`{"sis_imports": [...]}` replies)."""
        params = {"created_since": created_since} if created_since else {}
        yield from self.api.pages(
            f"accounts/{self.account_id}/sis_imports", params, data_selector="sis_imports"
        )


def shape_import(record: dict[str, Any]) -> dict[str, Any]:
    """One warehouse row per import: counts as columns, messages and statistics as JSON."""
    data = record.get("data") or {}
    counts = data.get("counts") or {}
    user = record.get("user") or {}
    row = {
        k: v for k, v in record.items() if k not in ("data", "user", "csv_attachments", "errors_attachment")
    }
    row["import_type"] = data.get("import_type")
    row["supplied_batches"] = data.get("supplied_batches") or []
    for name in COUNT_NAMES:
        row[f"counts__{name}"] = counts.get(name)
    row["user_id"] = user.get("id")
    row["processing_warnings"] = record.get("processing_warnings") or []
    row["processing_errors"] = record.get("processing_errors") or []
    row["files"] = [a.get("display_name") or a.get("filename") for a in record.get("csv_attachments") or []]
    return row


COLUMNS: dict[str, dict[str, Any]] = {
    "id": {"data_type": "bigint", "nullable": False},
    **typed(
        "bigint", "progress", "batch_mode_term_id", "diffed_against_import_id", "change_threshold", "user_id"
    ),
    **typed("bigint", *(f"counts__{n}" for n in COUNT_NAMES)),
    **typed("text", "workflow_state", "import_type", "diffing_data_set_identifier", "diffing_drop_status"),
    **typed(
        "bool",
        "batch_mode",
        "multi_term_batch_mode",
        "skip_deletes",
        "override_sis_stickiness",
        "add_sis_stickiness",
        "clear_sis_stickiness",
        "diffing_remaster",
        "diffing_threshold_exceeded",
    ),
    **typed("json", "supplied_batches", "processing_warnings", "processing_errors", "statistics", "files"),
    **ts("created_at", "started_at", "ended_at", "updated_at"),
}


def sis_imports_resource(records: Iterable[dict[str, Any]]) -> DltResource:
    """The `sis_imports` table: import records merged on id, so reruns update their rows."""

    @dlt.resource(name="sis_imports", primary_key="id", write_disposition="merge", columns=COLUMNS)
    def sis_imports() -> Iterator[list[dict[str, Any]]]:
        yield [shape_import(r) for r in records]

    return sis_imports


@dlt.source(name="canvas_sis_imports", max_table_nesting=0)
def canvas_sis_imports(
    records: list[dict[str, Any]] | None = None,
    api: CanvasApi | None = None,
    account_id: str = "self",
    history: bool = False,
) -> DltResource:
    """The SIS import history of an account as one table, `sis_imports`.

    Args:
        records: import records already in hand (the one a tool just watched).
        api: a client, needed when `history` is true.
        account_id: the root account.
        history: also list every import the account has (GET .../sis_imports).
    """
    rows = list(records or [])
    if history:
        if api is None:
            raise ValueError("history=True needs an api client")
        seen = {r["id"] for r in rows}
        for page in SisImportClient(api, account_id).history():
            rows.extend(r for r in page if r["id"] not in seen)
    return sis_imports_resource(rows)
