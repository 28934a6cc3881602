"""Brightspace contenders: the floor (plain concurrent requests) and our pipeline, on the same routes."""

from __future__ import annotations

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import requests

from bench.contenders import outcome_figures, peak_rss_mb
from pipelines.load import BRIGHTSPACE_REST_RESOURCES

# the resources our run loads: the REST ones but content progress; Brightspace Data Sets are left out
# (the floor does not read them: they are extract downloads, not pages)
OUR_RESOURCES = tuple(r for r in BRIGHTSPACE_REST_RESOURCES if r != "content_user_progress")


def _course_routes(ou: int, versions: dict[str, str]) -> list[tuple[str, dict[str, Any]]]:
    """Every per-course route our source reads, once each, with the parameters it sends."""
    from sources.brightspace.settings import COURSE_CHILDREN, GRADE_VALUES_PAGE_SIZE

    routes = [(f"d2l/api/lp/{versions['lp']}/courses/{ou}", {})]
    for child in COURSE_CHILDREN:
        routes.append(
            (
                f"d2l/api/{child.product}/{versions[child.product]}/" + child.path.format(ou=ou),
                dict(child.params),
            )
        )
    routes.append((f"d2l/api/le/{versions['le']}/{ou}/grades/values/", {"pageSize": GRADE_VALUES_PAGE_SIZE}))
    return routes


def _walk(session: requests.Session, url: str, params: dict[str, Any]) -> list[Any]:
    """Every page body of a Valence list, parsed only to follow its bookmark or `Next` link."""
    from sources.brightspace.paging import rebase_next

    bodies = []
    response = session.get(url, params=params, timeout=60)
    while True:
        response.raise_for_status()
        body = json.loads(response.content)
        bodies.append(body)
        if isinstance(body, dict) and "PagingInfo" in body:
            info = body["PagingInfo"]
            if not (info.get("HasMoreItems") and info.get("Bookmark")):
                return bodies
            response = session.get(url, params={**params, "bookmark": info["Bookmark"]}, timeout=60)
        elif isinstance(body, dict) and body.get("Next"):
            nxt_url, nxt_params = rebase_next(url, params, body["Next"])
            response = session.get(nxt_url, params=nxt_params, timeout=60)
        else:
            return bodies


def run_floor(info: dict[str, Any], concurrency: int = 8) -> dict[str, Any]:
    """The routes of a full sync, fetched by plain requests at the same concurrency.

    Args:
        info: the sandbox's connection details (`base_url`, `token_url`, client id/secret and a
            fresh `refresh_token`).
        concurrency: requests in flight at once.
    """
    from sources.brightspace.helpers import choose_versions
    from sources.brightspace.settings import COURSE_OFFERING_TYPE_ID

    host = info["base_url"].rstrip("/") + "/"
    local = threading.local()
    start = time.perf_counter()
    token = requests.post(
        info["token_url"],
        data={
            "grant_type": "refresh_token",
            "refresh_token": info["refresh_token"],
            "client_id": info["client_id"],
            "client_secret": info["client_secret"],
        },
        timeout=60,
    ).json()["access_token"]

    def session() -> requests.Session:
        if not hasattr(local, "s"):
            local.s = requests.Session()
            local.s.headers["Authorization"] = f"Bearer {token}"
        return local.s

    versions = choose_versions(session().get(host + "d2l/api/versions/", timeout=60).json(), None)
    lp = f"{host}d2l/api/lp/{versions['lp']}/"
    pages = 0
    course_ids: list[int] = []
    for body in _walk(session(), lp + "orgstructure/", {"orgUnitType": COURSE_OFFERING_TYPE_ID}):
        course_ids += [int(item["Identifier"]) for item in body["Items"]]  # ids to fan out
        pages += 1
    jobs = [(lp + "orgstructure/", {}), (lp + "users/", {})] + [
        (host + route, params) for ou in course_ids for route, params in _course_routes(ou, versions)
    ]
    with ThreadPoolExecutor(concurrency) as pool:
        for bodies in pool.map(lambda job: _walk(session(), *job), jobs):
            pages += len(bodies)
    return {"seconds": time.perf_counter() - start, "requests": pages + 1, "rss_mb": peak_rss_mb()}


def run_ours(
    info: dict[str, Any], workdir: str, name: str = "ours", max_in_flight: int = 8
) -> dict[str, Any]:
    """One run of our Brightspace pipeline (extract + normalize + load into DuckDB as parquet).

    Args:
        info: the sandbox's connection details with a `refresh_token` no other client has used.
        workdir: folder for the DuckDB file, dlt's pipeline folder and the rotated refresh token.
        name: the pipeline's name (the same name again is an incremental rerun).
        max_in_flight: requests in flight at once.
    """
    from pipelines.load import LoadRequest, run_load
    from pipelines.warehouse import duckdb_destination
    from sources.brightspace import connect

    work = Path(workdir)
    work.mkdir(parents=True, exist_ok=True)
    api = connect(
        info["base_url"],
        info["client_id"],
        info["client_secret"],
        info["refresh_token"],
        token_url=info["token_url"],
        refresh_token_file=str(work / f"{name}.token"),
        max_in_flight=max_in_flight,
    )
    start = time.perf_counter()
    outcome = run_load(
        LoadRequest(
            lms="brightspace",
            client=api,
            destination=duckdb_destination(str(work / f"{name}.duckdb")),
            dataset="brightspace_data",
            resources=OUR_RESOURCES,
            models=None,
            pipeline_name=f"bench_bs_{name}",
            pipelines_dir=str(work / "dlt"),
        )
    )
    return outcome_figures(outcome, time.perf_counter() - start)
