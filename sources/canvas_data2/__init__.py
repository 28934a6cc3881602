"""Canvas Data 2 (Instructure's DAP Query API) as a dlt source: a snapshot per table on the first
run, then incremental changes from the last `until`, merged on the table's key with deletes applied.

Facts are from docs/canvas-data-2.md. Per table and run:
1. fetch the schema (section 11): column types become dlt hints; a new version that only adds
   columns evolves the table, one that removes or retypes a column stops with a message naming
   how to take a new snapshot (`resnapshot`);
2. query: a snapshot (`replace`) when the table has no `until` in state or is listed in
   `resnapshot`, else an incremental from the stored `until` (`merge` on the key); `D` records
   delete their row (dlt's `hard_delete` hint on `_dap_deleted`), `meta.ts` is kept as `_dap_ts`;
3. keep the job's `until` (or the snapshot's `at`) and the schema version in the resource state,
   committed with the load package, so the next run continues from there.
Jobs are created within DAP's per-minute limit, objects downloaded in parallel.

Bounded batches: with `objects_per_batch` set, one extract takes at most that many objects of each
table's job; the job (its id, objects and where it stopped) waits in the resource state, committed
with the package, and the next extract (`pending_only`) continues it. A snapshot's first batch
replaces the table, the later ones merge on the key; the `until` moves only with the job's last
batch. So each package holds a bounded number of rows, and a run killed between batches continues
where the last committed package stopped (a replayed batch merges the same rows again).

Objects are asked for as parquet (condensed) and handed to dlt as Arrow tables typed from the DAP
schema (arrow_objects.py); `file_format="jsonl"` reads JSONL rows instead.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Optional

import dlt
import orjson
from dlt.common.typing import TSecretStrValue
from dlt.extract.resource import DltResource

from ..lms_http.errors import LmsNotFoundError
from ..lms_http.jobs import PollPolicy
from .arrow_objects import arrow_schema, parquet_object
from .client import DapClient, JobResult, SnapshotRequiredError
from .schema import column_types, dlt_columns, incompatible_changes, key_column
from .settings import (
    CREDENTIALS_HINT,
    DEFAULT_BASE_URL,
    DELETED_COLUMN,
    DOWNLOAD_WORKERS,
    JOBS_PER_MINUTE,
    MART_TABLES,
    META_TS_COLUMN,
    NAMESPACES,
)

logger = logging.getLogger(__name__)

BATCH_ROWS = 10_000
MERGE = {"disposition": "merge", "strategy": "delete-insert"}
FILE_FORMATS = ("parquet", "jsonl")
JOB_STATE = "job"  # the resource state's unfinished job: id, objects, next object, kind, watermark

__all__ = ["DapClient", "TableChangedError", "canvas_data2", "pending_tables", "resolve_tables"]


class TableChangedError(Exception):
    """A table's schema changed in a way merging cannot follow, or DAP asks for a new snapshot."""


def resolve_tables(
    selection: str | Sequence[str] | None, client: DapClient | None = None
) -> list[tuple[str, str]]:
    """(namespace, table) pairs for a selection: None = the mart tables, `all` = every table of the
    canvas and canvas_logs namespaces, else names like `users` or `canvas_logs.web_logs`."""
    if selection is None:
        names: Sequence[str] = MART_TABLES
    elif isinstance(selection, str):
        names = [n.strip() for n in selection.split(",") if n.strip()]
    else:
        names = list(selection)
    if list(names) == ["all"]:
        if client is None:
            raise ValueError("`all` needs a client to list the tables")
        return [(ns, t) for ns in NAMESPACES for t in client.list_tables(ns)]
    out = []
    for name in names:
        namespace, _, table = name.rpartition(".")
        if not namespace:
            namespace = "canvas_logs" if table == "web_logs" else "canvas"
        out.append((namespace, table))
    return out


def _snapshot_wanted(resnapshot: str | Sequence[str] | None, namespace: str, table: str) -> bool:
    if resnapshot is None:
        return False
    names = [n.strip() for n in resnapshot.split(",")] if isinstance(resnapshot, str) else list(resnapshot)
    return "all" in names or table in names or f"{namespace}.{table}" in names


