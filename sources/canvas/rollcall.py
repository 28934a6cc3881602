"""Roll Call attendance CSVs (Canvas has no attendance API) read from a folder or bucket.

Roll Call's reports are CSV files emailed as links (docs/canvas-api.md section 6); users drop them in a
folder or bucket and point `rollcall_bucket_url` at it. Every file matching `rollcall_file_glob`
is listed with dlt's `filesystem` resource, incrementally on its modification date, and parsed here
with the stdlib `csv` module (dlt's `read_csv` needs pandas, and a header check per file is needed
anyway). Both report shapes load: the account report and the course report (which lacks the SIS
teacher and student id columns). A file is all or nothing: one with a wrong header or a bad row is
rejected with an error naming the file and what is wrong, and every other file still loads.
"""

from __future__ import annotations

import csv
import hashlib
import logging
import posixpath
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, date, datetime
from typing import Any

import dlt
from dlt.sources import DltResource
from dlt.sources.filesystem import FileItemDict, filesystem

from .settings import ts, typed

logger = logging.getLogger(__name__)

# CSV header -> column. Roll Call's account report has all of these; its course report lacks the
# two optional SIS columns. "Badges" and one column per badge name follow when the account has badges.
HEADER_COLUMNS: dict[str, str] = {
    "Course ID": "course_id",
    "SIS Course ID": "sis_course_id",
    "Course Code": "course_code",
    "Course Name": "course_name",
    "Section Name": "section_name",
    "Section ID": "section_id",
    "SIS Section ID": "sis_section_id",
    "Teacher ID": "teacher_id",
    "SIS Teacher ID": "sis_teacher_id",
    "Teacher Name": "teacher_name",
    "Student ID": "student_id",
    "SIS Student ID": "sis_student_id",
    "Student Name": "student_name",
    "Class Date": "class_date",
    "Attendance": "attendance",
    "Timestamp": "timestamp",
}
OPTIONAL_HEADERS = frozenset({"SIS Teacher ID", "SIS Student ID"})
REQUIRED_HEADERS = tuple(h for h in HEADER_COLUMNS if h not in OPTIONAL_HEADERS)
BADGES_HEADER = "Badges"
INT_COLUMNS = ("course_id", "section_id", "teacher_id", "student_id")
KEY_COLUMNS = ("course_id", "section_id", "student_id", "class_date")

ROLLCALL_COLUMNS: dict[str, dict[str, Any]] = {
    **{
        name: {"data_type": "bigint", "nullable": False} for name in ("course_id", "section_id", "student_id")
    },
    "class_date": {"data_type": "date", "nullable": False},
    **typed("bigint", "teacher_id"),
    **typed(
        "text",
        "sis_course_id",
        "course_code",
        "course_name",
        "section_name",
        "sis_section_id",
        "sis_teacher_id",
        "teacher_name",
        "sis_student_id",
        "student_name",
        "attendance",
        "badges",
        "source_file",
    ),
    # a status re-marked later shows up in a later report: the latest timestamp wins in a merge
    "timestamp": {"data_type": "timestamp", "timezone": True, "nullable": True, "dedup_sort": "desc"},
    **ts("source_file_modified_at"),
}


class RollcallFileError(ValueError):
    """A Roll Call CSV that cannot be loaded (wrong header or a bad row); names the file."""

    def __init__(self, file_name: str, problem: str) -> None:
        super().__init__(
            f"Roll Call report {file_name} was not loaded: {problem}. Export the account or course "
            "attendance report from Roll Call unchanged (UTF-8 CSV with its header row) and put it "
            "in the folder again; the other files were loaded."
        )
        self.file_name = file_name
        self.problem = problem


def _clean_header(name: str) -> str:
    return name.replace("\ufeff", "").strip()


def parse_class_date(value: str) -> date:
    """`2026-10-14` as Roll Call writes it, or `10/14/2026` after a spreadsheet re-saved the file."""
    value = value.strip()
    if "/" in value:
        return datetime.strptime(value, "%m/%d/%Y").date()
    return date.fromisoformat(value)


