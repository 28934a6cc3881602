"""The Canvas SIS CSV format, checked locally before anything is uploaded.

Canvas identifies each CSV by its header (not its file name), requires a `status` on every row
and skips rows it cannot use with a warning. `validate_inputs` reports, with file and line, the
problems that would make Canvas skip rows or fail the import, so a bad file is refused here.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

BUILT_IN_ROLES = ("student", "teacher", "ta", "observer", "designer")


@dataclass(frozen=True)
class FileType:
    """One kind of SIS CSV: how Canvas recognises it and what each row needs."""

    kind: str
    example_name: str
    required: tuple[str, ...]  # columns every file of this kind must have
    statuses: tuple[str, ...]
    id_column: str | None  # the SIS id that must be present and unique
    known: tuple[str, ...]  # every column Canvas reads
    needs_when_live: tuple[str, ...] = ()  # must be non-blank unless status is deleted


FILE_TYPES: dict[str, FileType] = {
    "account": FileType(
        "account",
        "accounts.csv",
        ("account_id", "parent_account_id", "name", "status"),
        ("active", "deleted"),
        "account_id",
        ("account_id", "parent_account_id", "name", "status", "integration_id"),
        ("name",),
    ),
    "term": FileType(
        "term",
        "terms.csv",
        ("term_id", "name", "status"),
        ("active", "deleted"),
        "term_id",
        (
            "term_id",
            "name",
            "status",
            "start_date",
            "end_date",
            "integration_id",
            "date_override_enrollment_type",
        ),
        ("name",),
    ),
    "course": FileType(
        "course",
        "courses.csv",
        ("course_id", "short_name", "long_name", "status"),
        ("active", "deleted", "completed", "published"),
        "course_id",
        (
            "course_id",
            "short_name",
            "long_name",
            "account_id",
            "term_id",
            "status",
            "integration_id",
            "start_date",
            "end_date",
            "course_format",
            "blueprint_course_id",
            "grade_passback_setting",
            "homeroom_course",
            "friendly_name",
        ),
        ("short_name", "long_name"),
    ),
    "section": FileType(
        "section",
        "sections.csv",
        ("section_id", "course_id", "name", "status"),
        ("active", "deleted"),
        "section_id",
        ("section_id", "course_id", "name", "status", "integration_id", "start_date", "end_date"),
        ("course_id", "name"),
    ),
    "user": FileType(
        "user",
        "users.csv",
        ("user_id", "login_id", "status"),
        ("active", "suspended", "deleted"),
        "user_id",
        (
            "user_id",
            "integration_id",
            "login_id",
            "password",
            "ssha_password",
            "authentication_provider_id",
            "first_name",
            "last_name",
            "full_name",
            "sortable_name",
            "short_name",
            "email",
            "pronouns",
            "declared_user_type",
            "canvas_password_notification",
            "home_account",
            "status",
        ),
        ("login_id",),
    ),
    "enrollment": FileType(
        "enrollment",
        "enrollments.csv",
        ("status",),
        ("active", "deleted", "completed", "inactive", "deleted_last_completed"),
        None,
        (
            "course_id",
            "root_account",
            "start_date",
            "end_date",
            "user_id",
            "user_integration_id",
            "role",
            "role_id",
            "section_id",
            "status",
            "associated_user_id",
            "limit_section_privileges",
            "notify",
            "temporary_enrollment_source_user_id",
        ),
    ),
}
DATE_COLUMNS = ("start_date", "end_date")
ENROLLMENT_IDENTITY = (
    "course_id",
    "section_id",
    "user_id",
    "user_integration_id",
    "role",
    "role_id",
    "associated_user_id",
)


def identify(header: Sequence[str]) -> str | None:
    """The kind of SIS CSV a header identifies, using Canvas's rules in Canvas's order."""
    h = set(header)
    if {"account_id", "parent_account_id"} <= h:
        return "account"
    if {"term_id", "name"} <= h:
        return "term"
    if {"course_id", "short_name"} <= h:
        return "course"
    if {"section_id", "name"} <= h:
        return "section"
    if {"user_id", "login_id"} <= h:
        return "user"
    if h & {"section_id", "course_id"} and h & {"user_id", "user_integration_id"}:
        return "enrollment"
    return None


@dataclass(frozen=True)
class Problem:
    """One finding: `error`s make the upload refused, `note`s are printed only."""

    file: str
    line: int | None
    message: str
    severity: str = "error"

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.message}"


@dataclass
class SisFile:
    """A checked CSV: its name in the upload, kind, data rows and bytes."""

    name: str
    kind: str | None
    rows: int
    data: bytes


@dataclass
class Validation:
    """Every file checked and every problem found."""

    files: list[SisFile] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def notes(self) -> list[Problem]:
        return [p for p in self.problems if p.severity != "error"]

    @property
    def ok(self) -> bool:
        return not self.errors


def parse_date(value: str) -> datetime:
    """An ISO 8601 date or time (`2026-08-24`, `2026-08-24T05:00:00Z`, with an offset).

    Raises:
        ValueError: not ISO 8601.
    """
    parsed = datetime.fromisoformat(value.strip())
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def check_csv(name: str, data: bytes) -> tuple[SisFile, list[Problem]]:
    """Check one SIS CSV: encoding, header, then every row."""
    problems: list[Problem] = []

    def error(line: int | None, message: str) -> None:
        problems.append(Problem(name, line, message))

    def note(line: int | None, message: str) -> None:
        problems.append(Problem(name, line, message, "note"))

    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        error(None, f"is not UTF-8 (byte {exc.start}); Canvas requires UTF-8. Re-save the file as UTF-8.")
        return SisFile(name, None, 0, data), problems
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        raw_header = next(reader, None)
    except csv.Error as exc:
        error(1, f"malformed CSV: {exc}")
        return SisFile(name, None, 0, data), problems
    if not raw_header or not any(h.strip() for h in raw_header):
        error(1, "is empty; the first line must be a header row")
        return SisFile(name, None, 0, data), problems
    header = [h.strip().lower() for h in raw_header]
    kind = identify(header)
    if kind is None:
        error(
            1,
            "header matches no Canvas SIS file type (users.csv needs user_id and login_id, courses.csv "
            "course_id and short_name, sections.csv section_id and name, enrollments.csv course_id or "
            "section_id plus user_id, terms.csv term_id and name, accounts.csv account_id and parent_account_id)",
        )
        return SisFile(name, None, 0, data), problems
    spec = FILE_TYPES[kind]
    dupes = sorted({h for h in header if header.count(h) > 1})
    if dupes:
        error(1, f"duplicate column(s) {', '.join(dupes)}")
    missing = [c for c in spec.required if c not in header]
    if kind == "enrollment" and "role" not in header and "role_id" not in header:
        missing.append("role")
    if missing:
        error(1, f"{spec.example_name} is missing required column(s): {', '.join(missing)}")
    unknown = [h for h in header if h not in spec.known and h]
    if unknown:
        note(1, f"column(s) Canvas does not read in {spec.example_name}, ignored: {', '.join(unknown)}")
    seen_ids: dict[str, int] = {}
    seen_logins: dict[str, int] = {}
    rows = 0
    previous_end = reader.line_num
    try:
        for values in reader:
            line = previous_end + 1
            previous_end = reader.line_num
            if not any(v.strip() for v in values):
                continue
            rows += 1
            if len(values) > len(header):
                error(line, f"has {len(values)} fields but the header has {len(header)} (unquoted comma?)")
            row = {h: (values[i].strip() if i < len(values) else "") for i, h in enumerate(header)}
            _check_row(spec, row, line, error, note, seen_ids, seen_logins)
    except csv.Error as exc:
        error(reader.line_num, f"malformed CSV: {exc}")
    if rows == 0:
        note(None, "has a header but no rows")
    return SisFile(name, kind, rows, data), problems


def _check_row(spec, row, line, error, note, seen_ids, seen_logins) -> None:  # type: ignore[no-untyped-def]
    status = row.get("status", "")
    if "status" in row:
        if not status:
            error(line, "missing status")
        elif status.lower() not in spec.statuses:
            error(line, f"status {status!r} is not one of {', '.join(spec.statuses)}")
    deleted = status.lower().startswith("deleted")
    if spec.id_column:
        ident = row.get(spec.id_column, "")
        if spec.id_column in row and not ident:
            error(line, f"missing {spec.id_column}")
        elif ident:
            if ident in seen_ids:
                error(line, f"duplicate {spec.id_column} {ident!r} (first on line {seen_ids[ident]})")
            else:
                seen_ids[ident] = line
    if not deleted:
        for column in spec.needs_when_live:
            if column in row and not row[column]:
                error(line, f"missing {column}")
    if spec.kind == "user":
        login = row.get("login_id", "").lower()
        if login:
            if login in seen_logins:
                error(line, f"login_id {login!r} is also used on line {seen_logins[login]}")
            else:
                seen_logins[login] = line
        if not deleted and not (row.get("full_name") or row.get("first_name") or row.get("last_name")):
            note(line, "no first_name, last_name or full_name: Canvas will show the login id as the name")
    if (
        spec.kind == "account"
        and row.get("account_id")
        and row.get("account_id") == row.get("parent_account_id")
    ):
        error(line, "account is its own parent")
    if spec.kind == "enrollment":
        if not row.get("course_id") and not row.get("section_id"):
            error(line, "needs a course_id or a section_id")
        if not row.get("user_id") and not row.get("user_integration_id"):
            error(line, "missing user_id")
        role = row.get("role", "")
        if "role" in row and not role and not row.get("role_id"):
            error(line, "missing role")
        elif role and role.lower() not in BUILT_IN_ROLES:
            note(line, f"role {role!r} is not a built-in role; it must be a custom role defined in Canvas")
        identity = tuple(row.get(c, "").lower() for c in ENROLLMENT_IDENTITY)
        key = "enrollment " + "|".join(identity)
        if any(identity):
            if key in seen_ids:
                error(
                    line,
                    f"duplicate enrollment (same course, section, user and role as line {seen_ids[key]})",
                )
            else:
                seen_ids[key] = line
    dates: dict[str, datetime] = {}
    for column in DATE_COLUMNS:
        value = row.get(column, "")
        if value:
            try:
                dates[column] = parse_date(value)
            except ValueError:
                error(
                    line, f"{column} {value!r} is not an ISO 8601 date (YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ)"
                )
    if len(dates) == 2 and dates["end_date"] < dates["start_date"]:
        error(line, "end_date is before start_date")


@dataclass
class Upload:
    """What goes to Canvas: one file (a CSV or a zip) and its extension."""

    filename: str
    data: bytes
    extension: str


def _zip_members(path: Path, data: bytes, validation: Validation) -> list[tuple[str, bytes]]:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        validation.problems.append(Problem(path.name, None, "is not a valid zip file"))
        return []
    members = []
    for info in archive.infolist():
        inner = info.filename
        if info.is_dir() or inner.startswith("__MACOSX"):
            continue
        if not inner.lower().endswith(".csv"):
            validation.problems.append(
                Problem(f"{path.name}/{inner}", None, "is not a .csv; Canvas ignores it", "note")
            )
            continue
        members.append((f"{path.name}/{inner}", archive.read(info)))
    if not members:
        validation.problems.append(Problem(path.name, None, "contains no .csv files"))
    return members


def validate_inputs(paths: Iterable[Path]) -> tuple[Validation, Upload | None]:
    """Check CSVs and zips and build the single upload Canvas takes.

    One CSV is sent as it is; one zip is sent as it is after its CSVs are checked; several files
    are zipped together (file types come from headers, so names only need to be distinct).

    Returns:
        The validation, and the upload (None when there is nothing to send).
    """
    validation = Validation()
    members: list[tuple[str, bytes]] = []
    paths = list(paths)
    for path in paths:
        if not path.exists():
            validation.problems.append(Problem(str(path), None, "does not exist"))
            continue
        data = path.read_bytes()
        if path.suffix.lower() == ".zip":
            members.extend(_zip_members(path, data, validation))
        else:
            members.append((path.name, data))
    for name, data in members:
        checked, problems = check_csv(name, data)
        validation.files.append(checked)
        validation.problems.extend(problems)
    if not members:
        return validation, None
    if len(paths) == 1 and paths[0].suffix.lower() == ".zip":
        return validation, Upload(paths[0].name, paths[0].read_bytes(), "zip")
    if len(members) == 1:
        name, data = members[0]
        return validation, Upload(name.rsplit("/", 1)[-1], data, "csv")
    buf = io.BytesIO()
    used: set[str] = set()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members:
            arcname = name.replace("/", "_")
            while arcname in used:
                arcname = "_" + arcname
            used.add(arcname)
            archive.writestr(arcname, data)
    return validation, Upload("sis_import.zip", buf.getvalue(), "zip")