@dlt.source(name="canvas_data2", max_table_nesting=0)
def canvas_data2(
    client_id: Optional[str] = dlt.secrets.value,  # noqa: UP045 (dlt reads Optional as "not required")
    client_secret: Optional[TSecretStrValue] = dlt.secrets.value,  # noqa: UP045
    base_url: str = DEFAULT_BASE_URL,
    tables: str | Sequence[str] | None = None,
    resnapshot: str | Sequence[str] | None = None,
    jobs_per_minute: int = JOBS_PER_MINUTE,
    download_workers: int = DOWNLOAD_WORKERS,
    poll_seconds: float = 5.0,
    client: DapClient | None = None,
    file_format: str = "parquet",
    objects_per_batch: int | None = None,
    pending_only: bool = False,
) -> list[DltResource]:
    """The DAP tables as dlt resources, one per table, named as the table.

    Args:
        client_id: DAP client id ([sources.canvas_data2] in .dlt/secrets.toml).
        client_secret: DAP client secret (never logged or kept in state).
        base_url: DAP API gateway (default Instructure's; the sandbox's for the demo).
        tables: Table names (`users`, `canvas_logs.web_logs`, comma-separated or a list), `all`, or
            None for the tables the marts use plus `web_logs`.
        resnapshot: Tables to load from a new snapshot this run (`all` for every selected table),
            after an incompatible schema change or when DAP answers SnapshotRequired.
        jobs_per_minute: Job creations allowed per minute (DAP's limit is 5).
        download_workers: Objects downloaded at once.
        poll_seconds: Seconds between job status polls (the official client polls every 5 s).
        client: A ready client (the pipeline passes one to read its request statistics); the
            connection arguments above are then unused.
        file_format: `parquet` (Arrow tables to dlt) or `jsonl` (rows as dicts).
        objects_per_batch: Objects of each table's job taken by this extract (None: all); the
            rest wait in the resource state for the next extract.
        pending_only: Only continue the jobs waiting in state (a later batch of the same run);
            tables without one yield nothing.
    """
    if client is None and not (client_id and client_secret):
        raise ValueError(f"Canvas Data 2 needs a client id and secret: set {CREDENTIALS_HINT}.")
    if file_format not in FILE_FORMATS:
        raise ValueError(f"file_format must be one of {', '.join(FILE_FORMATS)}, not {file_format!r}.")
    client = client or DapClient(
        base_url,
        str(client_id),
        str(client_secret),
        jobs_per_minute=jobs_per_minute,
        download_workers=download_workers,
        poll=PollPolicy(first_delay=poll_seconds, factor=1.0, max_delay=max(poll_seconds, 0.0)),
    )
    batch = Batch(file_format, objects_per_batch, pending_only)
    return [
        dlt.resource(
            _rows_of(client, namespace, table, _snapshot_wanted(resnapshot, namespace, table), batch),
            name=table,
            write_disposition=MERGE,  # a snapshot run switches its table to replace (see _table_rows)
            parallelized=True,
        )
        for namespace, table in resolve_tables(tables, client)
    ]


class Batch:
    """What one extract takes of each table's job (see the module docstring)."""

    def __init__(self, file_format: str, objects: int | None, pending_only: bool) -> None:
        self.file_format, self.objects, self.pending_only = file_format, objects, pending_only


def pending_tables(resources_state: dict[str, Any]) -> list[str]:
    """Tables whose job has objects left for a later batch (from the source's resource states)."""
    return sorted(name for name, state in resources_state.items() if state.get(JOB_STATE))


def _new_job(
    client: DapClient,
    namespace: str,
    table: str,
    state: dict[str, Any],
    force_snapshot: bool,
    fmt: str,
    schema: dict[str, Any],
    version: int,
) -> dict[str, Any]:
    """Create the run's query job: an incremental from the stored `until`, else a snapshot."""
    types = column_types(schema)
    since = state.get("until")
    query: dict[str, Any] = {"format": fmt, **({"mode": "condensed"} if fmt != "jsonl" else {})}
    if since and not force_snapshot:
        _check_compatible(namespace, table, state, version, types)
        try:
            job = client.query(namespace, table, {**query, "since": since})
        except SnapshotRequiredError as exc:
            raise TableChangedError(
                f"{exc} Take a new snapshot of {namespace}.{table}: {_how_to_resnapshot(table)}."
            ) from None
        snapshot = False
    else:
        job = client.query(namespace, table, query)
        snapshot = True
    return {
        "id": job.id,
        "objects": list(job.objects),
        "next": 0,
        "snapshot": snapshot,
        "format": fmt,
        "mark": _watermark(job),
        "schema_version": job.schema_version,
    }


def _rows_of(
    client: DapClient, namespace: str, table: str, force_snapshot: bool, batch: Batch
) -> Callable[[], Iterator[Any]]:
    """`_table_rows` of one table as a resource function without arguments. Handed a generator
    object instead, dlt looks its module up with `inspect.getmodule`, which scans every loaded
    module once a process: about 50 ms of a 0.7 s no-change rerun (py-spy)."""

    def rows() -> Iterator[Any]:
        yield from _table_rows(client, namespace, table, force_snapshot, batch)

    return rows


