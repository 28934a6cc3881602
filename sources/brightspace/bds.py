"""Brightspace Data Sets: the catalogue (`datasets/bds`), its extracts, and one resource per data set.

Each data set has a Full plugin (weekly extracts of the whole set) and a Differential plugin (daily
extracts of the rows changed since the one before, kept 14 days; docs/brightspace-api.md section 6.1). A
resource keeps a watermark in its dlt state: the id and CreatedDate of the newest extract it applied,
committed with the load package that holds its rows, so a run that dies before its package is loaded
applies the same extracts again.

Each run:
- loads the latest Full (the table is replaced) when there is no watermark, when the watermark is older
  than the oldest differential still kept (a gap: a differential was missed), or, for a data set without
  an IsDeleted column, when a newer Full exists (a differential cannot say that such a row left: the
  weekly Full is the only way removals arrive);
- then applies every Differential newer than the Full or the watermark, oldest first, merged on the data
  set's key; a row flagged IsDeleted is removed from the table (dlt `hard_delete`), not kept flagged.
Differentials are read first and folded by key (the newest version of a row wins), so a Full is
streamed once, with the changed rows swapped in. A data set this source has no key for (any data set
outside `bds_catalogue`) is loaded from each new Full, every column as text.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import dlt
from dlt.sources import DltResource

from ..lms_http.errors import LmsApiError, LmsNotFoundError, LmsPermissionError
from .bds_catalogue import BDS_SCOPE_HINT, DataHubSet
from .datahub import DataSetNotFoundError, column_hints, parse_utc, primary_key_of, read_csv_rows, snake_case
from .helpers import BrightspaceApi

logger = logging.getLogger(__name__)

FULL, DIFFERENTIAL = "Full", "Differential"


@dataclass(frozen=True)
class ExtractInfo:
    """One extract of a data set's plugin."""

    id: str
    kind: str
    created: datetime
    link: str

    def watermark(self) -> dict[str, str]:
        """The state kept after applying this extract."""
        return {"extract_id": self.id, "created": self.created.isoformat(), "kind": self.kind}


@dataclass(frozen=True)
class ExtractPlan:
    """What a run applies: a Full to load first (or None), then Differentials, oldest first."""

    full: ExtractInfo | None
    differentials: list[ExtractInfo]

    @property
    def last(self) -> ExtractInfo | None:
        """The newest extract applied."""
        return self.differentials[-1] if self.differentials else self.full


def plan_extracts(
    data_set: DataHubSet, fulls: list[ExtractInfo], diffs: list[ExtractInfo], watermark: dict[str, Any] | None
) -> ExtractPlan:
    """Choose the extracts to apply (lists oldest first; the watermark from dlt state).

    Raises:
        LmsApiError: a Full is needed and Brightspace lists none.
    """
    latest_full = fulls[-1] if fulls else None
    applied = parse_utc(watermark["created"]) if watermark else None
    newer_full = latest_full is not None and (applied is None or latest_full.created > applied)
    if not data_set.primary_key:  # no key to merge on: each new Full replaces the table
        return ExtractPlan(latest_full if newer_full else None, [])
    reload = (
        applied is None
        or (bool(diffs) and applied < diffs[0].created)  # the differential after ours is gone
        or (not diffs and newer_full)
        or (newer_full and not data_set.has_is_deleted)
    )
    if not reload:
        return ExtractPlan(None, [d for d in diffs if applied is not None and d.created > applied])
    if latest_full is None:
        raise LmsApiError(f"Brightspace lists no Full extract of {data_set.name}; it cannot be loaded yet.")
    return ExtractPlan(latest_full, [d for d in diffs if d.created > latest_full.created])


def _extract_info(block: dict[str, Any]) -> ExtractInfo:
    link = str(block.get("DownloadLink") or "")
    # the id's field name is not documented: ExtractId, else the link's .../extracts/{id}/download
    parts = urlsplit(link).path.rstrip("/").split("/")
    fallback = parts[-2] if len(parts) > 2 and parts[-1] == "download" else link
    return ExtractInfo(
        str(block.get("ExtractId") or fallback),
        str(block.get("BdsType") or ""),
        parse_utc(str(block["CreatedDate"])),
        link,
    )


