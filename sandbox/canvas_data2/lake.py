"""The DAP lake: every table's rows with the commit time (`meta.ts`) of their latest version.

Each `publish()` is one refresh (docs/canvas-data-2.md section 10): the institution's rows are compared
with the lake's, and what changed is committed at the refresh time: new and changed rows as upserts,
vanished rows as hard deletes (tombstones). A snapshot is the live rows; an incremental query is
the rows committed in (since, until], consolidated to their latest version (section 9). The
interval bounds conflict between sources (section 9); `since` exclusive is the reading of the
"data representation" text, and with it a chain `since = previous until` never repeats a row.

The lake keeps no values: per live row only its commit time and a fingerprint of its value (to see
a change at the next refresh), per deleted row its key and delete time. Values are generated again
from the institution when a query reads them (the lake's latest refresh is the institution's state
at its last `publish()`), so a `large` institution's millions of rows cost a few dozen bytes each.

Logs (`web_logs`, millions of rows at `large`) are append-only: a row is committed once (by the
refresh that first saw it) and ages out, without a delete record, when it leaves the institution's 30
days of logs (section 10's retention). They are indexed by a 64-bit hash of the key and the commit
time, in two sorted NumPy arrays (16 bytes a row).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from .tables import Table

DAY = 86_400
_FP_BITS = 64
_FP_MASK = (1 << _FP_BITS) - 1


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


def fingerprint(value: dict[str, Any]) -> int:
    """A 64-bit fingerprint of a row's value (stable within the process, which holds the lake)."""
    return hash(repr(value)) & _FP_MASK


TimedRow = tuple[Any, dict[str, Any], int | None]  # key, value, time of a log row's event (else None)
RowSource = Callable[[Table], Iterable[TimedRow]]


