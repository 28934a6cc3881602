"""SIS imports in the sandbox: unpack the upload, read the Canvas SIS CSVs, apply them to the
institution, and describe the job as GET .../sis_imports/:id does (canvas-api.md section 4.10)."""

from __future__ import annotations

import csv
import hashlib
import io
import zipfile
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from .enrollment_writes import default_section, enroll_user
from .institution import Institution
from .jobs import NEVER, IdAllocator, JobClock
from .model import Account, Course, Section, Term, User
from .timestamps import iso

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
# Stages of a job: created, three importing steps (progress 0/33/66), then the end state.
IMPORT_STEPS = 4
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


@dataclass
class ImportResult:
    """The outcome of processing an import."""

    workflow_state: str
    counts: dict[str, int]
    warnings: list[list[str]]
    errors: list[list[str]]
    supplied_batches: list[str]
    statistics: dict[str, Any]
    diffed_against_import_id: int | None = None
    diffing_threshold_exceeded: bool = False


@dataclass
class SisImport:
    """One SIS import job."""

    id: int
    started: float  # job-clock reading at creation
    created_at: int  # institution clock
    params: dict[str, str]
    uploads: list[tuple[str, bytes]]  # (file name, bytes) as uploaded
    attachment_ids: list[int]
    user: User
    batch_term_id: int | None = None
    result: ImportResult | None = None
    ended_at: int | None = None
    rows_by_kind: dict[str, dict[tuple[str, ...], tuple[str, ...]]] = field(default_factory=dict)


