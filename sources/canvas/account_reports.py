"""Canvas account reports as a dlt source: request a report, wait with the shared poller, download
its CSV (or zip of CSVs) and load the rows.

One `provisioning_csv` run gives a whole account's users, courses, sections and enrollments
without one request per course; `last_user_access_csv` gives each login's last request time.

This is a separate source (`canvas_account_reports`, config section `[sources.canvas]`) rather
than resources inside `canvas_source`, so the default Canvas run is unchanged and the reports can
be scheduled on their own (they are slow to produce on a large account). Tables keep the report's
own column names (in provisioning files `user_id`, `course_id`, ... are SIS ids and `canvas_*`
are Canvas ids); the SQL staging layer renames them.
"""

from __future__ import annotations

import csv
import io
import logging
import threading
import zipfile
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

import dlt
from dlt.sources import DltResource

from ..lms_http.jobs import AsyncJob, JobPoller, JobState, PollPolicy
from ..lms_http.retry import RetryPolicy
from ..privacy import PrivacyPolicy, privacy_rules, protect_all
from .helpers import CanvasApi
from .sender import CanvasSender
from .settings import PERSONAL_FIELDS, ts, typed

logger = logging.getLogger(__name__)

DONE = ("complete",)
FAILED = ("error", "aborted", "deleted")
PROVISIONING = ("users", "courses", "sections", "enrollments")
Rows = list[dict[str, Any]]

# Which provisioning CSV a header is (Canvas names single files after the report, zips by entity).
_ENTITY_BY_COLUMN = (
    ("canvas_enrollment_id", "enrollments"),
    ("canvas_section_id", "sections"),
    ("canvas_course_id", "courses"),
    ("canvas_user_id", "users"),
    ("canvas_term_id", "terms"),
    ("canvas_account_id", "accounts"),
    ("last access at", "last_user_access"),
)

_BIGINT = {
    "users": ("canvas_user_id", "authentication_provider_id"),
    "courses": ("canvas_course_id", "canvas_account_id", "canvas_term_id"),
    "sections": ("canvas_section_id", "canvas_course_id", "canvas_account_id"),
    "enrollments": (
        "canvas_course_id",
        "canvas_user_id",
        "role_id",
        "canvas_section_id",
        "canvas_associated_user_id",
        "canvas_enrollment_id",
    ),
    "last_user_access": ("user_id",),
}
_BOOL = {
    "users": ("created_by_sis",),
    "courses": ("created_by_sis",),
    "sections": ("created_by_sis",),
    "enrollments": ("created_by_sis", "limit_section_privileges"),
    "last_user_access": (),
}
_TIMES = {
    "users": (),
    "courses": ("start_date", "end_date"),
    "sections": ("start_date", "end_date"),
    "enrollments": (),
    "last_user_access": ("last_access_at",),
}
_TEXT = {
    "users": (
        "user_id",
        "integration_id",
        "login_id",
        "first_name",
        "last_name",
        "full_name",
        "sortable_name",
        "short_name",
        "email",
        "status",
    ),
    "courses": (
        "course_id",
        "integration_id",
        "short_name",
        "long_name",
        "account_id",
        "term_id",
        "status",
        "course_format",
    ),
    "sections": ("section_id", "course_id", "integration_id", "name", "status", "account_id"),
    "enrollments": (
        "course_id",
        "user_id",
        "role",
        "section_id",
        "status",
        "associated_user_id",
        "base_role_type",
    ),
    "last_user_access": ("user_sis_id", "user_name", "last_ip"),
}
KEYS = {
    "users": ("canvas_user_id", "login_id"),
    "courses": ("canvas_course_id",),
    "sections": ("canvas_section_id",),
    "enrollments": ("canvas_enrollment_id",),
    "last_user_access": ("user_id",),
}


def columns_for(entity: str) -> dict[str, dict[str, Any]]:
    """Explicit column hints for one report table (keys not null)."""
    cols = {
        **typed("bigint", *_BIGINT[entity]),
        **typed("bool", *_BOOL[entity]),
        **typed("text", *_TEXT[entity]),
        **ts(*_TIMES[entity]),
    }
    for key in KEYS[entity]:
        cols[key] = {**cols.get(key, {"data_type": "text"}), "nullable": False}
    return cols


