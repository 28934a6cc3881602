"""The clients a benchmark compares: our pipeline, a minimal fetcher (the floor), and two peers."""

from __future__ import annotations

import json
import os
import resource
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import requests

from pipelines.load import CANVAS_RESOURCES

# the per-course collections every contender reads, with the parameters our source sends
COURSE_PATHS: list[tuple[str, dict[str, Any]]] = [
    ("courses/{id}/sections", {}),
    (
        "courses/{id}/enrollments",
        {
            "state[]": [
                "active",
                "invited",
                "inactive",
                "completed",
                "deleted",
                "rejected",
                "creation_pending",
            ]
        },
    ),
    ("courses/{id}/assignment_groups", {}),
    ("courses/{id}/assignments", {}),
    ("courses/{id}/students/submissions", {"student_ids[]": "all"}),
]
# the tables those collections fill in our source, named one by one: resources added to the
# source later (analytics, Roll Call, grading periods, late policies, custom grade statuses) read
# routes the floor and the peers do not, so they stay out of the comparison
OUR_RESOURCES = (
    "accounts",
    "terms",
    "courses",
    "users",
    "sections",
    "enrollments",
    "assignment_groups",
    "assignments",
    "submissions",
)
assert set(OUR_RESOURCES) <= set(CANVAS_RESOURCES)
ACCOUNT_PATHS: list[tuple[str, dict[str, Any]]] = [
    ("accounts/self/sub_accounts", {"recursive": "true"}),
    ("accounts/self/terms", {"workflow_state[]": "all"}),
    ("accounts/self/users", {}),
]