class Lake:
    """Commit times of the rows per table, with the time of the latest refresh.

    Args:
        rows: The institution's current rows of a table (the values a query serves).
    """

    def __init__(self, rows: RowSource) -> None:
        self.rows = rows
        self.live: dict[tuple[str, str], dict[Any, int]] = {}  # key -> ts << 64 | fingerprint
        self.deleted: dict[tuple[str, str], dict[Any, int]] = {}  # key -> delete time
        self.reloaded_at: dict[tuple[str, str], int] = {}
        # append-only tables: (sorted key hashes, their commit times)
        self.logs: dict[tuple[str, str], tuple[np.ndarray, np.ndarray]] = {}
        self.refreshed_at = 0
        self.lock = threading.RLock()

    def _refreshed(self, at: int) -> None:
        self.refreshed_at = max(self.refreshed_at, at)

    def _publish_log(self, ident: tuple[str, str], rows: Iterable[TimedRow], at: int, reload: bool) -> int:
        hashes = np.unique(np.fromiter((hash(key) for key, _, _ in rows), dtype=np.int64))
        old_hashes, old_ts = self.logs.get(ident, (np.empty(0, np.int64), np.empty(0, np.int64)))
        if len(old_hashes) and not reload:
            pos = np.minimum(np.searchsorted(old_hashes, hashes), len(old_hashes) - 1)
            seen = old_hashes[pos] == hashes
            ts = np.where(seen, old_ts[pos], at)
        else:
            seen, ts = np.zeros(len(hashes), bool), np.full(len(hashes), at, np.int64)
        self.logs[ident] = (hashes, ts)
        return int((~seen).sum())

    def _log_ts(self, ident: tuple[str, str], key: Any) -> int | None:
        hashes, ts = self.logs.get(ident, (np.empty(0, np.int64), np.empty(0, np.int64)))
        i = int(np.searchsorted(hashes, hash(key)))
        return int(ts[i]) if i < len(hashes) and hashes[i] == hash(key) else None

    def publish(self, table: Table, rows: Iterable[TimedRow], at: int) -> int:
        """Commit the table's current rows at `at`; returns how many records were committed."""
        ident = (table.namespace, table.name)
        with self.lock:
            if table.append_only:
                self._refreshed(at)
                return self._publish_log(ident, rows, at, reload=False)
            old = self.live.get(ident, {})
            deleted = self.deleted.setdefault(ident, {})
            live: dict[Any, int] = {}
            committed = 0
            for key, value, _ in rows:
                fp = fingerprint(value)
                packed = old.get(key)
                if packed is None or packed & _FP_MASK != fp:
                    packed = (at << _FP_BITS) | fp
                    committed += 1
                    deleted.pop(key, None)
                live[key] = packed
            for key in old.keys() - live.keys():
                deleted[key] = at
                committed += 1
            self.live[ident] = live
            self._refreshed(at)
            return committed

    def reload(self, table: Table, rows: Iterable[TimedRow], at: int) -> None:
        """Replace a table wholesale at `at` (a reload): incrementals from before it need a snapshot."""
        ident = (table.namespace, table.name)
        with self.lock:
            if table.append_only:
                self._publish_log(ident, rows, at, reload=True)
            else:
                self.live[ident] = {k: (at << _FP_BITS) | fingerprint(v) for k, v, _ in rows}
                self.deleted[ident] = {}
            self.reloaded_at[ident] = at
            self._refreshed(at)

    def check_incremental(self, table: Table, since: float, until: float | None) -> int:
        """The `until` an incremental query over (since, until] uses (default: the latest commit).

        Raises:
            SnapshotRequired: the table was reloaded after `since`.
            OutOfRange: `since` is after `until` or after the latest refresh.
        """
        with self.lock:
            end = self.refreshed_at if until is None else int(until)
            if since > self.refreshed_at or since > end:
                raise OutOfRange
            if self.reloaded_at.get((table.namespace, table.name), 0) > since:
                raise SnapshotRequired
            return end

    def records(self, table: Table, since: float | None = None, end: int | None = None) -> Iterator[Record]:
        """The records of a snapshot (`since` None: the live rows) or of an incremental over
        (since, end], generated one at a time (hold the lock of the institution's rows)."""
        ident = (table.namespace, table.name)
        with self.lock:
            if since is not None and not self._changed(ident, table, since, end):
                return  # nothing committed in the interval: no rows to generate
            if table.append_only:
                for key, value, _ in self.rows(table):
                    ts = self._log_ts(ident, key)
                    if ts is not None and (since is None or since < ts <= (end if end is not None else ts)):
                        yield Record(key, value, ts)
                return
            live = self.live.get(ident, {})
            for key, value, _ in self.rows(table):
                packed = live.get(key)
                if packed is None:  # not published yet
                    continue
                ts = packed >> _FP_BITS
                if since is None or since < ts <= (end if end is not None else ts):
                    yield Record(key, value, ts)
            if since is not None:
                for key, ts in self.deleted.get(ident, {}).items():
                    if since < ts <= (end if end is not None else ts):
                        yield Record(key, None, ts)

    def _changed(self, ident: tuple[str, str], table: Table, since: float, end: int | None) -> bool:
        """Whether any record was committed in (since, end]."""
        top = end if end is not None else self.refreshed_at
        if table.append_only:
            _, ts = self.logs.get(ident, (None, np.empty(0, np.int64)))
            return bool(np.any((ts > since) & (ts <= top)))
        if any(since < t <= top for t in self.deleted.get(ident, {}).values()):
            return True
        return any(since < packed >> _FP_BITS <= top for packed in self.live.get(ident, {}).values())

    def snapshot(self, table: Table) -> tuple[list[Record], int]:
        """The live rows and the snapshot's `at` (the latest refresh); small tables and tests only."""
        with self.lock:
            return list(self.records(table)), self.refreshed_at

    def incremental(self, table: Table, since: float, until: float | None) -> tuple[list[Record], int]:
        """Records committed in (since, until] and the `until` used; small tables and tests only."""
        with self.lock:
            end = self.check_incremental(table, since, until)
            return list(self.records(table, since, end)), end

    def live_count(self, table: Table) -> int:
        """Live rows of a table."""
        ident = (table.namespace, table.name)
        with self.lock:
            if table.append_only:
                return len(self.logs.get(ident, ((),))[0])
            return len(self.live.get(ident, {}))