def _table_rows(
    client: DapClient, namespace: str, table: str, force_snapshot: bool, batch: Batch
) -> Iterator[Any]:
    state = dlt.current.resource_state()
    pending = state.get(JOB_STATE)
    if pending and force_snapshot and not pending["snapshot"]:
        pending = None  # a new snapshot was asked for: the unfinished incremental goes
    if pending is None and batch.pending_only:
        return
    schema, version = client.schema(namespace, table)
    if pending is None:
        pending = _new_job(
            client, namespace, table, state, force_snapshot, batch.file_format, schema, version
        )
    for attempt in (1, 2):
        first, end = pending["next"], len(pending["objects"])
        if batch.objects is not None:
            end = min(end, first + batch.objects)
        try:
            urls = client.object_urls(pending["objects"][first:end])
            break
        except LmsNotFoundError:
            # the job and its objects expired (section 4: after 24 hours): a new job, from the
            # stored `until` (or a new snapshot); a replayed incremental merges the same rows again
            if attempt == 2:
                raise
            logger.info("canvas_data2 %s.%s: job %s expired; a new one", namespace, table, pending["id"])
            pending = _new_job(
                client, namespace, table, state, pending["snapshot"], batch.file_format, schema, version
            )
    if pending["schema_version"] != version:  # the schema moved since: read it again
        schema, version = client.schema(namespace, table)
    if version != pending["schema_version"] and not pending["snapshot"]:
        _check_compatible(namespace, table, state, version, column_types(schema))
    types = column_types(schema)
    # a snapshot's first batch replaces the table (rows deleted since go too); the rest merge
    disposition: Any = "replace" if pending["snapshot"] and first == 0 else MERGE
    columns = dlt_columns(schema)
    if disposition == "replace":  # nothing to delete in a snapshot; dlt warns on the hint there
        columns[DELETED_COLUMN].pop("hard_delete", None)
    hints = dlt.mark.make_hints(
        columns=columns, primary_key=key_column(schema), write_disposition=disposition
    )
    decode = _arrow_batches(schema) if pending["format"] == "parquet" else _json_batches
    emitted = False
    for item in decode(client.download_all([urls[o] for o in pending["objects"][first:end]])):
        yield dlt.mark.with_hints(item, hints) if not emitted else item
        emitted = True
    if not emitted and disposition == "replace":  # no rows: still declare the table, so a replace empties it
        yield dlt.mark.with_hints([], hints)
    if end < len(pending["objects"]):
        state[JOB_STATE] = {**pending, "next": end}
        logger.info(
            "canvas_data2 %s.%s: %d of %d objects of job %s loaded",
            namespace,
            table,
            end,
            len(pending["objects"]),
            pending["id"],
        )
        return
    state.pop(JOB_STATE, None)
    state["until"] = pending["mark"]
    state["schema_version"] = version
    state["columns"] = types
    logger.info("canvas_data2 %s.%s loaded up to %s (schema v%d)", namespace, table, state["until"], version)


def _watermark(job: JobResult) -> str:
    """Where the next incremental starts: the job's `until`, or the snapshot's `at` (section 9)."""
    mark = job.until or job.at
    if not mark:
        raise TableChangedError(f"Canvas Data 2 job {job.id} completed without `until` or `at`")
    return mark


def _check_compatible(
    namespace: str, table: str, state: dict[str, Any], version: int, types: dict[str, str]
) -> None:
    old_version, old_types = state.get("schema_version"), state.get("columns") or {}
    if old_version == version:
        return
    problems = incompatible_changes(old_types, types)
    if problems:
        raise TableChangedError(
            f"Canvas Data 2 table {namespace}.{table} changed from schema version {old_version} to "
            f"{version} in a way a merge cannot follow ({'; '.join(problems)}). Take a new snapshot: "
            f"{_how_to_resnapshot(table)}."
        )
    added = sorted(set(types) - set(old_types))
    logger.info("canvas_data2 %s.%s schema v%s -> v%d adds %s", namespace, table, old_version, version, added)


def _how_to_resnapshot(table: str) -> str:
    return (
        f"run the pipeline with --resnapshot {table} "
        f'(or set resnapshot = ["{table}"] under [sources.canvas_data2] in .dlt/config.toml)'
    )


def _arrow_batches(schema: dict[str, Any]) -> Any:
    target = arrow_schema(schema)

    def decode(objects: Iterator[bytes]) -> Iterator[Any]:
        for data in objects:
            for table in parquet_object(data, target):
                if table.num_rows:
                    yield table

    return decode


def _json_batches(objects: Iterator[bytes]) -> Iterator[list[dict[str, Any]]]:
    """Rows of JSONL objects: key and value flattened, meta kept (section 8)."""
    batch: list[dict[str, Any]] = []
    for data in objects:
        for line in data.splitlines():
            if not line.strip():
                continue
            record = orjson.loads(line)
            row: dict[str, Any] = dict(record["key"])
            value = record.get("value")
            meta = record.get("meta") or {}
            deleted = meta.get("action") == "D"
            if value and not deleted:
                row.update(value)
            row[META_TS_COLUMN] = meta.get("ts")
            row[DELETED_COLUMN] = deleted
            batch.append(row)
            if len(batch) >= BATCH_ROWS:
                yield batch
                batch = []
    if batch:
        yield batch