def peak_rss_mb() -> float:
    """Peak resident memory in MB of this process or any child it waited for (Linux: ru_maxrss in KB)."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(own, children) / 1024


def _walk(session: requests.Session, url: str, params: dict[str, Any] | None) -> list[bytes]:
    """Every page body of a collection, following the link header (no JSON parsing)."""
    bodies = []
    response = session.get(url, params={"per_page": 100, **(params or {})}, timeout=60)
    while True:
        response.raise_for_status()
        bodies.append(response.content)
        nxt = response.links.get("next")
        if not nxt:
            return bodies
        response = session.get(nxt["url"], timeout=60)


def run_floor(base_url: str, token: str, concurrency: int = 8) -> dict[str, Any]:
    """The same pages as a full sync, fetched by plain requests at the same concurrency."""
    api = base_url.rstrip("/") + "/api/v1/"
    local = threading.local()

    def session() -> requests.Session:
        if not hasattr(local, "s"):
            local.s = requests.Session()
            local.s.headers["Authorization"] = f"Bearer {token}"
        return local.s

    start = time.perf_counter()
    pages = 0
    course_ids: list[int] = []
    for body in _walk(session(), api + "accounts/self/courses", {"state[]": "all"}):
        course_ids += [c["id"] for c in json.loads(body)]  # the only parsing: ids to fan out
        pages += 1
    jobs = [(api + p, q) for p, q in ACCOUNT_PATHS] + [
        (api + p.format(id=cid), q) for cid in course_ids for p, q in COURSE_PATHS
    ]
    with ThreadPoolExecutor(concurrency) as pool:
        for bodies in pool.map(lambda job: _walk(session(), *job), jobs):
            pages += len(bodies)
    return {"seconds": time.perf_counter() - start, "requests": pages + 1, "rss_mb": peak_rss_mb()}


def run_ours(
    base_url: str,
    token: str,
    workdir: str,
    name: str = "ours",
    max_in_flight: int = 8,
    settings: dict[str, str] | None = None,
) -> dict[str, Any]:
    """One run of our Canvas pipeline (extract + normalize + load into DuckDB as parquet).

    Args:
        base_url: the sandbox's host.
        token: its admin token.
        workdir: folder for the DuckDB file and dlt's pipeline folder (the same one again is an
            incremental rerun).
        name: the pipeline's name.
        max_in_flight: requests in flight at once.
        settings: dlt settings as environment variables for this run (e.g. `NORMALIZE__WORKERS`);
            call it in a fresh process, as the benchmark does.
    """
    os.environ.update(settings or {})
    from pipelines.load import LoadRequest, run_load
    from pipelines.warehouse import duckdb_destination
    from sources.canvas import CanvasApi

    work = Path(workdir)
    start = time.perf_counter()
    outcome = run_load(
        LoadRequest(
            lms="canvas",
            client=CanvasApi(base_url, token, max_in_flight=max_in_flight),
            destination=duckdb_destination(str(work / f"{name}.duckdb")),
            dataset="canvas_data",
            resources=OUR_RESOURCES,
            models=None,
            pipeline_name=f"bench_{name}",
            pipelines_dir=str(work / "dlt"),
        )
    )
    return outcome_figures(outcome, time.perf_counter() - start)


def outcome_figures(outcome: Any, wall_seconds: float) -> dict[str, Any]:
    """A run of our pipeline as the benchmark reports it: its wall-clock seconds (the whole
    `run_load`: with several load packages, the work between their steps counts too), time per
    stage (extract, normalize, load, summed over the packages), requests, failures, rows and peak
    memory."""
    seconds = outcome.seconds
    stages = {stage: seconds.get(stage, 0.0) for stage in ("extract", "normalize", "load")}
    http = outcome.http
    return {
        "seconds": wall_seconds,
        **{f"{stage}_seconds": value for stage, value in stages.items()},
        "requests": http["requests"],
        "throttled": http["throttled"],
        "failed": http["requests"] - http["by_status"].get("200", 0) - http["throttled"],
        "rows": sum(outcome.loaded.values()),
        "rss_mb": peak_rss_mb(),
    }


def run_sequential_peer(base_url: str, token: str, workdir: str) -> dict[str, Any]:
    """The seed scripts' style: one requests loop following `next`, inserting rows as it goes."""
    import duckdb

    api = base_url.rstrip("/") + "/api/v1/"
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token}"
    Path(workdir).mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(Path(workdir) / "sequential.duckdb"))
    start = time.perf_counter()
    requests_made = 0

    def load(table: str, url: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        nonlocal requests_made
        con.execute(f"create table if not exists {table} (doc json)")
        rows: list[dict[str, Any]] = []
        for body in _walk(session, url, params):
            requests_made += 1
            page = json.loads(body)
            page = page.get("enrollment_terms", page) if isinstance(page, dict) else page
            con.executemany(f"insert into {table} values (?)", [(json.dumps(r),) for r in page])
            rows += page
        return rows

    courses = load("courses", api + "accounts/self/courses", {"state[]": "all"})
    for path, params in ACCOUNT_PATHS:
        load(path.rsplit("/", 1)[1], api + path, params)
    for course in courses:
        for path, params in COURSE_PATHS:
            load(path.rsplit("/", 1)[1], api + path.format(id=course["id"]), params)
    con.close()
    return {"seconds": time.perf_counter() - start, "requests": requests_made, "rss_mb": peak_rss_mb()}


def run_rest_api_peer(base_url: str, token: str, workdir: str) -> dict[str, Any]:
    """dlt's declarative rest_api source configured for the same endpoints (as in the dlt seed page)."""
    import dlt
    from dlt.sources.rest_api import rest_api_source

    def child(name: str, path: str, params: dict[str, Any]) -> dict[str, Any]:
        return {
            "name": name,
            "endpoint": {"path": path.replace("{id}", "{resources.courses.id}"), "params": params},
            "primary_key": "id" if name != "submissions" else ["assignment_id", "user_id"],
        }

    config: dict[str, Any] = {
        "client": {
            "base_url": base_url.rstrip("/") + "/api/v1/",
            "auth": {"type": "bearer", "token": token},
            "paginator": "header_link",
        },
        "resource_defaults": {"write_disposition": "replace", "endpoint": {"params": {"per_page": 100}}},
        "resources": [
            {"name": "courses", "endpoint": {"path": "accounts/self/courses", "params": {"state[]": "all"}}},
            {"name": "users", "endpoint": {"path": "accounts/self/users"}},
            {
                "name": "terms",
                "endpoint": {
                    "path": "accounts/self/terms",
                    "params": {"workflow_state[]": "all"},
                    "data_selector": "enrollment_terms",
                },
            },
            *(child(p.split("/")[-1], p, q) for p, q in COURSE_PATHS),
        ],
    }
    pipeline = dlt.pipeline(
        "bench_rest_api",
        destination=dlt.destinations.duckdb(str(Path(workdir) / "rest_api.duckdb")),
        dataset_name="canvas_data",
        pipelines_dir=str(Path(workdir) / "dlt"),
    )
    start = time.perf_counter()
    pipeline.run(rest_api_source(config))
    counts = pipeline.last_trace.last_normalize_info.row_counts
    return {
        "seconds": time.perf_counter() - start,
        "rows": sum(v for k, v in counts.items() if not k.startswith("_dlt")),
        "rss_mb": peak_rss_mb(),
    }
