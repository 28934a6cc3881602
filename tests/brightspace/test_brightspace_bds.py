"""Brightspace Data Sets against the sandbox's Data Hub: Full then Differentials, deletions, a kill
between two differentials, a gap longer than the kept differentials, skipped data sets, REST vs BDS."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import dlt
import pytest

from sandbox.brightspace import BrightspaceSandbox
from sandbox.brightspace.datasets import DATA_SETS_BY_NAME
from sources.brightspace import bds
from sources.brightspace.bds_catalogue import BDS_BY_NAME, BDS_DATA_SETS, DataHubSet
from sources.lms_http.errors import LmsPermissionError
from tests.brightspace.test_brightspace_source import find_cause, load, make_api

DAY = 86_400
BDS_TABLES = [d.table for d in BDS_DATA_SETS]
# data sets without IsDeleted whose rows leave when a student withdraws: only a Full tells
LEAVE_WITH_A_WITHDRAWAL = {
    "User Enrollments": ("OrgUnitId", "UserId"),
    "Grade Results": ("OrgUnitId", "UserId"),
}


def snake(column: str) -> str:
    return dlt.common.normalizers.naming.snake_case.NamingConvention().normalize_identifier(column)


def loaded_keys(pipeline: dlt.Pipeline, data_set: DataHubSet) -> list[tuple[Any, ...]]:
    columns = ", ".join(snake(c) for c in data_set.primary_key)
    with pipeline.sql_client() as client:
        return [tuple(r) for r in client.execute_sql(f"select {columns} from {data_set.table}")]


def live_keys(sb: BrightspaceSandbox, data_set: DataHubSet) -> set[tuple[Any, ...]]:
    rows = sb.app.hub.live_rows(data_set.name)
    return {tuple(_key_value(r[c]) for c in data_set.primary_key) for r in rows}


def _key_value(value: Any) -> Any:
    # Course Access keys on DayAccessed, a timestamp: compare as the loaded datetime
    if isinstance(value, str):
        return bds.parse_utc(value)
    return value


def assert_bds_matches(
    pipeline: dlt.Pipeline,
    sb: BrightspaceSandbox,
    withdrawn: set[tuple[int, int]] = frozenset(),  # type: ignore[assignment]
) -> None:
    """Every BDS table holds the data set's rows now, by key; `withdrawn` (OrgUnitId, UserId) pairs
    still sit in the data sets a differential cannot remove them from."""
    for data_set in BDS_DATA_SETS:
        keys = loaded_keys(pipeline, data_set)
        assert len(keys) == len(set(keys)), f"duplicate keys in {data_set.table}"
        expected = live_keys(sb, data_set)
        extra = set(keys) - expected
        assert expected <= set(keys), f"{data_set.table}: rows missing"
        if data_set.name in LEAVE_WITH_A_WITHDRAWAL and withdrawn:
            ou, user = (data_set.primary_key.index(c) for c in LEAVE_WITH_A_WITHDRAWAL[data_set.name])
            assert {(k[ou], k[user]) for k in extra} <= withdrawn, data_set.table
        else:
            assert not extra, f"{data_set.table}: {len(extra)} rows the data set no longer holds"


def watermark(pipeline: dlt.Pipeline, table: str) -> dict[str, str]:
    return pipeline.state["sources"]["brightspace"]["resources"][table]["watermark"]


def test_default_run_loads_every_bds_table_typed(
    sandbox: BrightspaceSandbox, pipeline: dlt.Pipeline, dlt_dir: Path
) -> None:
    load(pipeline, make_api(sandbox))  # default options: REST tables and every typed data set
    assert_bds_matches(pipeline, sandbox)
    schema = pipeline.default_schema
    for data_set in BDS_DATA_SETS:
        columns = schema.get_table_columns(data_set.table)
        assert not [c for c in columns if "__v_" in c], data_set.table
        for column, data_type in data_set.types.items():
            assert columns[snake(column)]["data_type"] == data_type, (data_set.table, column)
    with pipeline.sql_client() as client:
        (kind,) = client.execute_sql("select typeof(time_completed) from quiz_attempts limit 1")[0]
        assert kind == "TIMESTAMP WITH TIME ZONE"
        # the first run applied the latest Full and the three daily differentials after it
        assert client.execute_sql("select count(*) from discussion_posts where is_deleted")[0][0] == 0
    assert watermark(pipeline, "discussion_posts")["created"] == sandbox.now.isoformat()


def test_full_then_differentials_with_deletes_give_exact_tables(
    sandbox: BrightspaceSandbox, pipeline: dlt.Pipeline
) -> None:
    load(pipeline, make_api(sandbox), resources=BDS_TABLES)
    withdrawn: set[tuple[int, int]] = set()
    deleted_before = set(sandbox.app.hub.events().deleted)
    for _ in range(3):  # three daily differentials, no new Full yet
        withdrawn |= sandbox.advance(DAY).dropped_enrollments
    deleted = set(sandbox.app.hub.events().deleted) - deleted_before
    assert len(deleted) == 9 and len(withdrawn) == 3
    load(pipeline, make_api(sandbox), resources=BDS_TABLES)
    counts = pipeline.last_trace.last_normalize_info.row_counts
    assert counts.get("bds_users", 0) == 0  # nothing changed there: no rows loaded
    assert_bds_matches(pipeline, sandbox, withdrawn)
    posts = BDS_BY_NAME["discussion posts"]
    gone = {row_id for name, row_id in deleted if name == "Discussion Posts"}
    assert not {k[0] for k in loaded_keys(pipeline, posts)} & gone
    # exact counts, per data set
    for data_set in BDS_DATA_SETS:
        rows = len(loaded_keys(pipeline, data_set))
        extra = len(withdrawn) if data_set.name == "User Enrollments" else None
        if extra is not None:
            assert rows == len(sandbox.app.hub.live_rows(data_set.name)) + extra
        elif data_set.name != "Grade Results":
            assert rows == len(sandbox.app.hub.live_rows(data_set.name)), data_set.name
    # the weekly Full four days in brings the removals the differentials could not carry
    sandbox.advance(DAY)
    load(pipeline, make_api(sandbox), resources=BDS_TABLES)
    assert_bds_matches(pipeline, sandbox)
    assert watermark(pipeline, "bds_user_enrollments")["kind"] == "Full"
    assert watermark(pipeline, "discussion_posts")["kind"] == "Differential"  # IsDeleted: no reload


class SimulatedKill(RuntimeError):
    """Stands in for the process dying."""


def test_a_kill_between_two_differentials_then_an_exact_rerun(
    sandbox: BrightspaceSandbox, pipeline: dlt.Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    tables = ["discussion_posts", "quiz_attempts", "attendance_user_sessions"]
    load(pipeline, make_api(sandbox), resources=tables)
    before = watermark(pipeline, "discussion_posts")
    for _ in range(2):
        sandbox.advance(DAY)
    real = bds.BdsCatalogue.download
    seen: list[str] = []

    def dies_at_the_second_differential(self: bds.BdsCatalogue, extract: bds.ExtractInfo) -> bytes:
        if extract.kind == "Differential":
            seen.append(extract.id)
            if len(seen) == 2:
                raise SimulatedKill("killed between two differentials")
        return real(self, extract)

    monkeypatch.setattr(bds.BdsCatalogue, "download", dies_at_the_second_differential)
    with pytest.raises(Exception) as info:
        load(pipeline, make_api(sandbox), resources=tables)
    assert find_cause(info.value, SimulatedKill) is not None
    monkeypatch.setattr(bds.BdsCatalogue, "download", real)
    # nothing of the dead run was committed: the watermark still names the first run's extract
    assert (
        dlt.attach(pipeline.pipeline_name, pipelines_dir=pipeline.pipelines_dir).state["sources"][
            "brightspace"
        ]["resources"]["discussion_posts"]["watermark"]
        == before
    )
    load(pipeline, make_api(sandbox), resources=tables)
    for table in tables:
        data_set = next(d for d in BDS_DATA_SETS if d.table == table)
        keys = loaded_keys(pipeline, data_set)
        assert len(keys) == len(set(keys)) and set(keys) == live_keys(sandbox, data_set), table
    assert watermark(pipeline, "discussion_posts")["created"] == sandbox.now.isoformat()


def test_a_gap_longer_than_the_kept_differentials_reloads_from_the_full(
    sandbox: BrightspaceSandbox, pipeline: dlt.Pipeline
) -> None:
    load(pipeline, make_api(sandbox), resources=BDS_TABLES)
    withdrawn: dict[tuple[int, int], Any] = {}
    for _ in range(16):  # 16 days without a run: the differential after ours is gone
        changes = sandbox.advance(DAY)
        withdrawn.update(dict.fromkeys(changes.dropped_enrollments, changes.clock))
    load(pipeline, make_api(sandbox), resources=BDS_TABLES)
    counts = pipeline.last_trace.last_normalize_info.row_counts
    for data_set in BDS_DATA_SETS:  # every table was rebuilt from the Full
        assert counts[data_set.table] == len(loaded_keys(pipeline, data_set)), data_set.table
    # the latest Full came five days ago (weekly since day 4): withdrawals since then still show
    latest = sandbox.app.hub.latest(DATA_SETS_BY_NAME["Users"], full=True).created
    last_full = datetime.fromtimestamp(latest, UTC)
    assert (sandbox.now - last_full).days == 5
    assert_bds_matches(pipeline, sandbox, {k for k, when in withdrawn.items() if when > last_full})


def test_unknown_data_set_is_skipped_and_reported_or_fails_in_strict_mode(
    sandbox: BrightspaceSandbox, pipeline: dlt.Pipeline
) -> None:
    api = make_api(sandbox)
    wanted = ["Attendance Registers", "Grade Book Settings", "Survey Results"]
    tables = ["attendance_registers", "grade_book_settings", "survey_results"]
    load(pipeline, api, resources=tables, data_sets=wanted)
    (skipped,) = api.stats.skipped
    assert skipped["resource"] == "survey_results" and skipped["data_set"] == "Survey Results"
    assert "datasets:bds:read" in skipped["reason"]
    # any data set in the catalogue loads by name: untyped ones as text, from the latest Full
    with pipeline.sql_client() as client:
        assert client.execute_sql("select count(*) from grade_book_settings")[0][0] == 10
    columns = pipeline.default_schema.get_table_columns("grade_book_settings")
    assert {c["data_type"] for n, c in columns.items() if not n.startswith("_dlt")} == {"text"}
    with pytest.raises(Exception) as info:
        load(pipeline, make_api(sandbox), resources=tables, data_sets=wanted, strict=True)
    err = find_cause(info.value, LmsPermissionError)
    assert err is not None and "Survey Results" in str(err)


def test_rest_and_bds_agree_on_users_enrollments_grade_objects_and_results(
    sandbox: BrightspaceSandbox, pipeline: dlt.Pipeline
) -> None:
    rest = ["org_units", "users", "courses", "enrollments", "grade_objects", "grade_values"]
    from_data_sets = ["bds_users", "bds_user_enrollments", "bds_grade_objects", "grade_results"]
    load(pipeline, make_api(sandbox), resources=rest + from_data_sets)
    queries = {
        # the Users data set also lists the system user (UserId 0)
        "users": (
            "select user_id, user_name, org_defined_id, first_name, last_name from users",
            "select user_id, user_name, org_defined_id, first_name, last_name from bds_users where user_id <> 0",
        ),
        "enrollments": (
            "select org_unit_id, user_id, role_id from enrollments",
            "select org_unit_id, user_id, role_id from bds_user_enrollments",
        ),
        # REST lists grade items per course; the data set holds the categories too (type 9)
        "grade_objects": (
            "select org_unit_id, grade_object_id, name, max_points from grade_objects",
            "select org_unit_id, grade_object_id, name, max_points from bds_grade_objects "
            "where grade_object_type_id <> 9",
        ),
        "grade_values": (
            "select org_unit_id, grade_object_id, user_id, points_numerator, last_modified from grade_values",
            "select org_unit_id, grade_object_id, user_id, points_numerator, last_modified from grade_results",
        ),
    }
    with pipeline.sql_client() as client:
        for entity, (rest_sql, bds_sql) in queries.items():
            from_rest = {tuple(r) for r in client.execute_sql(rest_sql)}
            from_bds = {tuple(r) for r in client.execute_sql(bds_sql)}
            assert from_rest and from_rest == from_bds, entity