def parse_timestamp(value: str) -> datetime | None:
    """Roll Call's `2026-10-14 15:32:10 UTC` (Rails), ISO 8601, or with an offset; to UTC.

    A time without a zone is taken as UTC (Roll Call stores UTC).
    """
    text = value.strip()
    if not text:
        return None
    if text.endswith(" UTC"):
        text = text[:-4] + "+00:00"
    elif len(text) > 19 and text[19] == " ":  # `2026-10-14 10:32:10 -0500`
        text = text[:19] + text[20:]
    parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def parse_rollcall_csv(
    lines: Iterable[str], file_name: str, modified_at: datetime | None = None
) -> list[dict[str, Any]]:
    """Parse one Roll Call report into rows; all or nothing.

    Args:
        lines: The file's text lines (any UTF-8 BOM is ignored).
        file_name: Shown in errors and kept in `source_file`.
        modified_at: The file's modification time, kept in `source_file_modified_at`.

    Returns:
        Rows with snake_case columns (see ROLLCALL_COLUMNS).

    Raises:
        RollcallFileError: The header lacks required columns, or a row cannot be read.
    """
    reader = csv.reader(lines)
    try:
        header = [_clean_header(h) for h in next(reader)]
    except StopIteration:
        raise RollcallFileError(file_name, "the file is empty (no header row)") from None
    by_lower = {h.lower(): i for i, h in enumerate(header)}
    missing = [h for h in REQUIRED_HEADERS if h.lower() not in by_lower]
    if missing:
        raise RollcallFileError(
            file_name,
            f"its header lacks the column(s) {', '.join(repr(m) for m in missing)} "
            f"(found: {', '.join(repr(h) for h in header)})",
        )
    positions = {column: by_lower[h.lower()] for h, column in HEADER_COLUMNS.items() if h.lower() in by_lower}
    badges_at = by_lower.get(BADGES_HEADER.lower())
    badge_names = [(i, header[i]) for i in range(badges_at + 1, len(header))] if badges_at is not None else []
    rows = []
    for line_no, fields in enumerate(reader, start=2):
        if not any(f.strip() for f in fields):
            continue  # a blank line
        # Roll Call appends an empty Badges field even when the header has no Badges column
        if len(fields) > len(header) and any(f.strip() for f in fields[len(header) :]):
            raise RollcallFileError(file_name, f"line {line_no} has more fields than the header")
        fields = fields + [""] * (len(header) - len(fields))
        row: dict[str, Any] = dict.fromkeys(HEADER_COLUMNS.values())  # absent optional columns stay None
        try:
            for column, i in positions.items():
                value = fields[i].strip()
                if column in INT_COLUMNS:
                    row[column] = int(value) if value else None
                elif column == "class_date":
                    row[column] = parse_class_date(value) if value else None
                elif column == "timestamp":
                    row[column] = parse_timestamp(value)
                elif column == "attendance":
                    row[column] = value.lower() or None
                else:
                    row[column] = value or None
        except ValueError as exc:
            raise RollcallFileError(file_name, f"line {line_no} cannot be read ({exc})") from None
        if row.get("section_id") is None and row.get("course_id") is not None:
            # Roll Call leaves the section columns blank for a status without a section
            row["section_id"] = 0
        empty_keys = [k for k in KEY_COLUMNS if row.get(k) is None]
        if empty_keys:
            raise RollcallFileError(file_name, f"line {line_no} has no {', '.join(empty_keys)}")
        awarded = [name for i, name in badge_names if fields[i].strip()]
        row["badges"] = ", ".join(awarded) if awarded else None
        row["source_file"] = file_name
        row["source_file_modified_at"] = modified_at
        rows.append(row)
    return rows


def _location_key(bucket_url: str, file_glob: str) -> str:
    return hashlib.sha256(f"{bucket_url.rstrip('/')}|{file_glob}".encode()).hexdigest()[:10]


def _file_label(item: FileItemDict) -> str:
    """The file's path relative to the configured folder (its name for a flat folder)."""
    rel = item.get("relative_path") or item.get("file_name") or item["file_url"]
    return posixpath.normpath(str(rel))


def rollcall_resource(
    bucket_url: str,
    file_glob: str = "*.csv",
    *,
    strict: bool = False,
    on_rejected: Callable[[str, str], None] | None = None,
    credentials: Any = None,
    course_ids: Iterable[int] | None = None,
) -> DltResource:
    """The `rollcall_attendance` resource: every Roll Call CSV under `bucket_url`.

    Args:
        bucket_url: A local folder, `file://` URL or bucket URL (`s3://...`, `gs://...`, `az://...`;
            those need the matching fsspec package, e.g. `s3fs`, and credentials).
        file_glob: Which files to read, relative to `bucket_url` (`**/*.csv` for subfolders).
        strict: Fail the run on the first rejected file instead of skipping it.
        on_rejected: Called with (file, message) for each rejected file (the run's statistics).
        credentials: Filesystem credentials; by default dlt's filesystem configuration.
        course_ids: Keep only these courses' rows (a shard); other shards' pipelines read the
            same files for their own courses.

    Returns:
        A merge resource keyed by (course_id, section_id, student_id, class_date); only files
        modified since the last run are read. Within one run the row with the latest Timestamp
        wins; across runs, the file read last wins.
    """
    kwargs: dict[str, Any] = {}
    if credentials is not None:
        kwargs["credentials"] = credentials
    listing = filesystem(
        bucket_url=bucket_url,
        file_glob=file_glob,
        incremental=dlt.sources.incremental("modification_date"),
        **kwargs,
    ).with_name(f"rollcall_files_{_location_key(bucket_url, file_glob)}")
    # (the listing's incremental cursor lives in state under that name: pointing the source at
    # another folder starts a fresh cursor instead of skipping that folder's older files)
    shard = {int(c) for c in course_ids} if course_ids else None

    def read(items: list[FileItemDict]) -> Iterator[list[dict[str, Any]]]:
        for item in items:
            label = _file_label(item)
            modified = item.get("modification_date")
            if isinstance(modified, datetime):
                modified = modified.astimezone(UTC)
            error: RollcallFileError | None = None
            try:
                with item.open(mode="rt", encoding="utf-8-sig", newline="") as fh:
                    rows = parse_rollcall_csv(fh, label, modified)
            except UnicodeDecodeError:
                error = RollcallFileError(label, "it is not UTF-8 text")
            except RollcallFileError as exc:
                error = exc
            if error is not None:
                if strict:
                    raise error
                logger.error("%s", error)
                if on_rejected is not None:
                    on_rejected(label, str(error))
                continue
            if shard is not None:
                rows = [row for row in rows if row["course_id"] in shard]
            logger.info("read %d Roll Call rows from %s", len(rows), label)
            if rows:
                yield rows

    return listing | dlt.transformer(
        read,
        name="rollcall_attendance",
        primary_key=KEY_COLUMNS,
        write_disposition="merge",
        columns=ROLLCALL_COLUMNS,
    )
