"""The DAP lake: every table's rows with the commit time (`meta.ts`) of their latest version.

Each `publish()` is one refresh (docs/canvas-data-2.md section 10): the institution's rows are compared
with the lake's, and what changed is committed at the refresh time: new and changed rows as upserts,
vanished rows as hard deletes (tombstones). A snapshot is the live rows; an incremental query is
the rows committed in (since, until], consolidated to their latest version (section 9). The
interval bounds conflict between sources (section 9); `since` exclusive is the reading of the
"data representation" text, and with it a chain `since = previous until` never repeats a row.

Logs (`web_logs`) are append-only: a row is committed once and ages out after 30 days without a
delete record (section 10's retention).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from .records import WEB_LOG_RETENTION_DAYS, Row
from .tables import Table

DAY = 86_400


@dataclass(slots=True)
class Entry:
    """The latest version of one row: its commit time and value (None: deleted)."""

    ts: int
    value: dict[str, Any] | None


@dataclass(frozen=True, slots=True)
class Record:
    """One record of a query result (section 8): key, value (None for a delete) and meta."""

    key: Any
    value: dict[str, Any] | None
    ts: int

    @property
    def action(self) -> str:
        return "U" if self.value is not None else "D"


class SnapshotRequired(Exception):
    """The table was reloaded after `since` (section 6)."""


class OutOfRange(Exception):
    """`since`/`until` outside the range the lake can answer (section 6)."""


class Lake:
    """Committed rows per table, with the time of the latest refresh."""

    def __init__(self) -> None:
        self.entries: dict[tuple[str, str], dict[Any, Entry]] = {}
        self.reloaded_at: dict[tuple[str, str], int] = {}
        self.refreshed_at = 0
        self.lock = threading.RLock()

    def publish(self, table: Table, rows: Iterable[Row], at: int) -> int:
        """Commit the table's current rows at `at`; returns how many records were committed."""
        ident = (table.namespace, table.name)
        with self.lock:
            entries = self.entries.setdefault(ident, {})
            committed = 0
            seen: set[Any] = set()
            for key, value in rows:
                seen.add(key)
                old = entries.get(key)
                if old is None or (old.value != value and not table.append_only):
                    entries[key] = Entry(at, value)
                    committed += 1
            if table.append_only:
                horizon = at - WEB_LOG_RETENTION_DAYS * DAY
                for key in [k for k, e in entries.items() if k not in seen and e.ts <= horizon]:
                    del entries[key]
            else:
                for key, entry in entries.items():
                    if key not in seen and entry.value is not None:
                        entries[key] = Entry(at, None)
                        committed += 1
            self.refreshed_at = max(self.refreshed_at, at)
            return committed

    def reload(self, table: Table, rows: Iterable[Row], at: int) -> None:
        """Replace a table wholesale at `at` (a reload): incrementals from before it need a snapshot."""
        ident = (table.namespace, table.name)
        with self.lock:
            self.entries[ident] = {key: Entry(at, value) for key, value in rows}
            self.reloaded_at[ident] = at
            self.refreshed_at = max(self.refreshed_at, at)

    def snapshot(self, table: Table) -> tuple[list[Record], int]:
        """The live rows and the snapshot's `at` (the latest refresh)."""
        with self.lock:
            entries = self.entries.get((table.namespace, table.name), {})
            records = [Record(k, e.value, e.ts) for k, e in entries.items() if e.value is not None]
            return records, self.refreshed_at

    def incremental(self, table: Table, since: float, until: float | None) -> tuple[list[Record], int]:
        """Records committed in (since, until] and the `until` used (default: the latest commit).

        Raises:
            SnapshotRequired: the table was reloaded after `since`.
            OutOfRange: `since` is after `until` or after the latest refresh.
        """
        ident = (table.namespace, table.name)
        with self.lock:
            end = self.refreshed_at if until is None else int(until)
            if since > self.refreshed_at or since > end:
                raise OutOfRange
            if self.reloaded_at.get(ident, 0) > since:
                raise SnapshotRequired
            entries = self.entries.get(ident, {})
            records = [Record(k, e.value, e.ts) for k, e in entries.items() if since < e.ts <= end]
            return records, end

    def live_count(self, table: Table) -> int:
        """Live rows of a table."""
        with self.lock:
            entries = self.entries.get((table.namespace, table.name), {})
            return sum(1 for e in entries.values() if e.value is not None)


RowSource = Callable[[Table], Iterable[Row]]
