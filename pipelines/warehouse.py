"""The warehouse a load writes: its destination (one DuckDB file for every shard), DuckDB settings,
and the write lock that makes concurrent loads take turns."""

from __future__ import annotations

import importlib.util
import logging
import os
import re
import time
import weakref
import zlib
from collections import Counter
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import dlt
from dlt.pipeline.pipeline import Pipeline

logger = logging.getLogger(__name__)

# how long a load waits for another shard's load into the same warehouse
DEFAULT_LOCK_TIMEOUT_SECONDS = 3600.0
LOCK_POLL_SECONDS = 0.2
# destination_credentials: per pipeline, (destination and dataset, credentials)
_CREDENTIALS: weakref.WeakKeyDictionary[Pipeline, tuple[Any, Any]] = weakref.WeakKeyDictionary()


def _configured(key: str) -> bool:
    for provider in (dlt.secrets, dlt.config):
        try:
            if provider.get(key) is not None:
                return True
        except Exception:  # a provider that cannot read the key has no value for it
            continue
    return False


def duckdb_settings() -> dict[str, Any]:
    """The DuckDB settings our DuckDB destinations open their connections with: `[warehouse]
    duckdb_settings` in .dlt/config.toml (for example a `memory_limit` on a small machine), else
    none, so DuckDB keeps its own defaults."""
    try:
        return dict(dlt.config.get("warehouse.duckdb_settings", dict) or {})
    except Exception:  # a value that is not a table: the defaults, and the run says nothing else
        logger.warning("[warehouse] duckdb_settings is not a table of DuckDB settings; using the defaults")
        return {}


def duckdb_destination(database: str) -> Any:
    """A DuckDB destination writing `database`, opened with `duckdb_settings()`."""
    from dlt.destinations.impl.duckdb.configuration import DuckDbCredentials

    credentials = DuckDbCredentials(database)
    credentials.global_config = duckdb_settings()
    return dlt.destinations.duckdb(credentials=credentials)


def shared_destination(destination: str, base_pipeline_name: str, pipeline_name: str) -> Any:
    """The destination for a run named `pipeline_name`, writing where the unsharded run writes.

    dlt names the default DuckDB file after the pipeline; a shard's run (named `<base>__<shard>`)
    must still write `<base>.duckdb`, so every shard lands in one warehouse. Configured DuckDB
    credentials, and every other destination, are left to dlt's configuration.

    Args:
        destination: the destination name from the command line (`duckdb`, `postgres`, ...).
        base_pipeline_name: the unsharded pipeline name, e.g. `canvas_pipeline`.
        pipeline_name: the name this run uses.
    """
    if destination == "postgres":
        return _postgres_destination(pipeline_name) or destination
    if destination != "duckdb":
        return destination
    keys = ("destination.duckdb.credentials", f"{pipeline_name}.destination.duckdb.credentials")
    if any(_configured(key) for key in keys):
        return destination
    return duckdb_destination(f"{base_pipeline_name}.duckdb")


def _postgres_destination(pipeline_name: str) -> Any:
    """A Postgres destination for configured credentials without a password (a trust-auth or
    peer-auth server), as a URL or as fields: dlt requires a password, so it gets an empty one.
    None for anything else (dlt's configuration then applies as usual)."""
    for key in (f"{pipeline_name}.destination.postgres.credentials", "destination.postgres.credentials"):
        try:
            value = dlt.secrets.get(key) or dlt.config.get(key)
        except Exception:  # a provider that cannot read the key has no value for it
            continue
        if not value:
            continue
        if (
            isinstance(value, Mapping)
            and value.get("username")
            and value.get("host")
            and not value.get("password")
        ):
            port = f":{value['port']}" if value.get("port") else ""
            value = f"postgresql://{value['username']}@{value['host']}{port}/{value.get('database') or ''}"
        if not isinstance(value, str):
            return None
        url = urlsplit(value)
        if url.scheme.startswith("postgres") and url.username and url.password is None:
            host = url.netloc.rsplit("@", 1)[-1]
            netloc = f"{url.username}:@{host}"
            return dlt.destinations.postgres(credentials=urlunsplit(url._replace(netloc=netloc)))
        return None
    return None


