"""SIS imports in the sandbox: unpack the upload, read the Canvas SIS CSVs, apply them to the
institution, and describe the job as GET .../sis_imports/:id does (docs/canvas-api.md section 4.10)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from .institution import Institution
from .jobs import NEVER, IdAllocator, JobClock
from .model import User
from .sis_csv import IDENTITY, KIND_ORDER, PLURAL, CsvFile, read_csv, truthy, unpack
from .sis_people import PeopleRows
from .sis_structure import StructureRows
from .timestamps import iso

# Stages of a job: created, three importing steps (progress 0/33/66), then the end state.
IMPORT_STEPS = 4


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


class SisProcessor(StructureRows, PeopleRows):
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
        super().__init__(inst, ids, job.params, user_status, sis_touched)
        self.job = job
        self.previous = previous

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


__all__ = ["ImportResult", "SisImport", "SisProcessor", "sis_import_json"]