class SisProcessor:
    """Applies the rows of one import to the institution, collecting counts and messages."""

    def __init__(
        self,
        inst: Institution,
        ids: IdAllocator,
        job: SisImport,
        previous: SisImport | None,
        user_status: dict[int, str],
        sis_touched: set[tuple[str, int]],
    ) -> None:
        self.inst = inst
        self.ids = ids
        self.job = job
        self.previous = previous
        self.user_status = user_status
        self.sis_touched = sis_touched
        self.now = inst.clock
        self.counts: Counter[str] = Counter({k: 0 for k in COUNT_KEYS})
        self.stats: dict[str, Counter[str]] = defaultdict(Counter)
        self.warnings: list[list[str]] = []
        self.errors: list[list[str]] = []
        self.reindex = False
        self.skip_deletes = truthy(job.params.get("skip_deletes"))
        self.supplied_ids: dict[str, set[int]] = defaultdict(set)

    def warn(self, name: str, message: str) -> None:
        self.warnings.append([name, message])

    # ---- lookups -------------------------------------------------------------------------------
    def _user_by_sis(self, sis: str) -> User | None:
        return next((u for u in self.inst.users if u.sis_user_id == sis), None)

    def _user_by_integration(self, integration: str) -> User | None:
        return next((u for u in self.inst.users if u.integration_id == integration), None)

    def _account_by_sis(self, sis: str) -> Account | None:
        return next((a for a in self.inst.accounts if a.sis_account_id == sis), None)

    def _term_by_sis(self, sis: str) -> Term | None:
        return next((t for t in self.inst.terms if t.sis_term_id == sis), None)

    def _section_by_sis(self, sis: str) -> tuple[Course, Section] | None:
        for c in self.inst.courses:
            for s in c.sections:
                if s.sis_section_id == sis:
                    return c, s
        return None

    # ---- the run ---------------------------------------------------------------------------------
    def run(self) -> ImportResult:
        files: list[CsvFile] = []
        for name, data in self.job.uploads:
            inner, errors = unpack(name, data)
            self.errors.extend(errors)
            for inner_name, inner_data in inner:
                parsed, error = read_csv(inner_name, inner_data)
                if error:
                    self.errors.append(error)
                elif parsed is not None:
                    files.append(parsed)
        if not files and not self.errors:
            self.errors.append([self.job.uploads[0][0] if self.job.uploads else "", "No CSV files found"])
        by_kind: dict[str, list[CsvFile]] = defaultdict(list)
        for f in files:
            by_kind[f.kind].append(f)
        supplied = [k for k in KIND_ORDER if k in by_kind]
        diffed_against, exceeded = self._diff(by_kind)
        for kind in KIND_ORDER:
            for f in by_kind.get(kind, []):
                for _line, row in f.rows:
                    getattr(self, f"_{kind}")(f.name, row)
        if (
            truthy(self.job.params.get("batch_mode"))
            and self.job.batch_term_id is not None
            and not self.skip_deletes
        ):
            self._batch_cleanup(supplied)
        if self.reindex:
            self.inst.index()
        for c in self.inst.courses:
            c.invalidate()
        self.counts["error_count"] = len(self.errors)
        self.counts["warning_count"] = len(self.warnings)
        if self.errors:
            state = "failed_with_messages"
        elif self.warnings:
            state = "imported_with_messages"
        else:
            state = "imported"
        statistics: dict[str, Any] = {k: dict(v) for k, v in self.stats.items()}
        statistics["total_state_changes"] = sum(sum(v.values()) for v in self.stats.values())
        return ImportResult(
            state,
            dict(self.counts),
            self.warnings,
            self.errors,
            supplied,
            statistics,
            diffed_against,
            exceeded,
        )

    def _diff(self, by_kind: dict[str, list[CsvFile]]) -> tuple[int | None, bool]:
        """Diffing against the last import of the same data set: keep only changed rows, and add
        rows with a drop status for those that disappeared (unless the size changed too much)."""
        params = self.job.params
        current: dict[str, dict[tuple[str, ...], tuple[str, ...]]] = {}
        for kind, files in by_kind.items():
            rows: dict[tuple[str, ...], tuple[str, ...]] = {}
            for f in files:
                for _, row in f.rows:
                    rows[tuple(row.get(k, "") for k in IDENTITY[kind])] = tuple(sorted(row.items()))
            current[kind] = rows
        self.job.rows_by_kind = current
        prev = self.previous
        if (
            prev is None
            or not params.get("diffing_data_set_identifier")
            or truthy(params.get("diffing_remaster_data_set"))
        ):
            return None, False
        threshold = params.get("change_threshold")
        if threshold:
            for kind, rows in current.items():
                before = len(prev.rows_by_kind.get(kind, {}))
                if before and abs(len(rows) - before) * 100 / before > float(threshold):
                    return None, True
        drop = params.get("diffing_drop_status") or "deleted"
        user_drop = params.get("diffing_user_remove_status") or "deleted"
        for kind, files in by_kind.items():
            old = prev.rows_by_kind.get(kind, {})
            for f in files:
                f.rows = [
                    (line, row)
                    for line, row in f.rows
                    if old.get(tuple(row.get(k, "") for k in IDENTITY[kind])) != tuple(sorted(row.items()))
                ]
            gone = [key for key in old if key not in current.get(kind, {})]
            if gone and files:
                status = drop if kind == "enrollment" else user_drop if kind == "user" else "deleted"
                for key in gone:
                    row = dict(old[key])
                    row["status"] = status
                    files[0].rows.append((0, row))
        return prev.id, False

    # ---- per kind ---------------------------------------------------------------------------------
    def _status(self, name: str, kind: str, row: dict[str, str], label: str) -> str | None:
        status = row.get("status", "").lower()
        if status not in STATUSES[kind]:
            self.warn(name, f'Improper status "{row.get("status", "")}" for {label}, skipping')
            return None
        if self.skip_deletes and status.startswith("deleted"):
            return None
        return status

    def _dates(self, name: str, row: dict[str, str], label: str) -> tuple[int | None, int | None, bool]:
        out: list[int | None] = []
        ok = True
        for col in ("start_date", "end_date"):
            raw = row.get(col, "")
            if not raw:
                out.append(None)
                continue
            try:
                out.append(parse_date(raw))
            except ValueError:
                self.warn(name, f"Bad date format for {label}")
                out.append(None)
                ok = False
        return out[0], out[1], ok

    def _account(self, name: str, row: dict[str, str]) -> None:
        sis = row.get("account_id", "")
        if not sis:
            self.warn(name, "No account_id given for an account")
            return
        status = self._status(name, "account", row, f"account {sis}")
        if status is None:
            return
        parent = self.inst.root
        if row.get("parent_account_id"):
            found = self._account_by_sis(row["parent_account_id"])
            if found is None:
                self.warn(name, f"Parent account didn't exist for {sis}")
                return
            parent = found
        account = self._account_by_sis(sis)
        if account is None:
            if not row.get("name"):
                self.warn(name, f"No name given for account {sis}, skipping")
                return
            token = hashlib.sha1(f"account:{sis}".encode()).hexdigest()
            account = Account(
                self.ids.next("account"), row["name"], parent.id, self.inst.root.id, sis, token, self.now
            )
            self.inst.accounts.append(account)
            self.stats["Account"]["created"] += 1
            self.reindex = True
        else:
            if row.get("name"):
                account.name = row["name"]
            if account.parent_account_id != parent.id and account.id != self.inst.root.id:
                account.parent_account_id = parent.id
                self.reindex = True
        self.sis_touched.add(("account", account.id))
        self.counts["accounts"] += 1

    def _term(self, name: str, row: dict[str, str]) -> None:
        sis = row.get("term_id", "")
        if not sis:
            self.warn(name, "No term_id given for a term")
            return
        status = self._status(name, "term", row, f"term {sis}")
        if status is None:
            return
        start, end, _ = self._dates(name, row, f"term {sis}")
        term = self._term_by_sis(sis)
        if term is None:
            if not row.get("name"):
                self.warn(name, f"No name given for term {sis}, skipping")
                return
            term = Term(self.ids.next("term"), row["name"], sis, start, end, self.now)
            self.inst.terms.append(term)
            self.stats["EnrollmentTerm"]["created"] += 1
            self.reindex = True
        else:
            term.name = row.get("name") or term.name
            term.start_at, term.end_at = (
                start if start is not None else term.start_at,
                end if end is not None else term.end_at,
            )
        self.sis_touched.add(("term", term.id))
        self.counts["terms"] += 1

    def _course(self, name: str, row: dict[str, str]) -> None:
        inst = self.inst
        sis = row.get("course_id", "")
        if not sis:
            self.warn(name, "No course_id given for a course")
            return
        status = self._status(name, "course", row, f"course {sis}")
        if status is None:
            return
        account = inst.root
        if row.get("account_id"):
            found = self._account_by_sis(row["account_id"])
            if found is None:
                self.warn(name, f'Account not found "{row["account_id"]}" for course {sis}')
            else:
                account = found
        term = inst.terms[0]
        if row.get("term_id"):
            term = self._term_by_sis(row["term_id"]) or term
        start, end, _ = self._dates(name, row, f"course {sis}")
        course = inst.courses_by_sis.get(sis)
        if course is None:
            if not row.get("short_name"):
                self.warn(name, f"No short_name given for course {sis}, skipping")
                return
            if not row.get("long_name"):
                self.warn(name, f"No long_name given for course {sis}, skipping")
                return
            state = {"active": "unpublished", "published": "available"}.get(status, status)
            cid = self.ids.next("course")
            course = Course(
                id=cid,
                name=row["long_name"],
                course_code=row["short_name"],
                sis_course_id=sis,
                integration_id=row.get("integration_id") or None,
                account_id=account.id,
                enrollment_term_id=term.id,
                workflow_state=state,
                start_at=start,
                end_at=end,
                created_at=self.now,
                apply_assignment_group_weights=False,
                default_view="modules",
                is_public=False,
                uuid=hashlib.sha1(f"course:{cid}".encode()).hexdigest(),
                late_policy_pct=0.0,
                missing_policy_pct=None,
            )
            inst.courses.append(course)
            inst.courses_by_sis[sis] = course
            inst.courses_by_id[cid] = course
            self.stats["Course"]["created"] += 1
            self.reindex = True
        else:
            course.name = row.get("long_name") or course.name
            course.course_code = row.get("short_name") or course.course_code
            if row.get("account_id") and course.account_id != account.id:
                course.account_id = account.id
                self.reindex = True
            if row.get("term_id"):
                course.enrollment_term_id = term.id
            if start is not None:
                course.start_at = start
            if end is not None:
                course.end_at = end
            before = course.workflow_state
            if status == "active":
                if before == "deleted":
                    course.workflow_state = "unpublished"
                    self.stats["Course"]["restored"] += 1
                elif before == "completed":
                    course.workflow_state = "available"
                    self.stats["Course"]["restored"] += 1
            elif status == "published" and before != "available":
                course.workflow_state = "available"
            elif status == "completed" and before != "completed":
                course.workflow_state = "completed"
                self.stats["Course"]["concluded"] += 1
            elif status == "deleted" and before != "deleted":
                course.workflow_state = "deleted"
                self.stats["Course"]["deleted"] += 1
        self.supplied_ids["course"].add(course.id)
        self.sis_touched.add(("course", course.id))
        self.counts["courses"] += 1

    def _section(self, name: str, row: dict[str, str]) -> None:
        inst = self.inst
        sis = row.get("section_id", "")
        if not sis:
            self.warn(name, "No section_id given for a section")
            return
        if not row.get("course_id"):
            self.warn(name, f"No course_id given for a section {sis}")
            return
        status = self._status(name, "section", row, f"section {sis}")
        if status is None:
            return
        course = inst.courses_by_sis.get(row["course_id"])
        if course is None:
            self.warn(name, f"Section {sis} references course {row['course_id']} which doesn't exist")
            return
        start, end, _ = self._dates(name, row, f"section {sis}")
        found = self._section_by_sis(sis)
        if status == "deleted":
            if found is not None:
                self._delete_section(*found)
            self.counts["sections"] += 1
            return
        if found is None:
            if not row.get("name"):
                self.warn(name, f"No name given for section {sis} in course {row['course_id']}")
                return
            section = Section(
                self.ids.next("section"),
                course.id,
                row["name"],
                sis,
                row.get("integration_id") or None,
                start,
                end,
                self.now,
            )
            course.sections.append(section)
            inst.sections_by_id[section.id] = (course, section)
            inst.sections_by_sis[sis] = section.id
            self.stats["CourseSection"]["created"] += 1
        else:
            section = found[1]
            section.name = row.get("name") or section.name
            if start is not None:
                section.start_at = start
            if end is not None:
                section.end_at = end
        self.supplied_ids["section"].add(section.id)
        self.sis_touched.add(("section", section.id))
        self.counts["sections"] += 1

    def _delete_section(self, course: Course, section: Section) -> None:
        """A deleted section leaves the course, and its enrollments are deleted with it."""
        for e in course.enrollments:
            if e.section.id == section.id and e.state != "deleted":
                e.state = "deleted"
                e.updated_at = self.now
        course.sections = [s for s in course.sections if s.id != section.id]
        self.stats["CourseSection"]["deleted"] += 1
        self.reindex = True

    def _user(self, name: str, row: dict[str, str]) -> None:
        inst = self.inst
        sis = row.get("user_id", "")
        if not sis:
            self.warn(name, "No user_id given for a user")
            return
        login = row.get("login_id", "").lower()
        if not login:
            self.warn(name, f"No login_id given for user {sis}, skipping")
            return
        status = self._status(name, "user", row, f"user {sis}")
        if status is None:
            return
        user = self._user_by_sis(sis)
        holder = next((u for u in inst.users if u.login_id == login), None)
        if holder is not None and holder is not user:
            self.warn(
                name,
                f"user {holder.sis_user_id or holder.id} has already claimed {sis}'s requested login information, skipping",
            )
            return
        first, last = row.get("first_name", ""), row.get("last_name", "")
        full = row.get("full_name") or " ".join(p for p in (first, last) if p)
        sortable = row.get("sortable_name") or (f"{last}, {first}" if last and first else full)
        short = row.get("short_name") or full
        if user is None:
            if status == "deleted":
                self.counts["users"] += 1
                return
            if not full:
                full = sortable = short = login
            email = row.get("email") or f"{login}@sis.sandbox.test"
            user = User(
                self.ids.next("user"),
                full,
                sortable,
                short,
                sis,
                row.get("integration_id") or None,
                login,
                email,
                self.now,
                None,
            )
            inst.users.append(user)
            inst.users_by_id[user.id] = user
            self.stats["Pseudonym"]["created"] += 1
            self.reindex = True
        else:
            if full:
                user.name, user.sortable_name, user.short_name = full, sortable, short
                self.reindex = True
            user.login_id = login
            if row.get("email"):
                user.email = row["email"]
            if row.get("integration_id"):
                user.integration_id = row["integration_id"]
        previous = self.user_status.get(user.id, "active")
        if status != previous:
            self.user_status[user.id] = status
            if status == "deleted":
                # removing the login removes the user's enrollments in this root account
                for c in inst.courses:
                    for e in c.enrollments:
                        if e.user.id == user.id and e.state != "deleted":
                            e.state, e.updated_at = "deleted", self.now
                self.stats["Pseudonym"]["deleted"] += 1
            elif previous == "deleted":
                self.stats["Pseudonym"]["restored"] += 1
        self.sis_touched.add(("user", user.id))
        self.counts["users"] += 1

    def _enrollment(self, name: str, row: dict[str, str]) -> None:
        inst = self.inst
        course_sis, section_sis = row.get("course_id", ""), row.get("section_id", "")
        user_sis, user_int = row.get("user_id", ""), row.get("user_integration_id", "")
        role = row.get("role", "").lower()
        where = f"(User ID: {user_sis or user_int}, Course ID: {course_sis}, Section ID: {section_sis}, Role: {role})"
        if not course_sis and not section_sis:
            self.warn(name, "No course_id or section_id given for an enrollment")
            return
        if not user_sis and not user_int:
            self.warn(name, "No user_id given for an enrollment")
            return
        status = self._status(name, "enrollment", row, "an enrollment")
        if status is None:
            return
        etype = ROLE_TYPES.get(role)
        if etype is None:
            self.warn(name, f'Improper role "{row.get("role", "")}" for an enrollment')
            return
        course = inst.courses_by_sis.get(course_sis) if course_sis else None
        found = self._section_by_sis(section_sis) if section_sis else None
        section = found[1] if found else None
        if course is None and found is None:
            self.warn(name, f"Neither course nor section existed for user enrollment {where}")
            return
        if section_sis and found is None:
            self.warn(name, f"An enrollment referenced a non-existent section {section_sis}")
            return
        if course is not None and found is not None and found[0] is not course:
            self.warn(
                name,
                f"An enrollment listed a section ({section_sis}) and a course ({course_sis}) that are unrelated for user ({user_sis})",
            )
            return
        course = course or found[0]  # type: ignore[index]
        user = self._user_by_sis(user_sis) if user_sis else self._user_by_integration(user_int)
        if user is None:
            self.warn(name, f"User not found for enrollment {where}")
            return
        associated = None
        if row.get("associated_user_id"):
            observed = self._user_by_sis(row["associated_user_id"])
            associated = observed.id if observed else None
        state = {"deleted_last_completed": "deleted"}.get(status, status)
        target = section or default_section(inst, self.ids, course, self.now)
        existing = next(
            (
                e
                for e in course.enrollments
                if e.user.id == user.id
                and e.type == etype
                and e.section.id == target.id
                and e.associated_user_id == associated
            ),
            None,
        )
        if existing is None and state == "deleted":
            self.counts["enrollments"] += 1
            return
        before = existing.state if existing else None
        limit = row.get("limit_section_privileges")
        enrollment, created = enroll_user(
            inst,
            self.ids,
            course,
            target,
            user,
            etype,
            state,
            self.now,
            associated_user_id=associated,
            limit_privileges=truthy(limit) if limit else None,
        )
        self._count_change("Enrollment", before, enrollment.state, created)
        self.supplied_ids["enrollment"].add(enrollment.id)
        self.sis_touched.add(("enrollment", enrollment.id))
        self.counts["enrollments"] += 1

    def _count_change(self, cls: str, before: str | None, after: str, created: bool) -> None:
        if created:
            self.stats[cls]["created"] += 1
        elif before != after:
            label = {"completed": "concluded", "inactive": "deactivated", "deleted": "deleted"}.get(
                after, "restored"
            )
            self.stats[cls][label] += 1

    # ---- batch mode -----------------------------------------------------------------------------
    def _batch_cleanup(self, supplied: list[str]) -> None:
        """Full batch update of one term: SIS objects of the supplied kinds not in this import go."""
        inst = self.inst
        term_id = self.job.batch_term_id
        courses = [c for c in inst.courses if c.enrollment_term_id == term_id and c.sis_course_id]
        threshold = self.job.params.get("change_threshold")
        plans: dict[str, list[Any]] = {}
        if "course" in supplied:
            plans["course"] = [
                c
                for c in courses
                if c.id not in self.supplied_ids["course"] and c.workflow_state != "deleted"
            ]
        if "section" in supplied:
            plans["section"] = [
                (c, s)
                for c in courses
                for s in c.sections
                if s.sis_section_id and s.id not in self.supplied_ids["section"]
            ]
        if "enrollment" in supplied:
            plans["enrollment"] = [
                (c, e)
                for c in courses
                for e in c.enrollments
                if e.user.sis_user_id and e.state != "deleted" and e.id not in self.supplied_ids["enrollment"]
            ]
        totals = {
            "course": len(courses),
            "section": sum(1 for c in courses for s in c.sections if s.sis_section_id),
            "enrollment": sum(
                1 for c in courses for e in c.enrollments if e.user.sis_user_id and e.state != "deleted"
            ),
        }
        for kind, victims in plans.items():
            if threshold and totals[kind] and len(victims) * 100 / totals[kind] > float(threshold):
                self.warn(
                    "",
                    f"{len(victims)} {PLURAL[kind]} would be deleted and exceeded the set threshold of "
                    f"{threshold}%; batch mode cleanup of {PLURAL[kind]} was skipped",
                )
                continue
            if kind == "course":
                for c in victims:
                    c.workflow_state = "deleted"
                self.counts["batch_courses_deleted"] += len(victims)
            elif kind == "section":
                for c, s in victims:
                    self._delete_section(c, s)
                self.counts["batch_sections_deleted"] += len(victims)
            else:
                for _, e in victims:
                    e.state, e.updated_at = "deleted", self.now
                self.counts["batch_enrollments_deleted"] += len(victims)


