"""Our DuckDB connections take `[warehouse] duckdb_settings`; with none set, DuckDB's own defaults."""

from __future__ import annotations

from pathlib import Path

import dlt
import pytest

from pipelines.warehouse import duckdb_destination, shared_destination


def settings_seen_by(pipeline: dlt.Pipeline) -> tuple[str, int, bool]:
    with pipeline.sql_client() as client:
        rows = client.execute_sql(
            "select current_setting('memory_limit'), current_setting('threads'),"
            " current_setting('preserve_insertion_order')"
        )
    return tuple(rows[0])  # type: ignore[return-value]


def load_one_row(dlt_dir: Path, name: str) -> dlt.Pipeline:
    pipeline = dlt.pipeline(name, destination=duckdb_destination(str(dlt_dir / "w.duckdb")), dataset_name="d")
    pipeline.run([{"id": 1}], table_name="t")
    return pipeline


def test_configured_settings_reach_every_connection(dlt_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "WAREHOUSE__DUCKDB_SETTINGS",
        '{"memory_limit": "96MB", "threads": 1, "preserve_insertion_order": false}',
    )
    assert settings_seen_by(load_one_row(dlt_dir, "bounded")) == ("91.5 MiB", 1, False)  # 96 MB in MiB


def test_without_settings_duckdb_keeps_its_defaults(dlt_dir: Path) -> None:
    limit, _threads, ordered = settings_seen_by(load_one_row(dlt_dir, "plain"))
    assert limit != "91.5 MiB" and ordered is True


def test_the_command_lines_duckdb_gets_the_settings_unless_credentials_are_configured(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("WAREHOUSE__DUCKDB_SETTINGS", '{"threads": 2}')
    destination = shared_destination("duckdb", "canvas_pipeline", "canvas_pipeline")
    assert destination.config_params["credentials"].global_config == {"threads": 2}
    monkeypatch.setenv("DESTINATION__DUCKDB__CREDENTIALS", "elsewhere.duckdb")
    assert shared_destination("duckdb", "canvas_pipeline", "canvas_pipeline") == "duckdb"
    assert shared_destination("postgres", "canvas_pipeline", "canvas_pipeline") == "postgres"