def destination_credentials(pipeline: Pipeline) -> Any:
    """The credentials of the pipeline's destination, resolved once per destination and dataset.

    dlt resolves the whole destination configuration (every provider, every section) on each
    `destination_client()`; a run asks for the credentials several times (the warehouse lock, the
    run report, the summary), which cost about 0.1 s of a Canvas Data 2 run that had nothing new.
    """
    key = (id(pipeline.destination), pipeline.dataset_name)
    cached = _CREDENTIALS.get(pipeline)
    if cached is None or cached[0] != key:
        cached = (key, pipeline.destination_client().config.credentials)  # type: ignore[attr-defined]
        _CREDENTIALS[pipeline] = cached
    return cached[1]


def destination_kind(pipeline: Pipeline) -> str:
    """`duckdb`, `postgres`, ...: the type of the pipeline's destination ('' when it has none)."""
    return pipeline.destination.destination_type.rsplit(".", 1)[-1] if pipeline.destination else ""


def load_file_format(pipeline: Pipeline) -> str | None:
    """The load file format a run uses when the user names none: parquet where it loads fastest and
    keeps every value, else the destination's own (None).

    DuckDB reads parquet itself. Postgres takes parquet through ADBC's binary COPY
    (`adbc-driver-postgresql`, a dependency): dlt otherwise loads Arrow tables by CSV `COPY` with
    `FORCE_NULL` on every nullable column, which turns an empty string into NULL, and writes the CSV
    first (Canvas Data 2 medium into Postgres: 20.2 s against 34.0 s, normalize 0.9 s against
    16.4 s). ADBC cannot write `jsonb` (dlt creates `json` columns for parquet), so a dataset
    whose tables an earlier version created with `jsonb` columns keeps the CSV load, and the run
    says which columns to change.
    """
    kind = destination_kind(pipeline)
    if kind == "duckdb":
        return "parquet"
    if kind != "postgres" or importlib.util.find_spec("adbc_driver_postgresql") is None:
        return None
    legacy = _jsonb_columns(pipeline)
    if legacy:
        logger.warning(
            "%s has jsonb columns (%s) from an earlier version, which the faster parquet load cannot "
            "write: this run loads as before (Arrow tables by CSV, where an empty string arrives as NULL). "
            "To switch, change them to json (ALTER TABLE ... ALTER COLUMN ... TYPE json).",
            pipeline.dataset_name,
            ", ".join(legacy[:5]) + (f" and {len(legacy) - 5} more" if len(legacy) > 5 else ""),
        )
        return None
    return "parquet"


def _jsonb_columns(pipeline: Pipeline) -> list[str]:
    """`schema.table.column` of every jsonb column in the pipeline's dataset and its staging dataset."""
    with pipeline.sql_client() as client:
        dataset = client.dataset_name
        with client.with_staging_dataset():
            staging = client.dataset_name
        rows = client.execute_sql(
            "select table_schema, table_name, column_name from information_schema.columns "
            "where table_schema in (%s, %s) and data_type = 'jsonb' order by 1, 2, 3",
            dataset,
            staging,
        )
    return [".".join(row) for row in rows or []]


def duckdb_database(pipeline: Pipeline) -> str | None:
    """The absolute path of the pipeline's DuckDB file (None for `:memory:` and the like)."""
    credentials = destination_credentials(pipeline)
    database = str(getattr(credentials, "database", "") or "")
    if not database or database.startswith(":"):  # :memory: and the like: nothing to share
        return None
    return os.path.abspath(database)


def _duckdb_lock_path(pipeline: Pipeline) -> str | None:
    database = duckdb_database(pipeline)
    return database + ".lock" if database else None


@contextmanager
def duckdb_file_lock(path: str, timeout: float = DEFAULT_LOCK_TIMEOUT_SECONDS) -> Iterator[None]:
    """Hold an exclusive lock on the file `path` (created if missing), waiting up to `timeout` seconds."""
    import fcntl  # POSIX; the pipelines run on Linux and macOS

    deadline = time.monotonic() + timeout
    with open(path, "a+") as handle:
        waited = False
        while True:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise TimeoutError(
                        f"another load held {path} for more than {timeout:.0f}s; "
                        "check for a stuck run (or load concurrent shards into Postgres)"
                    ) from None
                if not waited:
                    logger.info("waiting for another load into the same DuckDB file (%s)", path)
                    waited = True
                time.sleep(LOCK_POLL_SECONDS)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


