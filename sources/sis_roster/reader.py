"""Read SIS roster CSVs through dlt's filesystem listing; every file is checked before anything loads."""

from __future__ import annotations

import csv
import logging
import posixpath
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import dlt
from dlt.sources import DltResource
from dlt.sources.filesystem import FileItemDict, filesystem

from .settings import OPTIONAL_COLUMNS, REQUIRED_COLUMNS, ROSTER_COLUMNS, ROSTER_PRIMARY_KEY, STATUSES

logger = logging.getLogger(__name__)


class SisRosterFileError(ValueError):
    """A roster file (or folder) that cannot be loaded; the table is left as it was."""

    def __init__(self, where: str, problem: str) -> None:
        super().__init__(
            f"SIS roster {where} was not loaded: {problem}. The sis_roster table was left as it was; "
            "fix the file (or [sources.sis_roster] path / --sis-roster) and run again."
        )
        self.where = where
        self.problem = problem


def split_location(path_or_bucket: str, file_glob: str) -> tuple[str, str]:
    """(bucket_url, glob): a single local file becomes its folder plus its name."""
    parsed = urlparse(path_or_bucket)
    if parsed.scheme in ("", "file") and len(parsed.scheme) != 1:
        local = Path(parsed.path if parsed.scheme == "file" else path_or_bucket).expanduser()
        if local.is_file():
            return str(local.parent.resolve()), local.name
        if not local.exists():
            raise SisRosterFileError(str(local), "no such file or folder")
        return str(local.resolve()), file_glob
    if posixpath.splitext(parsed.path)[1].lower() == ".csv":  # one object in a bucket
        folder, name = posixpath.split(path_or_bucket)
        return folder, name
    return path_or_bucket, file_glob


def parse_roster_csv(lines: Iterable[str], file_name: str) -> list[dict[str, Any]]:
    """Parse one roster file; all or nothing.

    Header names are matched case-insensitively; columns beyond the known ones are kept as text.

    Raises:
        SisRosterFileError: a required column is missing, or a row lacks a key value.
    """
    reader = csv.reader(lines)
    try:
        header = [h.replace("\ufeff", "").strip().lower() for h in next(reader)]
    except StopIteration:
        raise SisRosterFileError(file_name, "the file is empty (no header row)") from None
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        raise SisRosterFileError(
            file_name,
            f"its header lacks the column(s) {', '.join(missing)} (found: {', '.join(header)})",
        )
    rows = []
    for line_no, fields in enumerate(reader, start=2):
        if not any(f.strip() for f in fields):
            continue
        if len(fields) > len(header) and any(f.strip() for f in fields[len(header) :]):
            raise SisRosterFileError(file_name, f"line {line_no} has more fields than the header")
        fields = fields + [""] * (len(header) - len(fields))
        row: dict[str, Any] = {
            name: (value.strip() or None)
            for name, value in zip(header, fields[: len(header)], strict=True)
            if name
        }
        for column in OPTIONAL_COLUMNS:
            row.setdefault(column, None)
        empty = [c for c in REQUIRED_COLUMNS if not row.get(c)]
        if empty:
            raise SisRosterFileError(file_name, f"line {line_no} has no {', '.join(empty)}")
        row["role"] = row["role"].lower()
        row["status"] = row["status"].lower()
        if row["status"] not in STATUSES:
            logger.warning("%s line %d: unknown status %r kept as is", file_name, line_no, row["status"])
        row["source_file"] = file_name
        row["source_line"] = line_no
        rows.append(row)
    return rows


def roster_resource(path_or_bucket: str, file_glob: str = "*.csv", credentials: Any = None) -> DltResource:
    """The `sis_roster` resource (replace): every roster file under `path_or_bucket`.

    Every file is read and checked before the first row is yielded, so a bad file fails the run
    and the table keeps its previous contents instead of being replaced by part of the roster.
    """
    if not path_or_bucket:
        raise SisRosterFileError("(not configured)", "no path given")
    bucket_url, glob = split_location(str(path_or_bucket), file_glob)
    kwargs: dict[str, Any] = {"credentials": credentials} if credentials is not None else {}

    def read() -> Iterator[list[dict[str, Any]]]:
        # iterating a resource yields its items one by one (pages flattened)
        files: list[FileItemDict] = list(filesystem(bucket_url=bucket_url, file_glob=glob, **kwargs))
        if not files:
            raise SisRosterFileError(f"{bucket_url}/{glob}", "no file matches")
        parsed: list[list[dict[str, Any]]] = []
        for item in sorted(files, key=lambda f: f["file_url"]):
            name = str(item.get("relative_path") or item["file_name"])
            try:
                with item.open(mode="rt", encoding="utf-8-sig", newline="") as fh:
                    parsed.append(parse_roster_csv(fh, name))
            except UnicodeDecodeError:
                raise SisRosterFileError(name, "it is not UTF-8 text") from None
        for rows in parsed:
            if rows:
                yield rows

    return dlt.resource(
        read,
        name="sis_roster",
        primary_key=ROSTER_PRIMARY_KEY,
        write_disposition="replace",
        columns=ROSTER_COLUMNS,
    )
