"""A merge on a primary key and a merge key deletes key by key (pipelines/merge_keys.py): the same rows
as dlt's stock `primary key OR merge key` delete, on DuckDB and on Postgres."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import dlt
import pytest
from dlt.destinations.impl.duckdb.duck import DuckDbClient
from dlt.destinations.impl.postgres.postgres import PostgresClient
from dlt.destinations.sql_jobs import SqlMergeFollowupJob

from pipelines.merge_keys import KeyByKeyMergeJob, use_key_by_key_merge
from tests.conftest import POSTGRES_DSN

FIRST = [
    {"id": 1, "course_id": 10, "title": "a", "tags": ["x", "y"]},
    {"id": 2, "course_id": 10, "title": "b", "tags": ["z"]},
    {"id": 3, "course_id": 20, "title": "c", "tags": []},
    {"id": 4, "course_id": 20, "title": "d", "tags": ["w"]},
    {"id": 5, "course_id": 30, "title": "e", "tags": ["v"]},
    {"id": 6, "course_id": 30, "title": "f", "tags": ["u", "t"]},
]
# course 20 refreshed: 3 changed, 4 gone upstream, 6 moved here from course 30 (its primary key
# takes it out of course 30, which this load does not refresh)
SECOND = [
    {"id": 3, "course_id": 20, "title": "c2", "tags": ["s"]},
    {"id": 6, "course_id": 20, "title": "f2", "tags": []},
]
EXPECTED = [(1, 10, "a"), (2, 10, "b"), (3, 20, "c2"), (5, 30, "e"), (6, 20, "f2")]
EXPECTED_TAGS = [(1, "x"), (1, "y"), (2, "z"), (3, "s"), (5, "v")]


def _items(rows: list[dict[str, Any]], nested: bool) -> Any:
    return dlt.resource(
        [r if nested else {k: v for k, v in r.items() if k != "tags"} for r in rows],
        name="items",
        primary_key="id",
        merge_key="course_id",
        write_disposition="merge",
    )


def _destination(kind: str, path: Path) -> Any:
    if kind == "duckdb":
        return dlt.destinations.duckdb(str(path / "m.duckdb"))
    return dlt.destinations.postgres(POSTGRES_DSN)


def _merged(kind: str, tmp_path: Path, dataset: str, nested: bool) -> tuple[list[tuple], list[tuple]]:
    pipeline = dlt.pipeline(
        f"merge_{dataset}",
        destination=_destination(kind, tmp_path),
        dataset_name=dataset,
        pipelines_dir=str(tmp_path / "dlt"),
    )
    pipeline.run(_items(FIRST, nested))
    pipeline.run(_items(SECOND, nested))
    with pipeline.sql_client() as client:
        rows = [tuple(r) for r in client.execute_sql("select id, course_id, title from items order by id")]
        tags: list[tuple] = []
        if nested:
            tags = [
                tuple(r)
                for r in client.execute_sql(
                    "select i.id, t.value from items__tags t join items i on t._dlt_parent_id = i._dlt_id "
                    "order by i.id, t.value"
                )
            ]
    return rows, tags


@pytest.fixture(params=["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)])
def destination_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def dataset(destination_kind: str, request: pytest.FixtureRequest) -> str:
    if destination_kind == "postgres":
        return str(request.getfixturevalue("postgres_dataset"))
    return "merged"


@pytest.mark.parametrize("nested", [False, True], ids=["flat", "nested"])
def test_key_by_key_merge_keeps_the_rows_of_the_stock_merge(
    destination_kind: str, dataset: str, nested: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = DuckDbClient if destination_kind == "duckdb" else PostgresClient
    # dlt as it comes: the client's parent generates the stock job
    monkeypatch.setattr(client, "_create_merge_followup_jobs", client.__mro__[1]._create_merge_followup_jobs)
    stock = _merged(destination_kind, tmp_path / "stock", dataset + "_stock", nested)

    calls: list[tuple] = []
    clauses = KeyByKeyMergeJob.gen_key_table_clauses.__func__  # type: ignore[attr-defined]

    def spied(cls: type, *args: Any, **kwargs: Any) -> list[str]:
        made = clauses(cls, *args, **kwargs)
        calls.append(tuple(made))
        return made

    monkeypatch.setattr(KeyByKeyMergeJob, "gen_key_table_clauses", classmethod(spied))
    monkeypatch.delattr(client, "_create_merge_followup_jobs")  # undone after the test, as is the patch
    use_key_by_key_merge()
    ours = _merged(destination_kind, tmp_path / "ours", dataset, nested)

    assert stock == ours
    assert ours == (EXPECTED, EXPECTED_TAGS if nested else [])
    # our job generated the deletes: one clause per key, none joined by OR
    assert calls and all(len(made) == 2 and not any(" OR " in c for c in made) for made in calls)


def test_the_stock_clause_joins_the_keys_by_or_and_ours_does_not() -> None:
    stock = SqlMergeFollowupJob.gen_key_table_clauses("t", "s", ["id"], ["course_id"], True)
    ours = KeyByKeyMergeJob.gen_key_table_clauses("t", "s", ["id"], ["course_id"], True)
    assert stock == [
        "FROM t as d WHERE EXISTS (SELECT 1 FROM s as s WHERE d.id = s.id OR d.course_id = s.course_id)"
    ]
    assert ours == [
        "FROM t as d WHERE EXISTS (SELECT 1 FROM s as s WHERE d.id = s.id)",
        "FROM t as d WHERE EXISTS (SELECT 1 FROM s as s WHERE d.course_id = s.course_id)",
    ]
    # one key only: one clause, as dlt's
    assert KeyByKeyMergeJob.gen_key_table_clauses("t", "s", ["id"], [], True) == [
        "FROM t as d WHERE EXISTS (SELECT 1 FROM s as s WHERE d.id = s.id)"
    ]