def stage_of(job: SisImport, clock: JobClock) -> int:
    """0 created, 1-3 importing, IMPORT_STEPS or more: finished."""
    return min(clock.stage(job.started), NEVER)


def sis_import_json(job: SisImport, stage: int, attachments: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """A SisImport as the API returns it at a given stage."""
    params = job.params
    result = job.result
    if result is not None:
        state, progress = result.workflow_state, 100
    elif stage == 0:
        state, progress = "created", 0
    else:
        state, progress = "importing", (min(stage, IMPORT_STEPS - 1) - 1) * 100 // (IMPORT_STEPS - 1)
    data: dict[str, Any] = {"import_type": params.get("import_type") or "instructure_csv"}
    if result is not None:
        data["supplied_batches"] = result.supplied_batches
        data["counts"] = result.counts
    out: dict[str, Any] = {
        "id": job.id,
        "created_at": iso(job.created_at),
        "started_at": iso(job.created_at) if stage > 0 else None,
        "ended_at": iso(job.ended_at),
        "updated_at": iso(job.ended_at or job.created_at),
        "progress": progress,
        "workflow_state": state,
        "data": data,
        "statistics": result.statistics if result else None,
        "batch_mode": truthy(params.get("batch_mode")) or None,
        "batch_mode_term_id": job.batch_term_id,
        "multi_term_batch_mode": truthy(params.get("multi_term_batch_mode")),
        "skip_deletes": truthy(params.get("skip_deletes")),
        "override_sis_stickiness": truthy(params.get("override_sis_stickiness")) or None,
        "add_sis_stickiness": truthy(params.get("add_sis_stickiness")) or None,
        "clear_sis_stickiness": truthy(params.get("clear_sis_stickiness")) or None,
        "diffing_data_set_identifier": params.get("diffing_data_set_identifier") or None,
        "diffing_remaster": truthy(params.get("diffing_remaster_data_set")),
        "diffed_against_import_id": result.diffed_against_import_id if result else None,
        "diffing_drop_status": params.get("diffing_drop_status") or None,
        "diffing_threshold_exceeded": result.diffing_threshold_exceeded if result else False,
        "change_threshold": int(float(params["change_threshold"]))
        if params.get("change_threshold")
        else None,
        "errors_attachment": None,
        "user": {
            "id": job.user.id,
            "name": job.user.name,
            "sortable_name": job.user.sortable_name,
            "short_name": job.user.short_name,
        },
        "csv_attachments": list(attachments),
    }
    if result is not None and result.warnings:
        out["processing_warnings"] = result.warnings
    if result is not None and result.errors:
        out["processing_errors"] = result.errors
    return out


__all__ = ["ImportResult", "SisImport", "SisProcessor", "kind_of", "read_csv", "sis_import_json", "unpack"]
