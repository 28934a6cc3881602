"""The Canvas Data 2 sandbox speaks the DAP Query API of docs/canvas-data-2.md over the Canvas sandbox's
institution: login, tables, schemas, jobs, object URLs, four formats, deletes and route limits."""

from __future__ import annotations

import base64
import csv
import gzip
import io
import json
from collections.abc import Iterator
from typing import Any

import pyarrow.parquet as pq
import pytest
import requests

from sandbox.canvas import CanvasSandbox
from sandbox.canvas_data2 import CanvasData2Sandbox
from sandbox.canvas_data2.tables import UNSPECIFIED


class FakeClock:
    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clocks() -> tuple[FakeClock, FakeClock]:
    return FakeClock(1_900_000_000.0), FakeClock(100.0)


@pytest.fixture
def dap(clocks: tuple[FakeClock, FakeClock]) -> Iterator[CanvasData2Sandbox]:
    wall, limit = clocks
    with CanvasData2Sandbox("small", 7, clock=wall, limit_clock=limit) as sandbox:
        yield sandbox


def login(base: str, client_id: str = "sandbox-client", secret: str = "sandbox-secret") -> requests.Response:
    basic = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    return requests.post(
        f"{base}/ids/auth/login",
        headers={"Authorization": f"Basic {basic}"},
        data={"grant_type": "client_credentials"},
        timeout=10,
    )


