"""The Brightspace sandbox's Data Hub: BDS extracts in both API generations, advance(), ADS export jobs."""

from __future__ import annotations

import csv
import io
import time
import zipfile
from collections.abc import Iterator
from typing import Any

import pytest

from sandbox.brightspace import BrightspaceSandbox
from sandbox.brightspace.advanced_datasets import ADS_DATA_SETS
from sandbox.brightspace.datasets import DATA_SETS, DATA_SETS_BY_NAME
from tests.sandbox.test_brightspace_sandbox import LP, FakeClock, Valence

DAY = 86_400


def read_zip(content: bytes) -> tuple[list[str], list[dict[str, str]]]:
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        (name,) = archive.namelist()
        raw = archive.read(name)
    assert name.endswith(".csv") and raw.startswith(b"\xef\xbb\xbf")
    reader = csv.reader(io.StringIO(raw.decode("utf-8-sig")))
    header = next(reader)
    return header, [dict(zip(header, row, strict=True)) for row in reader]


@pytest.fixture()
def hub() -> Iterator[tuple[BrightspaceSandbox, Valence, FakeClock]]:
    clock = FakeClock()
    with BrightspaceSandbox(throttle="off", job_step_seconds=1.0, clock=clock) as sandbox:
        yield sandbox, Valence(sandbox, sandbox.initial_refresh_token), clock


def catalogue(client: Valence) -> dict[str, dict[str, Any]]:
    return {d["Full"]["Name"]: d for d in client.objects(f"{LP}/datasets/bds", pageSize=5)}