def entity_of(header: Sequence[str]) -> str | None:
    """Which report table a CSV header belongs to."""
    names = set(header)
    return next((entity for column, entity in _ENTITY_BY_COLUMN if column in names), None)


def _parse_time(value: str) -> datetime:
    parsed = datetime.fromisoformat(value)
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)


def typed_rows(entity: str, text: str) -> Rows:
    """CSV text to rows: blanks become null, ids ints, flags booleans, times UTC datetimes; the
    last-access report's spaced headers become snake_case (`user id` -> `user_id`)."""
    reader = csv.DictReader(io.StringIO(text, newline=""))
    ints, bools, times = set(_BIGINT.get(entity, ())), set(_BOOL.get(entity, ())), set(_TIMES.get(entity, ()))
    rows: Rows = []
    for raw in reader:
        row: dict[str, Any] = {}
        for name, value in raw.items():
            if name is None:
                continue
            key = name.strip().replace(" ", "_")
            value = (value or "").strip()
            if value == "":
                row[key] = None
            elif key in ints:
                row[key] = int(value)
            elif key in bools:
                row[key] = value.lower() == "true"
            elif key in times:
                row[key] = _parse_time(value)
            else:
                row[key] = value
        rows.append(row)
    return rows


def parse_report_file(data: bytes) -> dict[str, Rows]:
    """A report download (one CSV, or a zip with one CSV per entity) as rows per entity."""
    files: list[str] = []
    if data[:4] == b"PK\x03\x04":
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            files = [
                archive.read(n).decode("utf-8-sig") for n in archive.namelist() if n.lower().endswith(".csv")
            ]
    else:
        files = [data.decode("utf-8-sig")]
    out: dict[str, Rows] = {}
    for text in files:
        header = next(csv.reader(io.StringIO(text)), [])
        entity = entity_of([h.strip() for h in header])
        if entity is None:
            logger.warning("skipping a report file with an unknown header: %s", header[:5])
            continue
        out.setdefault(entity, []).extend(typed_rows(entity, text))
    return out


def report_state(record: dict[str, Any]) -> JobState:
    """A report record as the shared poller reads it."""
    status = str(record.get("status"))
    return JobState(status, done=status in DONE, failed=status in FAILED, progress=record.get("progress"))


class AccountReportRunner:
    """Runs account reports: POST, poll with the shared poller, download the attachment."""

    def __init__(self, api: CanvasApi, account_id: str = "self", poller: JobPoller | None = None) -> None:
        self.api = api
        self.sender = CanvasSender(api)
        self.account_id = account_id
        self.poller = poller or JobPoller(
            PollPolicy(first_delay=2.0, max_delay=60.0, timeout=3600.0), lms="Canvas"
        )
        self.records: dict[str, dict[str, Any]] = {}

    def job(self, report: str, parameters: dict[str, Any]) -> AsyncJob[dict[str, Rows]]:
        """One report run as submit/check/download for the poller."""
        base = f"accounts/{self.account_id}/reports/{report}"

        def submit() -> str:
            form = {f"parameters[{k}]": _form_value(v) for k, v in parameters.items() if v is not None}
            record = self.sender.post(base, data=form)
            self.records[str(record["id"])] = record
            return str(record["id"])

        def check(report_id: str) -> JobState:
            record = self.api.get(f"{base}/{report_id}")
            self.records[report_id] = record
            return report_state(record)

        def download(report_id: str) -> dict[str, Rows]:
            record = self.records[report_id]
            attachment = record.get("attachment") or {}
            url = attachment.get("url")
            if not url:
                logger.info("report %s %s finished without a file (nothing selected)", report, report_id)
                return {}
            return parse_report_file(self.sender.download(url))

        return AsyncJob(f"account report {report}", submit, check, download)

    def run(self, report: str, parameters: dict[str, Any]) -> dict[str, Rows]:
        """Run one report to completion and return its rows per entity."""
        return self.poller.run(self.job(report, parameters))


