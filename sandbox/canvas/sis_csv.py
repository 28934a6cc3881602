"""The Canvas SIS CSV format as the sandbox's importer reads it: the kinds and their statuses, and
unpacking an upload into parsed CSV files (docs/canvas-api.md section 4.10)."""

from __future__ import annotations

import csv
import io
import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime

# Importer order in Canvas: parents before children, users before enrollments.
KIND_ORDER = ("account", "term", "course", "section", "user", "enrollment")
STATUSES = {
    "account": ("active", "deleted"),
    "term": ("active", "deleted"),
    "course": ("active", "deleted", "completed", "published"),
    "section": ("active", "deleted"),
    "user": ("active", "suspended", "deleted"),
    "enrollment": ("active", "deleted", "completed", "inactive", "deleted_last_completed"),
}
ROLE_TYPES = {
    "student": "StudentEnrollment",
    "teacher": "TeacherEnrollment",
    "ta": "TaEnrollment",
    "observer": "ObserverEnrollment",
    "designer": "DesignerEnrollment",
}
COUNT_KEYS = (
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
PLURAL = {
    "account": "accounts",
    "term": "terms",
    "course": "courses",
    "section": "sections",
    "user": "users",
    "enrollment": "enrollments",
}
# (identifying fields per kind): the row identity used by diffing
IDENTITY = {
    "account": ("account_id",),
    "term": ("term_id",),
    "course": ("course_id",),
    "section": ("section_id",),
    "user": ("user_id",),
    "enrollment": ("course_id", "section_id", "user_id", "user_integration_id", "role", "associated_user_id"),
}
BOOLEAN_PARAMS = (
    "batch_mode",
    "multi_term_batch_mode",
    "skip_deletes",
    "override_sis_stickiness",
    "add_sis_stickiness",
    "clear_sis_stickiness",
    "diffing_remaster_data_set",
    "update_sis_id_if_login_claimed",
)
ZIP_EXPANSION_LIMIT = 100


def truthy(value: str | None) -> bool:
    """Canvas's value_to_boolean."""
    return (value or "").lower() in ("1", "true", "t", "yes", "y", "on")


def kind_of(header: list[str]) -> str | None:
    """The SIS CSV kind a header row identifies, tried in Canvas's importer order."""
    h = set(header)
    if "account_id" in h and "parent_account_id" in h:
        return "account"
    if "term_id" in h and "name" in h:
        return "term"
    if "course_id" in h and "short_name" in h:
        return "course"
    if "section_id" in h and "name" in h:
        return "section"
    if "user_id" in h and "login_id" in h:
        return "user"
    if ("section_id" in h or "course_id" in h) and ("user_id" in h or "user_integration_id" in h):
        return "enrollment"
    return None


def parse_date(value: str) -> int | None:
    """An ISO 8601 date or time (UTC unless it carries an offset) as epoch seconds.

    Raises:
        ValueError: the text is not an ISO 8601 date.
    """
    parsed = datetime.fromisoformat(value.strip())
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return int(parsed.timestamp())


@dataclass
class CsvFile:
    """One uploaded CSV: its name, kind and rows (line number, values by lower-cased header)."""

    name: str
    kind: str
    rows: list[tuple[int, dict[str, str]]]


def unpack(filename: str, data: bytes) -> tuple[list[tuple[str, bytes]], list[list[str]]]:
    """The CSV files inside an upload (a zip or one CSV) and file-level errors."""
    if filename.lower().endswith(".zip") or data[:4] == b"PK\x03\x04":
        try:
            archive = zipfile.ZipFile(io.BytesIO(data))
        except zipfile.BadZipFile:
            return [], [[filename, "Invalid zip file"]]
        expanded = sum(i.file_size for i in archive.infolist())
        if expanded > max(len(data), 1) * ZIP_EXPANSION_LIMIT:
            return [], [[filename, "Zip file expands to more than 100 times its size"]]
        out = []
        for info in archive.infolist():
            name = info.filename
            if info.is_dir() or name.startswith("__MACOSX") or not name.lower().endswith(".csv"):
                continue
            out.append((name.rsplit("/", 1)[-1], archive.read(info)))
        return out, []
    return [(filename, data)], []


def read_csv(name: str, data: bytes) -> tuple[CsvFile | None, list[str] | None]:
    """Parse one CSV; returns the file or a file-level error [name, message]."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return None, [name, "Invalid UTF-8"]
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader, None)
        if header is None:
            return None, [name, "Couldn't find Canvas CSV import headers"]
        header = [h.strip().lower() for h in header]
        kind = kind_of(header)
        if kind is None:
            return None, [name, "Couldn't find Canvas CSV import headers"]
        rows = []
        for values in reader:
            if not any(v.strip() for v in values):
                continue
            row = {h: (values[i].strip() if i < len(values) else "") for i, h in enumerate(header)}
            rows.append((reader.line_num, row))
    except csv.Error as exc:
        return None, [name, f"Malformed CSV: {exc}"]
    return CsvFile(name, kind, rows), None