@contextmanager
def postgres_advisory_lock(
    pipeline: Pipeline, timeout: float = DEFAULT_LOCK_TIMEOUT_SECONDS
) -> Iterator[None]:
    """Hold a session advisory lock named after the pipeline's dataset, waiting up to `timeout` seconds."""
    import psycopg2

    credentials = destination_credentials(pipeline)
    key = zlib.crc32(f"lms-elt load {pipeline.dataset_name}".encode())
    conn = psycopg2.connect(credentials.to_native_representation())
    try:
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute("set lock_timeout = %s", (f"{int(timeout * 1000)}ms",))
            # a session lock: held until unlocked or the connection ends (a crashed run frees it)
            cur.execute("select pg_advisory_lock(%s)", (key,))
        try:
            yield
        finally:
            with conn.cursor() as cur:
                cur.execute("select pg_advisory_unlock(%s)", (key,))
    finally:
        conn.close()


@contextmanager
def warehouse_write_lock(pipeline: Pipeline, timeout: float = DEFAULT_LOCK_TIMEOUT_SECONDS) -> Iterator[None]:
    """Hold the warehouse for one load at a time: shards extract in parallel and take turns to load.

    DuckDB: an exclusive lock on `<database file>.lock`, because a DuckDB file has one writer
    process at a time (a second one fails to open it). Postgres: an advisory lock per dataset,
    so two shards never create the same table or fill the same staging table at once. Other
    destinations: no lock (a warning says so).

    Args:
        pipeline: a pipeline with its destination set.
        timeout: seconds to wait for another load before giving up with TimeoutError.
    """
    kind = destination_kind(pipeline)
    if kind == "duckdb":
        path = _duckdb_lock_path(pipeline)
        if path is None:
            yield
            return
        with duckdb_file_lock(path, timeout):
            yield
    elif kind == "postgres":
        with postgres_advisory_lock(pipeline, timeout):
            yield
    else:
        logger.warning("%s loads are not serialised: load concurrent shards one at a time", kind or "these")
        yield


def displayable_credentials(pipeline: Pipeline) -> str:
    """The destination as dlt shows it, password hidden ('' when it cannot be told)."""
    try:
        credentials = destination_credentials(pipeline)
        # an empty password (a trust-auth server) is not shown as a hidden one
        return str(credentials.to_url().render_as_string(hide_password=bool(credentials.password)))
    except Exception:  # a destination without URL credentials
        return ""


# DuckDB's memory limit while a package loads, from the package's biggest table: a fixed part
# plus room for the merge's de-duplication window over that table, at least `MIN_LOAD_MEMORY_MB`
# (a 25,000-row Canvas submissions batch failed at 64 MB). The window spills to disk past the
# limit: Canvas Data 2's 100,000-row packages loaded at 128 MB as fast as at the 260 MB that 2 KB
# a row gave (CD2 large: 98.6 against 95.4 s of load, peak 525 against 623 MB). A package that
# needs more is finished without the limit (`_load_package`). Without a limit DuckDB keeps up to
# 80% of the machine's memory in its buffer pool while the file is open
LOAD_MEMORY_BYTES_PER_ROW = 512
LOAD_MEMORY_BASE_MB = 64
MIN_LOAD_MEMORY_MB = 128


