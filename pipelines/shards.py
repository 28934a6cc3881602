"""Shards of a sync: parse and name them, keep their dlt state apart, and take turns writing the warehouse."""

from __future__ import annotations

import hashlib
import logging
import os
import re
import time
import zlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import dlt
from dlt.pipeline.pipeline import Pipeline

from pipelines.run_report import StageTimer

logger = logging.getLogger(__name__)

# shard kinds, in the order they appear in a key or a pipeline name
KINDS = ("account", "terms", "courses", "org_units")
# a pipeline name lists at most this many ids; longer lists are named by a hash of the ids
MAX_IDS_IN_NAME = 4
# how long a load waits for another shard's load into the same warehouse
DEFAULT_LOCK_TIMEOUT_SECONDS = 3600.0
LOCK_POLL_SECONDS = 0.2


class ShardKeyError(ValueError):
    """A shard key could not be read."""


@dataclass(frozen=True)
class Shard:
    """A part of an institution loaded by one run: an account, terms, courses or org units (or all).

    Attributes:
        account: a Canvas (sub-)account id; its courses and those of its sub-accounts.
        terms: Canvas enrollment term ids.
        courses: Canvas course ids.
        org_units: Brightspace course offering org unit ids.
    """

    account: str | None = None
    terms: tuple[int, ...] = ()
    courses: tuple[int, ...] = ()
    org_units: tuple[int, ...] = ()

    @property
    def is_whole(self) -> bool:
        """True when nothing restricts the run."""
        return not (self.account or self.terms or self.courses or self.org_units)

    def parts(self) -> list[tuple[str, list[str]]]:
        """(kind, ids) for each restriction, in `KINDS` order."""
        values: dict[str, list[str]] = {
            "account": [self.account] if self.account else [],
            "terms": [str(i) for i in self.terms],
            "courses": [str(i) for i in self.courses],
            "org_units": [str(i) for i in self.org_units],
        }
        return [(kind, values[kind]) for kind in KINDS if values[kind]]

    @property
    def key(self) -> str:
        """The shard as text, e.g. `terms=5`, `courses=101+102`, `account=12,terms=5`; `all` when whole."""
        if self.is_whole:
            return "all"
        return ",".join(f"{kind}={'+'.join(ids)}" for kind, ids in self.parts())

    @property
    def slug(self) -> str:
        """The shard as a name part: `terms_5`, `courses_101_102`, or `courses_<hash>` for long lists."""
        names = []
        for kind, ids in self.parts():
            if len(ids) > MAX_IDS_IN_NAME:
                digest = hashlib.sha1("+".join(sorted(ids)).encode()).hexdigest()[:10]
                names.append(f"{kind}_{digest}")
            else:
                names.append("_".join([kind, *(re.sub(r"[^0-9A-Za-z]+", "_", i) for i in ids)]))
        return "__".join(names)

    @classmethod
    def parse(cls, key: str) -> Shard:
        """Read a shard key (see `key`).

        Args:
            key: e.g. `terms=5`, `account=12`, `courses=101+102`, `org_units=6606+6607`, or `all`.

        Raises:
            ShardKeyError: the key names an unknown kind or a non-numeric id.
        """
        key = key.strip()
        if key in ("", "all"):
            return cls()
        found: dict[str, Any] = {}
        for part in key.split(","):
            kind, sep, ids = part.partition("=")
            kind = kind.strip()
            if not sep or kind not in KINDS or not ids.strip():
                raise ShardKeyError(
                    f"cannot read shard {key!r}: write kind=id+id, with kind one of {', '.join(KINDS)} "
                    "(e.g. terms=5, account=12, courses=101+102), parts joined by commas"
                )
            values = [v.strip() for v in ids.split("+") if v.strip()]
            if kind == "account":
                found[kind] = values[0]
                continue
            try:
                found[kind] = tuple(int(v) for v in values)
            except ValueError:
                raise ShardKeyError(f"cannot read shard {key!r}: {kind} ids must be numbers") from None
        return cls(**found)


def shard_pipeline_name(base: str, shard: Shard) -> str:
    """The dlt pipeline name of a shard's runs: `base` for a whole run, else `base__<slug>`.

    Each shard gets its own name so that its local working dir, its load packages and its state
    (incremental cursors) in the destination's `_dlt_pipeline_state` never mix with another shard's.
    """
    return base if shard.is_whole else f"{base}__{shard.slug}"


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
    if destination != "duckdb":
        return destination
    keys = ("destination.duckdb.credentials", f"{pipeline_name}.destination.duckdb.credentials")
    if any(_configured(key) for key in keys):
        return destination
    return duckdb_destination(f"{base_pipeline_name}.duckdb")


def _duckdb_lock_path(pipeline: Pipeline) -> str | None:
    credentials = pipeline.destination_client().config.credentials  # type: ignore[attr-defined]
    database = str(getattr(credentials, "database", "") or "")
    if not database or database.startswith(":"):  # :memory: and the like: nothing to share
        return None
    return os.path.abspath(database) + ".lock"


@contextmanager
def _file_lock(path: str, timeout: float) -> Iterator[None]:
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
def _postgres_lock(pipeline: Pipeline, timeout: float) -> Iterator[None]:
    import psycopg2

    credentials = pipeline.destination_client().config.credentials  # type: ignore[attr-defined]
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
    kind = pipeline.destination.destination_type.rsplit(".", 1)[-1] if pipeline.destination else ""
    if kind == "duckdb":
        path = _duckdb_lock_path(pipeline)
        if path is None:
            yield
            return
        with _file_lock(path, timeout):
            yield
    elif kind == "postgres":
        with _postgres_lock(pipeline, timeout):
            yield
    else:
        logger.warning("%s loads are not serialised: load concurrent shards one at a time", kind or "these")
        yield


# the stages of pipelines.runner.load_and_report that open the destination
DESTINATION_STAGES = frozenset({"pending", "load", "report"})


class WarehouseStageTimer(StageTimer):
    """A stage timer that takes the warehouse write lock at the first stage that opens the destination.

    Extraction and normalization run unlocked, so concurrent shards extract in parallel; from the
    load on (row counts and the SQL models included) the run holds the lock until `locked_from`
    ends.
    """

    def __init__(self) -> None:
        super().__init__()
        self._lock: Any = None
        self._pipeline: Pipeline | None = None

    @contextmanager
    def locked_from(self, pipeline: Pipeline) -> Iterator[WarehouseStageTimer]:
        """Arm the lock for `pipeline`; release it (if taken) when the block ends."""
        self._pipeline = pipeline
        try:
            yield self
        finally:
            lock, self._lock, self._pipeline = self._lock, None, None
            if lock is not None:
                lock.__exit__(None, None, None)

    def run(self, name: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
        if name in DESTINATION_STAGES and self._lock is None and self._pipeline is not None:
            lock = warehouse_write_lock(self._pipeline)
            started = time.perf_counter()
            lock.__enter__()
            self._lock = lock
            self.seconds["wait_for_warehouse"] = round(time.perf_counter() - started, 3)
        return super().run(name, fn, *args, **kwargs)


def shard_from_args(
    account: str | None = None,
    terms: Sequence[int] | None = None,
    courses: Sequence[int] | None = None,
    org_units: Sequence[int] | None = None,
) -> Shard:
    """The shard a command line selects (`self`, the root account, is no restriction)."""
    return Shard(
        account=account if account and account != "self" else None,
        terms=tuple(terms or ()),
        courses=tuple(courses or ()),
        org_units=tuple(org_units or ()),
    )