def extracts(client: Valence, entry: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    plugin = entry[kind]["PluginId"]
    return list(client.objects(f"{LP}/datasets/bds/{entry['SchemaId']}/plugins/{plugin}/extracts"))


def as_text(value: Any) -> str:
    if value is None:
        return ""
    return str(value)


def current(client: Valence, entry: dict[str, Any], name: str) -> dict[tuple[str, ...], dict[str, str]]:
    """The latest Full with every newer Differential applied in order on the key, deletions removed."""
    key = DATA_SETS_BY_NAME[name].key
    full = extracts(client, entry, "Full")[0]
    _, rows = read_zip(client.http.get(full["DownloadLink"]).content)
    state = {tuple(r[c] for c in key): r for r in rows}
    newer = [d for d in extracts(client, entry, "Differential") if d["CreatedDate"] > full["CreatedDate"]]
    for diff in sorted(newer, key=lambda d: d["CreatedDate"]):
        _, rows = read_zip(client.http.get(diff["DownloadLink"]).content)
        state.update({tuple(r[c] for c in key): r for r in rows})
    return {k: r for k, r in state.items() if r.get("IsDeleted") != "True"}


def live(sb: BrightspaceSandbox, name: str) -> dict[tuple[str, ...], dict[str, str]]:
    key = DATA_SETS_BY_NAME[name].key
    rows = [{c: as_text(v) for c, v in r.items()} for r in sb.app.hub.live_rows(name)]
    return {tuple(r[c] for c in key): r for r in rows}


def test_catalogue_lists_every_data_set_with_full_and_differential_plugins(
    hub: tuple[BrightspaceSandbox, Valence, FakeClock],
) -> None:
    sb, client, _ = hub
    listed = catalogue(client)
    assert list(listed) == [d.name for d in DATA_SETS]
    # the four plugin ids of D2L's own sample (docs/brightspace-api.md section 6.1)
    assert listed["Users"]["Full"]["PluginId"] == "1d6d722e-b572-456f-97c1-d526570daa6b"
    assert listed["Grade Results"]["Full"]["PluginId"] == "9d8a96b4-8145-416d-bd18-11402bc58f8d"
    results = listed["Grade Results"]
    fulls, diffs = extracts(client, results, "Full"), extracts(client, results, "Differential")
    # two weekly Fulls (the latest three days old) and fourteen daily differentials, newest first
    assert [f["BdsType"] for f in fulls] == ["Full", "Full"] and len(diffs) == 14
    assert {d["BdsType"] for d in diffs} == {"Differential"}
    assert [d["CreatedDate"] for d in diffs] == sorted((d["CreatedDate"] for d in diffs), reverse=True)
    assert diffs[0]["CreatedDate"] == sb.now.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    every = list(client.objects(f"{LP}/datasets/bds/{results['SchemaId']}/extracts"))
    assert len(every) == 16
    one = client.json(
        f"{LP}/datasets/bds/{results['SchemaId']}/plugins/{fulls[0]['PluginId']}/extracts/{fulls[0]['ExtractId']}"
    )
    assert one == fulls[0]
    for data_set in DATA_SETS:
        reply = client.http.get(listed[data_set.name]["Full"]["DownloadLink"])
        assert reply.headers["Content-Type"] == "application/zip"
        header, _ = read_zip(reply.content)
        assert tuple(header) == data_set.columns, data_set.name


def test_latest_full_plus_newer_differentials_is_the_data_set_now(
    hub: tuple[BrightspaceSandbox, Valence, FakeClock],
) -> None:
    sb, client, _ = hub
    for _ in range(3):
        sb.advance(DAY)
    listed = catalogue(client)
    for data_set in DATA_SETS:
        if data_set.name in ("User Enrollments", "Grade Results"):
            continue  # a dropped enrollment leaves them without a trace in a differential
        assert current(client, listed[data_set.name], data_set.name) == live(sb, data_set.name), data_set.name


def test_advance_publishes_a_differential_with_new_changed_and_deleted_rows(
    hub: tuple[BrightspaceSandbox, Valence, FakeClock],
) -> None:
    sb, client, _ = hub
    changes = sb.advance(DAY)
    listed = catalogue(client)
    newest = extracts(client, listed["Grade Results"], "Differential")[0]
    assert newest["CreatedDate"] == sb.now.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    _, rows = read_zip(client.http.get(newest["DownloadLink"]).content)
    assert {
        (int(r["OrgUnitId"]), int(r["GradeObjectId"]), int(r["UserId"])) for r in rows
    } == changes.changed_grade_values
    events = sb.app.hub.events()
    deleted_posts = {i for (name, i) in events.deleted if name == "Discussion Posts"}
    assert len(deleted_posts) == 2
    _, rows = read_zip(
        client.http.get(
            extracts(client, listed["Discussion Posts"], "Differential")[0]["DownloadLink"]
        ).content
    )
    assert {int(r["PostId"]) for r in rows if r["IsDeleted"] == "True"} == deleted_posts
    (dropped,) = changes.dropped_enrollments
    _, rows = read_zip(
        client.http.get(
            extracts(client, listed["Enrollments and Withdrawals"], "Differential")[0]["DownloadLink"]
        ).content
    )
    assert [(int(r["OrgUnitId"]), int(r["UserId"]), r["Action"]) for r in rows] == [(*dropped, "Unenroll")]


def test_differentials_are_kept_fourteen_days_and_fulls_come_weekly(
    hub: tuple[BrightspaceSandbox, Valence, FakeClock],
) -> None:
    sb, client, _ = hub
    for _ in range(8):
        sb.advance(DAY)
    entry = catalogue(client)["Attendance Schemes"]
    diffs = extracts(client, entry, "Differential")
    assert len(diffs) == 14
    fulls = extracts(client, entry, "Full")
    # the start's Full was three days old: a new one came four days in
    assert fulls[0]["CreatedDate"] == "2025-03-18T17:00:00.000Z"


def test_older_api_lists_every_plugin_and_downloads_the_latest(
    hub: tuple[BrightspaceSandbox, Valence, FakeClock],
) -> None:
    sb, client, _ = hub
    listed = client.json(f"{LP}/dataExport/bds/list")
    assert len(listed) == 2 * len(DATA_SETS)
    paged: list[dict[str, Any]] = []
    page = client.json(f"{LP}/dataExport/bds", page=1, pageSize=7)
    while True:
        paged += page["BrightspaceDataSets"]
        if not page["NextPageUrl"]:
            break
        page = client.http.get(page["NextPageUrl"]).json()
    assert paged == listed
    users = next(d for d in listed if d["Name"] == "Users" and d["FullDataSet"])
    assert len(users["PreviousDataSets"]) == 1  # the Full of the week before
    entry = catalogue(client)["Users"]
    latest_full = client.http.get(extracts(client, entry, "Full")[0]["DownloadLink"]).content
    for path in (f"dataExport/bds/download/{users['PluginId']}", f"dataExport/bds/{users['PluginId']}"):
        assert read_zip(client.get(f"{LP}/{path}").content) == read_zip(latest_full)
    assert client.get(f"{LP}/dataExport/bds/download/00000000-0000-0000-0000-000000000000").status_code == 404


# -- ADS export jobs ---------------------------------------------------------------------------


def run_job(client: Valence, clock: FakeClock, name: str, **filters: str) -> list[int]:
    data_sets = {d["Name"]: d for d in client.json(f"{LP}/dataExport/list")}
    body = {
        "DataSetId": data_sets[name]["DataSetId"],
        "Filters": [{"Name": k, "Value": v} for k, v in filters.items()],
    }
    job = client.http.post(client.sb.base_url + f"{LP}/dataExport/create", json=body).json()
    statuses = [job["Status"]]
    while statuses[-1] in (0, 1):
        clock.now += 1.0  # one job step; the file itself is written by a worker thread in real time
        status = client.json(f"{LP}/dataExport/jobs/{job['ExportJobId']}")["Status"]
        if status == statuses[-1]:
            time.sleep(0.005)
        else:
            statuses.append(status)
    client.last_job = job["ExportJobId"]  # type: ignore[attr-defined]
    return statuses  # the distinct statuses seen, in order


def test_ads_is_its_own_catalogue_of_export_jobs(hub: tuple[BrightspaceSandbox, Valence, FakeClock]) -> None:
    sb, client, clock = hub
    names = [d["Name"] for d in client.json(f"{LP}/dataExport/list")]
    assert names == [d.name for d in ADS_DATA_SETS] and not set(names) & set(DATA_SETS_BY_NAME)
    assert run_job(client, clock, "All Grades") == [0, 1, 2]
    header, rows = read_zip(client.get(f"{LP}/dataExport/download/{client.last_job}").content)  # type: ignore[attr-defined]
    assert tuple(header) == ADS_DATA_SETS[0].columns
    graded = {
        (r["UserId"], r["OrgUnitId"], r["GradeObjectId"])
        for r in sb.truth_rows("grade_values")
        if r["PointsNumerator"] is not None
    }
    assert {
        (int(r["User Id"]), int(r["Course Offering Id"]), int(r["Grade Item Id"])) for r in rows
    } == graded
    before = sb.now
    changes = sb.advance(DAY)
    since = before.replace(tzinfo=None).isoformat(timespec="seconds") + ".000Z"
    run_job(client, clock, "All Grades", startDate=since)
    _, rows = read_zip(client.get(f"{LP}/dataExport/download/{client.last_job}").content)  # type: ignore[attr-defined]
    changed = {(u, ou, go) for ou, go, u in changes.changed_grade_values}
    assert {
        (int(r["User Id"]), int(r["Course Offering Id"]), int(r["Grade Item Id"])) for r in rows
    } == changed


def test_failed_and_refused_export_jobs(hub: tuple[BrightspaceSandbox, Valence, FakeClock]) -> None:
    sb, client, clock = hub
    sb.fail_next_export = True
    assert run_job(client, clock, "All Grades") == [0, 1, 3]
    assert client.get(f"{LP}/dataExport/download/{client.last_job}").status_code == 404  # type: ignore[attr-defined]
    assert run_job(client, clock, "All Grades") == [0, 1, 2]  # the fault was used up
    # a BDS plugin id is no ADS data set
    bds = {"DataSetId": DATA_SETS_BY_NAME["Users"].plugin_id}
    assert client.http.post(sb.base_url + f"{LP}/dataExport/create", json=bds).status_code == 404
    body = {
        "DataSetId": ADS_DATA_SETS[0].plugin_id,
        "Filters": [{"Name": "startDate", "Value": "soon"}],
    }
    assert client.http.post(sb.base_url + f"{LP}/dataExport/create", json=body).status_code == 400