class BdsCatalogue:
    """The BDS catalogue one API client sees, listed once per run and shared by the resources."""

    def __init__(self, api: BrightspaceApi) -> None:
        self.api = api
        self._entries: dict[str, dict[str, Any]] | None = None
        self._error: LmsApiError | None = None
        self._lock = threading.Lock()

    def entry(self, name: str) -> dict[str, Any]:
        """The `datasets/bds` entry of a data set, by its Full plugin's Name (case-insensitive).

        Raises:
            DataSetNotFoundError: the catalogue does not show this app the data set.
            LmsPermissionError: the app may not list the catalogue at all.
        """
        with self._lock:
            if self._entries is None and self._error is None:
                try:
                    self._entries = {
                        str(block["Full"].get("Name", "")).strip().lower(): block
                        for page in self.api.pages(self.api.lp("datasets/bds"))
                        for block in page
                        if isinstance(block, dict) and isinstance(block.get("Full"), dict)
                    }
                except (LmsPermissionError, LmsNotFoundError) as exc:
                    self._error = exc
            if self._error is not None:
                raise LmsPermissionError(
                    f"Brightspace refused the Data Hub's catalogue (datasets/bds): {self._error}; "
                    f"{BDS_SCOPE_HINT}."
                ) from None
            assert self._entries is not None
            found = self._entries.get(name.strip().lower())
        if found is None:
            raise DataSetNotFoundError(
                f"Brightspace's Data Hub shows this app no data set named {name!r} in datasets/bds: "
                f"{BDS_SCOPE_HINT}, or leave it out of [sources.brightspace] data_sets."
            )
        return found

    def extracts(self, entry: dict[str, Any], kind: str) -> list[ExtractInfo]:
        """The extracts of the entry's Full or Differential plugin, oldest first."""
        plugin = entry.get(kind) or {}
        if not plugin.get("PluginId"):
            return []
        route = self.api.lp(f"datasets/bds/{entry['SchemaId']}/plugins/{plugin['PluginId']}/extracts")
        blocks = self.api.rows(route)
        extracts = [_extract_info(b) for b in blocks if str(b.get("BdsType", kind)).lower() == kind.lower()]
        return sorted(extracts, key=lambda e: e.created)

    def download(self, extract: ExtractInfo) -> bytes:
        """An extract's ZIP, from its DownloadLink with the app's Bearer token (KB 1130)."""
        base = urlsplit(self.api.base_url)
        link = urlsplit(extract.link)
        if link.netloc and link.netloc != base.netloc:
            return self.api.download(extract.link)
        return self.api.download(link.path.lstrip("/") + (f"?{link.query}" if link.query else ""))


def bds_resource(
    api: BrightspaceApi, catalogue: BdsCatalogue, data_set: DataHubSet, strict: bool = False
) -> DltResource:
    """The resource loading one Brightspace Data Set (Full, then Differentials; see the module)."""
    key = data_set.primary_key

    def key_of(row: dict[str, Any]) -> tuple[Any, ...]:
        return tuple(row.get(c) for c in key)

    def rows_of(extract: ExtractInfo) -> Iterator[list[dict[str, Any]]]:
        return read_csv_rows(catalogue.download(extract), data_set)

    columns = column_hints(data_set)
    flags = "is_deleted" in columns and bool(key)

    def hinted(batch: list[dict[str, Any]], full: bool) -> Any:
        # a Full replaces the table; differentials merge, and delete the rows they flag IsDeleted
        # (hard_delete is set only then: dlt warns about it on a replace)
        extra: list[dict[str, Any]] = []
        if flags:
            extra.append({**columns["is_deleted"], "name": "is_deleted", "hard_delete": not full})
        if not data_set.types and batch:  # an untyped data set: text, not what dlt would infer
            extra += [{"name": snake_case(c), "data_type": "text", "nullable": True} for c in batch[0]]
        hints = dlt.mark.make_hints(write_disposition="replace" if full else "merge", columns=extra or None)
        return dlt.mark.with_hints(batch, hints)

    def load() -> Iterator[Any]:
        state = dlt.current.resource_state()
        try:
            entry = catalogue.entry(data_set.name)
        except LmsPermissionError as exc:
            if strict:
                raise
            logger.warning("skipping %s: %s", data_set.table, exc)
            api.stats.record_skipped(data_set.table, "data_set", data_set.name, str(exc))
            return
        fulls = catalogue.extracts(entry, FULL)
        diffs = catalogue.extracts(entry, DIFFERENTIAL) if key else []
        plan = plan_extracts(data_set, fulls, diffs, state.get("watermark"))
        if plan.last is None:
            return  # nothing newer than what the table holds
        changes: dict[tuple[Any, ...], dict[str, Any]] = {}
        for diff in plan.differentials:  # oldest first: the newest version of a row wins
            for chunk in rows_of(diff):
                changes.update((key_of(row), row) for row in chunk)
        if plan.full is not None:
            logger.info(
                "%s: Full %s + %d differential(s)", data_set.name, plan.full.id, len(plan.differentials)
            )
            for chunk in rows_of(plan.full):
                batch = []
                for row in chunk:
                    row = changes.pop(key_of(row), row) if key else row
                    if not row.get("IsDeleted"):
                        batch.append(row)
                yield hinted(batch, full=True)
            rest = [row for row in changes.values() if not row.get("IsDeleted")]
            if rest:
                yield hinted(rest, full=True)
        else:
            logger.info("%s: %d differential(s)", data_set.name, len(plan.differentials))
            rows = list(changes.values())
            for start in range(0, len(rows), 5000):
                yield hinted(rows[start : start + 5000], full=False)
        # committed with this package: a run that dies first applies the same extracts again
        state["watermark"] = plan.last.watermark()

    return dlt.resource(
        load,
        name=data_set.table,
        primary_key=primary_key_of(data_set) if key else None,
        write_disposition="merge" if key else "replace",
        columns={
            name: {k: v for k, v in hint.items() if k != "hard_delete"} for name, hint in columns.items()
        },
    )
