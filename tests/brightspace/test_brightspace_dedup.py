"""The source emits each grade value key once (pages shifting under a listing, a course asked for twice).

Checked on the rows the source handed to dlt (the normalize step's count), not only on the table:
dlt's merge would hide a repeated key in the warehouse while still paying to write and merge it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import dlt
import pytest

from sandbox.brightspace import BrightspaceSandbox
from sources.brightspace.helpers import BrightspaceApi

from .test_brightspace_source import keys_in, load, make_api

RESOURCES = ["courses", "enrollments", "grade_objects", "grade_values"]


def pipeline_in(dlt_dir: Path) -> dlt.Pipeline:
    return dlt.pipeline(
        "bs_dedup", destination=dlt.destinations.duckdb(str(dlt_dir / "d.duckdb")), dataset_name="bs"
    )


def emitted(pipeline: dlt.Pipeline) -> int:
    return pipeline.last_trace.last_normalize_info.row_counts.get("grade_values", 0)


def test_a_course_asked_for_twice_emits_its_grade_values_once(dlt_dir: Path) -> None:
    with BrightspaceSandbox(size="small", seed=11) as sb:
        ou = sorted(k[0] for k in sb.truth_keys("grade_values"))[0]
        expected = {k for k in sb.truth_keys("grade_values") if k[0] == ou}
        pipeline = pipeline_in(dlt_dir)
        load(pipeline, make_api(sb), RESOURCES, org_unit_ids=[ou, ou])
    assert emitted(pipeline) == len(expected)
    assert set(keys_in(pipeline, "grade_values")) == expected


def test_grade_values_served_twice_are_emitted_once(dlt_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real_rows = BrightspaceApi.rows

    def doubled(self: BrightspaceApi, route: str, *args: Any, **kwargs: Any) -> list[Any]:
        rows = real_rows(self, route, *args, **kwargs)
        # a listing whose pages shifted while it was read: every value comes twice
        return rows + [dict(r) for r in rows] if route.endswith("/grades/values/") else rows

    monkeypatch.setattr(BrightspaceApi, "rows", doubled)
    with BrightspaceSandbox(size="small", seed=11) as sb:
        api = make_api(sb)
        pipeline = pipeline_in(dlt_dir)
        load(pipeline, api, RESOURCES)  # the first sync of every course
        assert emitted(pipeline) == len(sb.truth_keys("grade_values"))
        sb.advance()  # new and changed grades, a dropped student
        load(pipeline, api, RESOURCES)  # the incremental sync
        keys = keys_in(pipeline, "grade_values")
        assert len(keys) == len(set(keys)) == len(sb.truth_keys("grade_values"))
        assert set(keys) == sb.truth_keys("grade_values")
        assert 0 < emitted(pipeline) < len(keys)