def _form_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


class _Once:
    """Runs a fetch once for every resource that shares it (one report job, several tables)."""

    def __init__(self, fetch: Callable[[], dict[str, Rows]]) -> None:
        self._fetch = fetch
        self._lock = threading.Lock()
        self._result: dict[str, Rows] | None = None

    def get(self) -> dict[str, Rows]:
        with self._lock:
            if self._result is None:
                self._result = self._fetch()
            return self._result


@dlt.source(name="canvas_account_reports", section="canvas", max_table_nesting=0)
def canvas_account_reports(
    base_url: str = dlt.config.value,
    access_token: str = dlt.secrets.value,
    account_id: str = "self",
    provisioning: Sequence[str] = PROVISIONING,
    last_user_access: bool = True,
    enrollment_term_id: str | None = None,
    include_deleted: bool = True,
    report_timeout: float = 3600.0,
    poll_first_delay: float = 2.0,
    poll_max_delay: float = 60.0,
    privacy: PrivacyPolicy | None = None,
    api: CanvasApi | None = None,
    poller: JobPoller | None = None,
) -> list[DltResource]:
    """Account-wide tables from Canvas account reports.

    Tables: `provisioning_users`, `provisioning_courses`, `provisioning_sections`,
    `provisioning_enrollments` (one provisioning_csv run) and `last_user_access`.

    Args:
        base_url: the Canvas host.
        access_token: an account-admin token (reports need the account's report permissions).
        account_id: the account to report on (`self` = the root; a sub-account limits the rows).
        provisioning: which provisioning files to request (users, courses, sections, enrollments).
        last_user_access: also run last_user_access_csv.
        enrollment_term_id: limit the reports to one term (Canvas id or `sis_term_id:X`); the
            tables are then merged on their keys instead of replaced.
        include_deleted: include concluded and SIS-deleted objects (Canvas leaves them out otherwise).
        report_timeout: seconds to wait for each report.
        poll_first_delay: first wait between status checks (doubling, capped at poll_max_delay).
        poll_max_delay: longest wait between status checks.
        privacy: keep, pseudonymise or drop personal fields (`[sources.canvas.privacy]`, as for
            canvas_source; see sources/privacy.py).
        api: a ready client (tests share one).
        poller: a ready poller (tests inject one with a fake clock).
    """
    rules = privacy_rules(privacy, "canvas")
    unknown = sorted(set(provisioning) - set(PROVISIONING))
    if unknown:
        raise ValueError(f"unknown provisioning files {unknown}; choose from {', '.join(PROVISIONING)}")
    if api is None:
        api = CanvasApi(base_url, access_token, policy=RetryPolicy())
    runner = AccountReportRunner(
        api,
        account_id,
        poller
        or JobPoller(
            PollPolicy(first_delay=poll_first_delay, max_delay=poll_max_delay, timeout=report_timeout),
            lms="Canvas",
        ),
    )
    scope: dict[str, Any] = {"include_deleted": include_deleted}
    if enrollment_term_id:
        scope["enrollment_term_id"] = enrollment_term_id
    disposition = "merge" if enrollment_term_id else "replace"
    provisioning_rows = _Once(
        lambda: runner.run("provisioning_csv", {**scope, **{e: True for e in provisioning}})
    )
    access_rows = _Once(lambda: runner.run("last_user_access_csv", scope))

    def table(entity: str, name: str, shared: _Once) -> DltResource:
        def rows() -> Iterator[Rows]:
            yield shared.get().get(entity, [])

        return dlt.resource(
            rows,
            name=name,
            primary_key=KEYS[entity],
            write_disposition=disposition,
            columns=columns_for(entity),
        )

    resources = [table(e, f"provisioning_{e}", provisioning_rows) for e in provisioning]
    if last_user_access:
        resources.append(table("last_user_access", "last_user_access", access_rows))
    return protect_all(resources, PERSONAL_FIELDS, rules)


__all__ = ["AccountReportRunner", "canvas_account_reports", "parse_report_file", "report_state"]
