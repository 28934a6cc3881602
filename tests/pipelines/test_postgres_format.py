"""The load file format for Postgres: parquet through ADBC (empty strings kept), except in a dataset
whose jsonb columns ADBC cannot write (pipelines/warehouse.py load_file_format)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import dlt
import pytest
from dlt.pipeline.exceptions import PipelineStepFailed

from pipelines.warehouse import duckdb_destination, load_file_format
from tests.conftest import POSTGRES_DSN

pytestmark = pytest.mark.postgres


def _rows() -> Any:
    @dlt.resource(
        name="notes", primary_key="id", write_disposition="merge", columns={"extra": {"data_type": "json"}}
    )
    def notes() -> Any:
        yield [
            {"id": 1, "text": "", "extra": {"a": 1}},
            {"id": 2, "text": None, "extra": None},
            {"id": 3, "text": "x", "extra": {"b": [1, 2]}},
        ]

    return notes


def _pipeline(name: str, dlt_dir: Path, dataset: str) -> dlt.Pipeline:
    return dlt.pipeline(
        name,
        destination=dlt.destinations.postgres(POSTGRES_DSN),
        dataset_name=dataset,
        pipelines_dir=str(dlt_dir),
    )


def _texts(pipeline: dlt.Pipeline) -> list[tuple[int, Any]]:
    with pipeline.sql_client() as client:
        return [tuple(r) for r in client.execute_sql("select id, text from notes order by id")]


def test_a_new_postgres_dataset_loads_parquet_and_keeps_empty_strings(
    dlt_dir: Path, postgres_dataset: str
) -> None:
    pipeline = _pipeline("format_new", dlt_dir, postgres_dataset)
    assert load_file_format(pipeline) == "parquet"
    pipeline.run(_rows(), loader_file_format=load_file_format(pipeline))
    assert _texts(pipeline) == [(1, ""), (2, None), (3, "x")]
    with pipeline.sql_client() as client:
        kind = client.execute_sql(
            "select data_type from information_schema.columns where table_schema = %s "
            "and table_name = 'notes' and column_name = 'extra'",
            postgres_dataset,
        )
    assert kind == [("json",)]
    # the format does not change once the dataset holds parquet-made tables
    assert load_file_format(pipeline) == "parquet"


def test_a_dataset_with_jsonb_columns_keeps_the_csv_load_and_names_them(
    dlt_dir: Path, postgres_dataset: str, caplog: pytest.LogCaptureFixture
) -> None:
    # an earlier version loaded by CSV / INSERT: dlt made the json column jsonb
    pipeline = _pipeline("format_legacy", dlt_dir, postgres_dataset)
    pipeline.run(_rows(), loader_file_format="insert_values")
    assert _texts(pipeline) == [(1, ""), (2, None), (3, "x")]  # INSERT keeps '' too

    # the failure the check avoids: ADBC's COPY cannot write jsonb
    with pytest.raises(PipelineStepFailed, match="jsonb"):
        _pipeline("format_legacy_parquet", dlt_dir, postgres_dataset).run(
            _rows(), loader_file_format="parquet"
        )

    with caplog.at_level(logging.WARNING, logger="pipelines.warehouse"):
        assert load_file_format(pipeline) is None
    warned = [r.getMessage() for r in caplog.records if r.name == "pipelines.warehouse"]
    assert len(warned) == 1
    assert f"{postgres_dataset}.notes.extra" in warned[0]
    assert "ALTER TABLE" in warned[0]
    pipeline.run(_rows(), loader_file_format=load_file_format(pipeline))
    assert _texts(pipeline) == [(1, ""), (2, None), (3, "x")]


def test_a_jsonb_column_in_the_staging_dataset_counts_too(dlt_dir: Path, postgres_dataset: str) -> None:
    import psycopg2

    pipeline = _pipeline("format_staging", dlt_dir, postgres_dataset)
    with psycopg2.connect(POSTGRES_DSN) as conn, conn.cursor() as cur:
        cur.execute(f'create schema "{postgres_dataset}_staging"')
        cur.execute(f'create table "{postgres_dataset}_staging".notes (id bigint, extra jsonb)')
    assert load_file_format(pipeline) is None


def test_duckdb_loads_parquet(tmp_path: Path, dlt_dir: Path) -> None:
    pipeline = dlt.pipeline(
        "format_duckdb",
        destination=duckdb_destination(str(tmp_path / "f.duckdb")),
        pipelines_dir=str(dlt_dir),
    )
    assert load_file_format(pipeline) == "parquet"