def load_memory_limit(biggest_table_rows: int) -> str:
    """The DuckDB `memory_limit` for loading a package whose biggest table has this many rows."""
    window_mb = -(-biggest_table_rows * LOAD_MEMORY_BYTES_PER_ROW // 2**20)
    return f"{max(MIN_LOAD_MEMORY_MB, LOAD_MEMORY_BASE_MB + window_mb)}MB"


# how many `warehouse_kept_open` hold each DuckDB file open in this process (loads run one at a time)
_kept_open: Counter[str] = Counter()


@contextmanager
def warehouse_kept_open(pipeline: Pipeline, biggest_table_rows: int | None = None) -> Iterator[None]:
    """Keep a DuckDB warehouse open while one load step runs (other destinations: nothing to do).

    dlt opens and closes the DuckDB file around every load job; closing the last connection
    checkpoints the whole database, so a package of 20 tables paid 20 opens and checkpoints (at
    Canvas medium about half of the load step, growing with the file). Held open, the jobs share
    one database and the file is checkpointed once, when the step ends; the file is closed again
    between steps, so other processes can read it while the next batch extracts.

    With `biggest_table_rows`, DuckDB's memory limit is set from it (`load_memory_limit`) unless
    `[warehouse] duckdb_settings` sets one. Held inside another (the run's `WarehouseTurn.keep_open`),
    the file stays open and the outermost one checkpoints it.
    """
    if destination_kind(pipeline) != "duckdb":
        yield
        return
    database = duckdb_database(pipeline) or ""
    _kept_open[database] += 1
    try:
        with pipeline.sql_client() as client:
            if biggest_table_rows is not None and "memory_limit" not in duckdb_settings():
                client.execute_sql(f"SET GLOBAL memory_limit = '{load_memory_limit(biggest_table_rows)}'")
            yield
    finally:
        _kept_open[database] -= 1
    if not _kept_open[database]:
        checkpoint_leftover_log(pipeline, biggest_table_rows)


# sizes as DuckDB reads them in `memory_limit` (its units are powers of 1000, the `i` ones of 1024)
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(|b|bytes|kb|mb|gb|tb|kib|mib|gib|tib)\s*$", re.IGNORECASE)
_UNITS = {"": 1, "b": 1, "bytes": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12}
_UNITS.update(kib=2**10, mib=2**20, gib=2**30, tib=2**40)
_warned_logs: set[str] = set()


def size_in_bytes(value: Any) -> int | None:
    """A DuckDB size setting (`"96MB"`, `"2GiB"`, `"1000000"`) in bytes; None when it is not one."""
    match = _SIZE.match(str(value))
    if match is None:
        return None
    return int(float(match.group(1)) * _UNITS[match.group(2).lower()])


def checkpoint_leftover_log(pipeline: Pipeline, biggest_table_rows: int | None = None) -> int:
    """Write into the DuckDB file what a load step left in its write-ahead log; returns the log's bytes.

    DuckDB checkpoints the file when its last connection closes, and a checkpoint that does not fit
    the memory limit is given up without a word: the load's rows stay safe in the `.wal` file, but
    every later open reads the whole log back into memory, and each package adds to it. With
    `[warehouse] duckdb_settings` memory_limit = "96MB", a Canvas medium run left 22, 45 and then
    69 MB of log and peaked at 574 MB (438 MB without the setting). So after a load step a log that
    is still there is checkpointed at once: with the limit raised to the load's own
    (`load_memory_limit`) when a lower one is configured, and the setting to change named once per
    file (the same run then peaked at 486 MB).
    A checkpoint that fails again leaves the log for the next open, as before, with a warning.
    """
    database = duckdb_database(pipeline) if destination_kind(pipeline) == "duckdb" else None
    if database is None:
        return 0
    try:
        size = os.path.getsize(database + ".wal")
    except OSError:
        return 0
    if size == 0:
        return 0
    configured = duckdb_settings().get("memory_limit")
    configured_bytes = size_in_bytes(configured) if configured is not None else None
    limit = load_memory_limit(biggest_table_rows or 0) if configured_bytes is not None else ""
    raise_limit = configured_bytes is not None and configured_bytes < (size_in_bytes(limit) or 0)
    megabytes = f"{size / 2**20:.0f} MB"
    try:
        with pipeline.sql_client() as client:  # opening reads the log back
            if raise_limit:
                client.execute_sql(f"SET GLOBAL memory_limit = '{limit}'")
            client.execute_sql("CHECKPOINT")
    except Exception as exc:
        logger.warning(
            "DuckDB could not checkpoint %s (%s); its write-ahead log (%s) is read back at the next open",
            database,
            str(exc).splitlines()[0],
            megabytes,
        )
        return size
    if raise_limit and database not in _warned_logs:
        _warned_logs.add(database)
        logger.warning(
            "DuckDB could not write this load's rows into %s within [warehouse] duckdb_settings "
            "memory_limit = %r (.dlt/config.toml): %s stayed in its write-ahead log, which every "
            "open reads back into memory; written now with the limit at %s. Raise memory_limit to "
            "at least %s, or remove it",
            database,
            configured,
            megabytes,
            limit,
            limit,
        )
    elif not raise_limit:
        logger.info("checkpointed the %s write-ahead log DuckDB left in %s", megabytes, database)
    return size
