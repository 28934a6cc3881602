"""A local Canvas Data 2 (DAP Query API) over the same synthetic institution as the Canvas REST
sandbox (same size and seed, same rows), following docs/canvas-data-2.md."""

from __future__ import annotations

import hashlib
import logging
import shutil
import tempfile
import time
import weakref
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from ..canvas.advance import Changes, advance_institution
from ..canvas.generator import build_institution
from ..canvas.institution import Institution
from ..canvas.rollcall import RollCall
from ..faults import FaultMiddleware
from ..serving import ServedSandbox, ServerThread
from .app import DapApp, Settings
from .auth import RouteLimits, Tokens
from .lake import Lake, Record
from .records import table_rows, web_log_records
from .tables import Table, default_tables

log = logging.getLogger(__name__)

__all__ = ["CanvasData2Sandbox", "Record", "Table"]


class CanvasData2Sandbox(ServedSandbox):
    """The DAP Query API for one institution.

    Args:
        size: "small", "medium" or "large" (as the Canvas sandbox).
        seed: Seed of the institution (same size and seed: the same rows as the Canvas sandbox).
        institution: Share an institution with a running CanvasSandbox (then `publish()` after its
            `advance()`, or call this sandbox's `advance()`, which does both).
        client_id: Client id the login accepts.
        client_secret: Client secret the login accepts.
        limits: Calls per minute per route, over the defaults (section 10: create job 5, ...).
        job_polls: Job polls before a job completes (2: waiting, running, complete; 0: at once).
        object_rows: Records per object file (a big table's job lists many objects).
        host: Interface to bind.
        port: Port to bind (0 = any free port).
        clock: Wall clock for token expiry (tests move a fake one).
        limit_clock: Clock of the per-minute route limits.
    """

    def __init__(
        self,
        size: str = "small",
        seed: int = 7,
        *,
        institution: Institution | None = None,
        client_id: str = "sandbox-client",
        client_secret: str = "sandbox-secret",
        limits: dict[str, int] | None = None,
        job_polls: int = 2,
        object_rows: int = 100_000,
        host: str = "127.0.0.1",
        port: int = 0,
        clock: Callable[[], float] = time.time,
        limit_clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.size, self.seed, self.host, self.port = size, seed, host, port
        if institution is None:
            institution = build_institution(size, seed)
            # the Canvas sandbox's Roll Call sets the "Roll Call Attendance" grades when it starts
            # (rollcall.py); apply the same, so both sandboxes hold the same institution
            RollCall(institution)
        self.institution = institution
        self.client_id, self.client_secret = client_id, client_secret
        self.tables: dict[tuple[str, str], Table] = default_tables()
        self.lake = Lake(self._rows)
        # query results are written here as object files, one part in memory at a time
        self.workdir = Path(tempfile.mkdtemp(prefix="cd2-sandbox-"))
        self._cleanup = weakref.finalize(self, shutil.rmtree, self.workdir, True)
        key = hashlib.sha256(f"dap-sandbox:{size}:{seed}:{client_secret}".encode()).digest()
        self.tokens = Tokens(key, clock)
        self.settings = Settings(client_id, client_secret, job_polls=job_polls, object_rows=object_rows)
        self.limits = RouteLimits(limits, limit_clock)
        self.app = DapApp(
            self.lake,
            self.tables,
            self.settings,
            self.tokens,
            self.limits,
            clock,
            workdir=self.workdir,
            hold_rows=lambda: self.institution.lock,
        )
        self._faults = FaultMiddleware(
            self.app, throttled=_no_throttle, revoke=lambda environ: None, loop_page=lambda e, r: False
        )
        self._extra_values: dict[tuple[str, str, str], Callable[[Any, dict[str, Any]], Any]] = {}
        self.publish()

    # ---- lifecycle -----------------------------------------------------------------------------
    def start(self) -> CanvasData2Sandbox:
        """Bind and serve in a background thread."""
        if self._server is None:
            # cheroot holds a worker per keep-alive connection; parallel downloads open many
            self._server = ServerThread(self._faults, self.host, self.port, threads=64).start()
            log.info("canvas data 2 sandbox (%s, seed %s) at %s", self.size, self.seed, self.base_url)
        return self

    @property
    def base_url(self) -> str:
        """`http://host:port`: the DAP API base URL (`DAP_API_URL`, `dap --base-url`)."""
        if self._server is None:
            raise RuntimeError("the sandbox is not running; call start() or use it as a context manager")
        return self._server.base_url

    # ---- refreshes -----------------------------------------------------------------------------
    def publish(self) -> dict[str, int]:
        """Commit the institution's current rows as one refresh at its clock.

        Returns:
            Records committed per table (upserts plus deletes).
        """
        inst = self.institution
        with inst.lock:
            at = self._commit_time()
            return {t.name: self.lake.publish(t, self._rows(t), at) for t in self.tables.values()}

    def _commit_time(self) -> int:
        """The institution's clock, or a second after the last refresh when the clock has not moved
        (a refresh without `advance()`: a schema change, a reload), so commits stay ordered."""
        return (
            max(self.institution.clock, self.lake.refreshed_at + 1)
            if self.lake.refreshed_at
            else self.institution.clock
        )

    def advance(self, step: int | None = None) -> Changes:
        """Move the institution a day forward (the Canvas sandbox's advance) and publish the refresh."""
        inst = self.institution
        with inst.lock:
            changes = advance_institution(inst, inst.steps_taken + 1 if step is None else step)
            self.publish()
        return changes

    def _rows(self, table: Table) -> Iterator[tuple[Any, dict[str, Any], int | None]]:
        """The institution's current rows of a table, generated one at a time (hold its lock):
        (key, value, time of the view for a log row, else None)."""
        inst = self.institution
        if table.name == "web_logs":
            rows: Iterator[tuple[Any, dict[str, Any], int | None]] = web_log_records(inst)
        else:
            rows = ((key, value, None) for key, value in table_rows(inst, table.name))
        fills = [(c, self._extra_values.get((table.namespace, table.name, c))) for c in table.extra]
        for key, value, event in rows:
            for column, fill in fills:
                value[column] = fill(key, value) if fill else None
            yield key, value, event

    # ---- schema changes ------------------------------------------------------------------------
    def add_column(
        self,
        namespace: str,
        table: str,
        column: str,
        spec: dict[str, Any],
        fill: Callable[[Any, dict[str, Any]], Any] | None = None,
    ) -> int:
        """A compatible schema change: a new value column (version + 1), filled by `fill(key, value)`
        at the next `publish()`. Returns the new version."""
        t = self.tables[(namespace, table)]
        new = Table(
            t.namespace, t.name, t.key, t.columns, t.version + 1, t.append_only, {**t.extra, column: spec}
        )
        self.tables[(namespace, table)] = new
        if fill is not None:
            self._extra_values[(namespace, table, column)] = fill
        return new.version

    def reload_table(self, namespace: str, table: str) -> int:
        """An incompatible change: the table is reloaded at the clock (version + 1); incrementals from
        before it answer SnapshotRequired. Returns the new version."""
        t = self.tables[(namespace, table)]
        new = Table(t.namespace, t.name, t.key, t.columns, t.version + 1, t.append_only, t.extra)
        self.tables[(namespace, table)] = new
        inst = self.institution
        with inst.lock:
            self.lake.reload(new, self._rows(new), self._commit_time())
        return new.version

    # ---- knobs and truth -----------------------------------------------------------------------
    def fail_next_jobs(self, n: int = 1) -> None:
        """The next n query jobs end `failed` (section 4)."""
        self.settings.fail_jobs = n

    def truth(self, namespace: str, table: str) -> dict[Any, dict[str, Any]]:
        """The live rows of a table in the lake: key -> value columns."""
        with self.institution.lock:
            records, _ = self.lake.snapshot(self.tables[(namespace, table)])
        return {r.key: dict(r.value or {}) for r in records}

    def changed_since(self, namespace: str, table: str, since: int) -> tuple[set[Any], set[Any]]:
        """(upserted keys, deleted keys) committed after `since` (epoch seconds)."""
        with self.institution.lock:
            records, _ = self.lake.incremental(self.tables[(namespace, table)], since, None)
        return {r.key for r in records if r.value is not None}, {r.key for r in records if r.value is None}

    def close(self) -> None:
        """Remove the object files (the sandbox object is not usable for queries afterwards)."""
        self.stop()
        self._cleanup()

    @property
    def refreshed_at(self) -> int:
        """The latest refresh's commit time (epoch seconds)."""
        return self.lake.refreshed_at

    @property
    def requests(self) -> dict[str, int]:
        """Requests served per route."""
        return dict(self.app.requests)


def _no_throttle(plan: Any) -> tuple[int, list[tuple[str, str]], bytes]:
    return (
        429,
        [("Content-Type", "application/json"), ("Retry-After", "1")],
        b'{"error":{"type":"TooManyRequests","uuid":"0","message":"Rate limit exceeded."}}',
    )
