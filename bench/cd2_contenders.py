"""The Canvas Data 2 clients a benchmark compares: our pipeline (into DuckDB or Postgres), a plain
download-and-decompress of the same objects (the floor), and the official `dap` CLI into Postgres.

Each runs in a fresh spawned process (bench.runner.in_child), so its peak memory is its own; `dap`
runs as child processes of that one, measured with RUSAGE_CHILDREN.
"""

from __future__ import annotations

import gzip
import os
import resource
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import requests

from bench.contenders import peak_rss_mb
from sources.canvas_data2.settings import DOWNLOAD_WORKERS, MART_TABLES, OBJECT_URL_BATCH

JOB_WORKERS = 8  # our extract runs the table resources on dlt's 8 extract workers (.dlt/config.toml)


def _namespaced(table: str) -> tuple[str, str]:
    namespace, _, name = table.rpartition(".")
    return namespace or "canvas", name


def run_floor(
    base_url: str, client_id: str, client_secret: str, tables: list[str] | None = None
) -> dict[str, Any]:
    """A snapshot job per table (the query ours sends: parquet, condensed), then every object
    downloaded and decompressed where gzip, `DOWNLOAD_WORKERS` at a time; nothing parsed or kept."""
    api = base_url.rstrip("/")
    start = time.perf_counter()
    login = requests.post(
        f"{api}/ids/auth/login",
        auth=(client_id, client_secret),
        data={"grant_type": "client_credentials"},
        timeout=60,
    )
    login.raise_for_status()
    headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
    local = threading.local()

    def session() -> requests.Session:
        if not hasattr(local, "s"):
            local.s = requests.Session()
        return local.s

    def job(table: str) -> list[str]:
        namespace, name = _namespaced(table)
        reply = session().post(
            f"{api}/dap/query/{namespace}/table/{name}/data",
            json={"format": "parquet", "mode": "condensed"},
            headers=headers,
            timeout=600,
        )
        reply.raise_for_status()
        body = reply.json()
        while body["status"] not in ("complete", "failed"):
            time.sleep(0.5)
            body = session().get(f"{api}/dap/job/{body['id']}", headers=headers, timeout=60).json()
        ids = [o["id"] for o in body["objects"]]
        urls = []
        for i in range(0, len(ids), OBJECT_URL_BATCH):
            got = session().post(
                f"{api}/dap/object/url",
                json=[{"id": o} for o in ids[i : i + OBJECT_URL_BATCH]],
                headers=headers,
                timeout=60,
            )
            got.raise_for_status()
            urls += [got.json()["urls"][o]["url"] for o in ids[i : i + OBJECT_URL_BATCH]]
        return urls

    def download(url: str) -> int:
        data = session().get(url, timeout=600).content
        return len(gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data)

    names = list(tables or MART_TABLES)
    with ThreadPoolExecutor(JOB_WORKERS) as pool:
        urls = [u for found in pool.map(job, names) for u in found]
    with ThreadPoolExecutor(DOWNLOAD_WORKERS) as pool:
        size = sum(pool.map(download, urls))
    return {
        "seconds": time.perf_counter() - start,
        "objects": len(urls),
        "bytes": size,
        "rss_mb": peak_rss_mb(),
    }


def run_ours(
    base_url: str,
    client_id: str,
    client_secret: str,
    workdir: str,
    destination: str = "duckdb",
    dataset: str = "canvas_data2",
    postgres_dsn: str | None = None,
    settings: dict[str, str] | None = None,
) -> dict[str, Any]:
    """One run of our Canvas Data 2 pipeline (the CLI's batched load, no SQL models): a snapshot the
    first time in `workdir`, an incremental after. Into DuckDB (parquet) or Postgres (`postgres_dsn`)."""
    os.environ.update(settings or {})
    from pipelines.canvas_data2_pipeline import load_in_batches
    from pipelines.load import LoadRequest, open_pipeline
    from pipelines.warehouse import duckdb_destination
    from sources.canvas_data2.client import DapClient
    from sources.lms_http.jobs import PollPolicy

    Path(workdir).mkdir(parents=True, exist_ok=True)
    client = DapClient(
        base_url,
        client_id,
        client_secret,
        jobs_per_minute=1_000_000,
        poll=PollPolicy(first_delay=0.5, factor=1.0, max_delay=0.5),
    )
    target: Any = "postgres"  # the load library resolves it from the configuration (trust auth)
    if destination == "duckdb":
        target = duckdb_destination(str(Path(workdir) / "cd2.duckdb"))
    else:
        os.environ["DESTINATION__POSTGRES__CREDENTIALS"] = str(postgres_dsn)
    batches: list[str] = []
    request = LoadRequest(
        lms="canvas_data2",
        notify=batches.append,
        client=client,
        destination=target,
        dataset=dataset,
        models=None,
        pipelines_dir=str(Path(workdir) / "dlt"),
        pipeline_name=f"cd2_bench_{destination}",
    )
    pipeline = open_pipeline(request)
    start = time.perf_counter()
    outcome = load_in_batches(pipeline, request, client, None)
    seconds = time.perf_counter() - start
    return {
        "seconds": seconds,
        "rows": sum(n for t, n in outcome.loaded.items() if not t.startswith("_dlt")),
        "batches": 1 + sum(1 for line in batches if line.startswith("Batch ")),
        "requests": outcome.http.get("requests", 0),
        "extract_seconds": outcome.seconds.get("extract", 0.0),
        "normalize_seconds": outcome.seconds.get("normalize", 0.0),
        "load_seconds": outcome.seconds.get("load", 0.0),
        "stages": dict(outcome.seconds),
        "rss_mb": peak_rss_mb(),
    }


def run_dap(
    exe: str, base_url: str, client_id: str, client_secret: str, dsn: str, command: str
) -> dict[str, Any]:
    """`dap initdb` or `dap syncdb` of the mart tables (canvas, then canvas_logs.web_logs) into the
    Postgres database `dsn`; time and the peak RSS of the `dap` processes."""
    env = {
        **os.environ,
        "DAP_API_URL": base_url,
        "DAP_CLIENT_ID": client_id,
        "DAP_CLIENT_SECRET": client_secret,
        "DAP_CONNECTION_STRING": dsn,
        "DAP_TRACKING": "false",
    }
    canvas = ",".join(t for t in MART_TABLES if "." not in t)
    logs = ",".join(t.rpartition(".")[2] for t in MART_TABLES if t.startswith("canvas_logs."))
    start = time.perf_counter()
    for namespace, tables in (("canvas", canvas), ("canvas_logs", logs)):
        done = subprocess.run(
            [exe, "--non-interactive", command, "--namespace", namespace, "--table", tables],
            capture_output=True,
            text=True,
            env=env,
            timeout=7200,
        )
        if done.returncode != 0:
            errors = [line for line in (done.stdout + done.stderr).splitlines() if "rror" in line]
            raise RuntimeError(
                f"dap {command} {namespace} exited {done.returncode}: {' | '.join(errors)[-1500:]}"
            )
    seconds = time.perf_counter() - start
    return {
        "seconds": seconds,
        "rss_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
    }