def bearer(base: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {login(base).json()['access_token']}"}


def run_job(base: str, table: str, query: dict[str, Any], namespace: str = "canvas") -> dict[str, Any]:
    headers = bearer(base)
    job = requests.post(
        f"{base}/dap/query/{namespace}/table/{table}/data", json=query, headers=headers, timeout=10
    )
    assert job.status_code == 200, job.text
    body = job.json()
    statuses = [body["status"]]
    while body["status"] not in ("complete", "failed"):
        body = requests.get(f"{base}/dap/job/{body['id']}", headers=headers, timeout=10).json()
        statuses.append(body["status"])
    body["_statuses"] = statuses
    return body


def fetch_objects(base: str, job: dict[str, Any]) -> list[bytes]:
    headers = bearer(base)
    ids = [{"id": o["id"]} for o in job["objects"]]
    urls = requests.post(f"{base}/dap/object/url", json=ids, headers=headers, timeout=10).json()["urls"]
    out = []
    for o in job["objects"]:
        reply = requests.get(urls[o["id"]]["url"], timeout=30)  # pre-signed: no auth header
        assert reply.status_code == 200
        out.append(reply.content)
    return out


def jsonl_records(blobs: list[bytes]) -> list[dict[str, Any]]:
    return [json.loads(line) for blob in blobs for line in gzip.decompress(blob).splitlines() if line]


def test_login_gives_a_jwt_with_exp_and_bad_credentials_a_json_401(dap: CanvasData2Sandbox) -> None:
    reply = login(dap.base_url)
    body = reply.json()
    assert set(body) == {"access_token", "expires_in", "scope", "token_type"}  # section 13: all four
    assert body["expires_in"] == 3599 and body["token_type"] == "bearer"
    claims = json.loads(base64.urlsafe_b64decode(body["access_token"].split(".")[1] + "=="))
    assert claims["exp"] == int(dap.tokens.clock()) + 3599
    bad = login(dap.base_url, secret="wrong")
    assert bad.status_code == 401
    assert bad.headers["Content-Type"] == "application/json"
    assert bad.json()["error"]["type"] == "AuthenticationError"


def test_an_expired_token_is_refused(dap: CanvasData2Sandbox, clocks: tuple[FakeClock, FakeClock]) -> None:
    headers = bearer(dap.base_url)
    assert (
        requests.get(f"{dap.base_url}/dap/query/canvas/table", headers=headers, timeout=10).status_code == 200
    )
    clocks[0].now += 3600
    reply = requests.get(f"{dap.base_url}/dap/query/canvas/table", headers=headers, timeout=10)
    assert reply.status_code == 401


def test_tables_and_schema_follow_the_client_s_parser(dap: CanvasData2Sandbox) -> None:
    headers = bearer(dap.base_url)
    tables = requests.get(f"{dap.base_url}/dap/query/canvas/table", headers=headers, timeout=10).json()
    assert set(tables) == {"tables"}
    assert {"users", "courses", "enrollments", "enrollment_terms", "accounts", "course_sections"} <= set(
        tables["tables"]
    )
    assert {"assignments", "assignment_groups", "submissions", "scores", "pseudonyms"} <= set(
        tables["tables"]
    )
    logs = requests.get(f"{dap.base_url}/dap/query/canvas_logs/table", headers=headers, timeout=10).json()
    assert logs == {"tables": ["web_logs"]}
    reply = requests.get(
        f"{dap.base_url}/dap/query/canvas/table/enrollments/schema", headers=headers, timeout=10
    )
    body = reply.json()
    assert set(body) == {"schema", "version"} and body["version"] == 1
    schema = body["schema"]
    assert schema["$schema"] and schema["type"] == "object"
    assert list(schema["properties"]["key"]["properties"]) == ["id"]
    value = schema["properties"]["value"]
    assert value["additionalProperties"] is False
    assert value["properties"]["workflow_state"]["enum"][-1] == UNSPECIFIED
    assert value["properties"]["created_at"] == {"type": "string", "format": "date-time"}
    missing = requests.get(f"{dap.base_url}/dap/query/canvas/table/nope/schema", headers=headers, timeout=10)
    assert missing.status_code == 404 and missing.json()["error"]["kind"] == "table"


def test_a_snapshot_job_moves_through_its_states_and_serves_every_row(dap: CanvasData2Sandbox) -> None:
    job = run_job(dap.base_url, "submissions", {"format": "jsonl"})
    assert job["_statuses"] == ["waiting", "running", "complete"]
    assert set(job) - {"_statuses"} == {"id", "status", "expires_at", "objects", "schema_version", "at"}
    records = jsonl_records(fetch_objects(dap.base_url, job))
    truth = dap.truth("canvas", "submissions")
    assert {r["key"]["id"] for r in records} == set(truth)
    assert len(records) == len(truth)
    first = records[0]
    assert set(first) == {"key", "value", "meta"} and set(first["meta"]) == {"ts"}
    assert first["value"] == {k: v for k, v in truth[first["key"]["id"]].items() if v is not None}


def test_the_same_institution_as_the_canvas_rest_sandbox() -> None:
    rest = CanvasSandbox("small", 7)
    cd2 = CanvasData2Sandbox("small", 7)
    assert set(cd2.truth("canvas", "submissions")) == {
        s.id for c in rest.institution.courses for s in rest.institution.served_submissions(c)
    }
    for table, rest_table in (("users", "users"), ("courses", "courses"), ("enrollments", "enrollments")):
        assert {(k,) for k in cd2.truth("canvas", table)} == rest.truth_keys(rest_table)
    assert {(k,) for k in cd2.truth("canvas", "course_sections")} == rest.truth_keys("sections")
    assert {(k,) for k in cd2.truth("canvas", "enrollment_terms")} == rest.truth_keys("terms")


def test_tsv_csv_and_parquet_carry_the_same_rows(dap: CanvasData2Sandbox) -> None:
    truth = dap.truth("canvas", "assignment_groups")
    tsv = run_job(dap.base_url, "assignment_groups", {"format": "tsv", "mode": "condensed"})
    text = gzip.decompress(fetch_objects(dap.base_url, tsv)[0]).decode()
    lines = text.splitlines()
    assert lines[0].split("\t")[:3] == ["meta.ts", "key.id", "value.name"]  # no meta.action in a snapshot
    assert len(lines) == 1 + len(truth)
    assert "\\N" in text  # NULL
    csv_job = run_job(dap.base_url, "assignment_groups", {"format": "csv", "mode": "expanded"})
    rows = list(
        csv.DictReader(io.StringIO(gzip.decompress(fetch_objects(dap.base_url, csv_job)[0]).decode()))
    )
    assert len(rows) == len(truth) and "value.rules.drop_lowest" in rows[0]
    parquet_job = run_job(dap.base_url, "assignment_groups", {"format": "parquet"})
    table = pq.read_table(io.BytesIO(fetch_objects(dap.base_url, parquet_job)[0]))
    assert table.num_rows == len(truth)
    assert sorted(table.column("key.id").to_pylist()) == sorted(truth)


def test_advance_publishes_changes_and_deletes_as_d_records(dap: CanvasData2Sandbox) -> None:
    at = run_job(dap.base_url, "submissions", {"format": "jsonl"})["at"]
    changes = dap.advance()
    job = run_job(dap.base_url, "submissions", {"format": "jsonl", "since": at})
    assert job["since"] == at and job["until"] > at and "at" not in job
    records = jsonl_records(fetch_objects(dap.base_url, job))
    deleted = {r["key"]["id"] for r in records if r["meta"]["action"] == "D"}
    upserted = {r["key"]["id"] for r in records if r["meta"]["action"] == "U"}
    rest_ids = {
        (c.id, s.assignment.id, s.user_id): s.id for c in dap.institution.courses for s in c.submissions
    }
    assert deleted == {rest_ids[k] for k in changes.removed_submissions}
    assert upserted == {rest_ids[k] for k in changes.changed_submissions}
    assert all("value" not in r for r in records if r["meta"]["action"] == "D")
    # the next window from this until is empty: nothing changed since
    again = run_job(dap.base_url, "submissions", {"format": "jsonl", "since": job["until"]})
    assert jsonl_records(fetch_objects(dap.base_url, again)) == []


def test_a_failed_job_carries_an_error(dap: CanvasData2Sandbox) -> None:
    dap.fail_next_jobs(1)
    job = run_job(dap.base_url, "users", {"format": "jsonl"})
    assert job["status"] == "failed" and set(job["error"]) == {"type", "uuid", "message"}
    assert run_job(dap.base_url, "users", {"format": "jsonl"})["status"] == "complete"


def test_job_creation_is_limited_to_five_a_minute(
    dap: CanvasData2Sandbox, clocks: tuple[FakeClock, FakeClock]
) -> None:
    headers = bearer(dap.base_url)
    url = f"{dap.base_url}/dap/query/canvas/table/users/data"
    codes = [
        requests.post(url, json={"format": "jsonl"}, headers=headers, timeout=10).status_code
        for _ in range(6)
    ]
    assert codes == [200] * 5 + [429]
    refused = requests.post(url, json={"format": "jsonl"}, headers=headers, timeout=10)
    assert refused.json()["error"]["type"] == "TooManyRequests"
    assert refused.headers["Content-Type"] == "application/json"
    assert int(refused.headers["Retry-After"]) == 60
    clocks[1].now += 60.0
    assert requests.post(url, json={"format": "jsonl"}, headers=headers, timeout=10).status_code == 200


def test_a_reload_makes_older_incrementals_ask_for_a_snapshot(dap: CanvasData2Sandbox) -> None:
    at = run_job(dap.base_url, "users", {"format": "jsonl"})["at"]
    dap.reload_table("canvas", "users")
    headers = bearer(dap.base_url)
    reply = requests.post(
        f"{dap.base_url}/dap/query/canvas/table/users/data",
        json={"format": "jsonl", "since": at},
        headers=headers,
        timeout=10,
    )
    assert reply.status_code == 400
    error = reply.json()["error"]
    assert error["type"] == "SnapshotRequired" and error["since"] == at
