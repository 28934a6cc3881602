"""Loads of both sandboxes under a privacy policy, and scanners that look for personal data everywhere."""

from __future__ import annotations

import gzip
import hashlib
import hmac
import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import dlt
import pyarrow.parquet

from sandbox.brightspace import BrightspaceSandbox
from sandbox.canvas import CanvasSandbox
from sources.brightspace import brightspace_source, connect
from sources.canvas import CanvasApi, canvas_source
from sources.canvas.account_reports import canvas_account_reports
from sources.lms_http.jobs import JobPoller, PollPolicy
from sources.lms_http.retry import RetryPolicy
from sources.sis_roster import sis_roster_source

FAST = RetryPolicy(max_attempts=10, base_delay=0.05, max_delay=1.0)
FAST_POLL = PollPolicy(first_delay=0.05, factor=2.0, max_delay=0.5, timeout=60.0)
KEY = "test-hash-key-0123456789abcdef"
OTHER_KEY = "another-hash-key-fedcba9876543210"
ALL = ("names", "emails", "login_ids", "sis_ids", "other")


def policy(action: str, key: str | None = KEY, sis_ids: str | None = None) -> dict[str, Any]:
    """Every category set to `action` (SIS ids to `sis_ids` when given), with the hash key."""
    out: dict[str, Any] = dict.fromkeys(ALL, action)
    if sis_ids is not None:
        out["sis_ids"] = sis_ids
    if key is not None:
        out["hash_key"] = key
    return out


def expected_hash(key: str, category: str, value: Any) -> Any:
    """The pseudonym docs/privacy.md documents: HMAC-SHA256(key, "<category>:<value>"), e-mails and
    login ids case-folded; None stays None. Written out here so the test does not trust the code."""
    if value is None or value == "":
        return value
    text = str(value).strip()
    if category in ("emails", "login_ids"):
        text = text.casefold()
    return hmac.new(key.encode(), f"{category}:{text}".encode(), hashlib.sha256).hexdigest()


class _Clock:
    """A fake clock for the account report poller (the sandbox's jobs advance on it)."""

    def __init__(self) -> None:
        self.now = 0.0

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def load_canvas(
    destination: Any,
    sandbox: CanvasSandbox,
    privacy: dict[str, Any],
    inputs: Path | None = None,
    dataset: str = "canvas",
    pipeline_name: str = "privacy_canvas",
    resources: Iterable[str] | None = None,
    reports: bool = False,
) -> dlt.Pipeline:
    """Canvas (with its Roll Call reports and SIS roster when `inputs` is a folder, and the account
    reports when `reports`) under `privacy`, into `destination` / `dataset`."""
    pipeline = dlt.pipeline(pipeline_name, destination=destination, dataset_name=dataset)
    api = CanvasApi(sandbox.base_url, sandbox.admin_token, policy=FAST)
    rollcall = None
    data: list[Any] = []
    if inputs is not None:
        sandbox.write_rollcall_reports(inputs / "rollcall")
        rollcall = str(inputs / "rollcall")
        roster = sandbox.write_sis_roster(inputs / "canvas_sis_roster.csv")
        data.append(sis_roster_source(str(roster), privacy=privacy))
    source = canvas_source(
        rollcall_bucket_url=rollcall,
        api=api,
        privacy=privacy,
    )
    if resources:
        source = source.with_resources(*resources)
    if reports:
        clock = _Clock()
        sandbox.job_clock = clock.clock
        sandbox.job_step_seconds = 1.0
        poller = JobPoller(
            PollPolicy(first_delay=0.5, factor=2.0, max_delay=4.0, timeout=600.0),
            lms="Canvas",
            sleep=clock.sleep,
            clock=clock.clock,
        )
        data.append(
            canvas_account_reports(
                base_url=sandbox.base_url, access_token="unused", api=api, poller=poller, privacy=privacy
            )
        )
    info = pipeline.run([source, *data])
    assert not info.has_failed_jobs
    return pipeline


def load_brightspace(
    destination: Any,
    sandbox: BrightspaceSandbox,
    token_file: Path,
    privacy: dict[str, Any],
    inputs: Path | None = None,
    dataset: str = "brightspace",
    resources: Iterable[str] | None = None,
) -> dlt.Pipeline:
    """Brightspace (with its SIS roster when `inputs` is a folder) under `privacy`."""
    pipeline = dlt.pipeline("privacy_brightspace", destination=destination, dataset_name=dataset)
    api = connect(
        sandbox.base_url,
        sandbox.client_id,
        sandbox.client_secret,
        sandbox.initial_refresh_token,
        token_url=sandbox.token_url,
        refresh_token_file=str(token_file),
        policy=FAST,
        poll_policy=FAST_POLL,
    )
    source = brightspace_source(
        api=api,
        privacy=privacy,
    )
    if resources:
        source = source.with_resources(*resources)
    data: list[Any] = []
    if inputs is not None:
        roster = sandbox.write_sis_roster(inputs / "brightspace_sis_roster.csv")
        data.append(sis_roster_source(str(roster), privacy=privacy))
    info = pipeline.run([source, *data])
    assert not info.has_failed_jobs
    return pipeline


def query(pipeline: dlt.Pipeline, sql: str) -> list[tuple[Any, ...]]:
    with pipeline.sql_client() as client:
        return [tuple(r) for r in client.execute_sql(sql)]


def destination_columns(pipeline: dlt.Pipeline) -> set[tuple[str, str, str]]:
    """(schema, table, column) of every table in the DuckDB file, staging schemas included."""
    rows = query(
        pipeline,
        "select table_schema, table_name, column_name from information_schema.columns "
        "where table_schema not in ('information_schema', 'pg_catalog', 'main')",
    )
    return {(str(s), str(t), str(c)) for s, t, c in rows}


def destination_text_cells(pipeline: dlt.Pipeline) -> set[str]:
    """Every distinct text value in every table of the DuckDB file (staging schemas included)."""
    cells: set[str] = set()
    with pipeline.sql_client() as client:
        columns = client.execute_sql(
            "select table_schema, table_name, column_name from information_schema.columns "
            "where table_schema not in ('information_schema', 'pg_catalog', 'main') "
            "and data_type in ('VARCHAR', 'JSON')"
        )
        for schema, table, column in columns:
            sql = f'select distinct cast("{column}" as varchar) from "{schema}"."{table}" where "{column}" is not null'
            cells.update(str(value) for (value,) in client.execute_sql(sql))
    return cells


def working_files(pipeline: dlt.Pipeline) -> Iterator[tuple[Path, str]]:
    """(path, text) of every file in the pipeline's working folder: load packages (decompressed),
    schemas, state and trace."""
    for path in sorted(Path(pipeline.working_dir).rglob("*")):
        if not path.is_file():
            continue
        data = path.read_bytes()
        if data[:4] == b"PAR1":
            # parquet pages are compressed and binary: read the values (raw bytes could hide a
            # value, and their noise can look like an e-mail address)
            rows = pyarrow.parquet.read_table(path).to_pylist()
            yield path, json.dumps(rows, default=str)
            continue
        if data[:2] == b"\x1f\x8b":
            data = gzip.decompress(data)
        yield path, data.decode("utf-8", errors="replace")


def loaded_packages(pipeline: dlt.Pipeline) -> list[Path]:
    """The load package folders the pipeline kept after loading."""
    return sorted(p for p in (Path(pipeline.working_dir) / "load" / "loaded").iterdir() if p.is_dir())
