"""The same institution loaded through REST and through Canvas Data 2 builds the same marts: identical
`course_grades`, `gradebook` and `course_enrollments`, keys and values; and web_logs feed weekly
engagement that adds up to the analytics' page views."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import dlt

from pipelines.transform import run_models
from sandbox.canvas import CanvasSandbox
from sandbox.canvas_data2 import CanvasData2Sandbox
from sources.canvas_data2 import canvas_data2
from tests.canvas_data2.conftest import CLIENT_ID, CLIENT_SECRET
from tests.sql.warehouse import load_canvas

MARTS = ("course_grades", "gradebook", "course_enrollments")


def mart_rows(pipeline: dlt.Pipeline, mart: str) -> list[tuple[Any, ...]]:
    with pipeline.sql_client() as client:
        columns = [
            r[0]
            for r in client.execute_sql(
                "select column_name from information_schema.columns "
                f"where table_schema = 'analytics' and table_name = '{mart}' order by column_name"
            )
        ]
        rows = client.execute_sql(f"select {', '.join(columns)} from analytics.{mart}")
    return sorted((tuple(zip(columns, row, strict=True)) for row in rows), key=repr)


def test_rest_and_cd2_give_the_same_marts(dlt_dir: Path) -> None:
    with CanvasSandbox("small", 7) as rest:
        rest_pipeline = load_canvas(dlt.destinations.duckdb(str(dlt_dir / "rest.duckdb")), rest)
        run_models(rest_pipeline)  # raises on any failed model or data test
    with CanvasData2Sandbox(
        "small", 7, limits={"create_job": 1000}, client_id=CLIENT_ID, client_secret=CLIENT_SECRET
    ) as dap:
        cd2_pipeline = dlt.pipeline(
            "cd2_marts",
            destination=dlt.destinations.duckdb(str(dlt_dir / "cd2.duckdb")),
            dataset_name="canvas_data2",
        )
        cd2_pipeline.run(
            canvas_data2(
                client_id=CLIENT_ID,
                client_secret=CLIENT_SECRET,
                base_url=dap.base_url,
                poll_seconds=0.0,
                jobs_per_minute=1000,
            )
        )
        run_models(
            cd2_pipeline,
            datasets={"canvas_channel": "cd2", "canvas_data2_dataset": "canvas_data2"},
        )
        truth_views = len(dap.truth("canvas_logs", "web_logs"))
    for mart in MARTS:
        ours, theirs = mart_rows(rest_pipeline, mart), mart_rows(cd2_pipeline, mart)
        assert len(ours) == len(theirs) > 0, mart
        for a, b in zip(ours, theirs, strict=True):
            assert [name for name, _ in a] == [name for name, _ in b]
            for (name, x), (_, y) in zip(a, b, strict=True):
                if isinstance(x, float) and isinstance(y, float):
                    # unrounded doubles are sums whose order follows the physical row order
                    assert math.isclose(x, y, rel_tol=1e-12), (mart, name, a)
                else:
                    assert x == y, (mart, name, a)
    with cd2_pipeline.sql_client() as client:
        weekly = client.execute_sql(
            "select sum(page_views), sum(participations) from analytics_intermediate.int_canvas_web_logs_weekly"
        )
    assert weekly[0][0] == truth_views and weekly[0][1] > 0
