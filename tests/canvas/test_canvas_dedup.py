"""The source emits each submission key once (pages shifting under a listing, a course asked for twice).

Checked on the rows the source handed to dlt (the normalize step's count), not only on the table:
dlt's merge would hide a repeated key in the warehouse while still paying to write and merge it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import dlt
import pytest

from sandbox.canvas import CanvasSandbox
from sources.canvas import CanvasApi, canvas_source

from .test_canvas_source import keys_in, make_api


def load_submissions(dlt_dir: Path, api: CanvasApi, **kwargs: Any) -> tuple[dlt.Pipeline, int]:
    """Load courses and submissions; returns the pipeline and the submission rows the source emitted."""
    pipeline = dlt.pipeline(
        "canvas_dedup", destination=dlt.destinations.duckdb(str(dlt_dir / "d.duckdb")), dataset_name="c"
    )
    source = canvas_source(api=api, **kwargs)
    info = pipeline.run(source.with_resources("courses", "submissions"))
    assert not info.has_failed_jobs
    return pipeline, pipeline.last_trace.last_normalize_info.row_counts.get("submissions", 0)


def test_a_course_asked_for_twice_emits_its_submissions_once(dlt_dir: Path) -> None:
    with CanvasSandbox(size="small", seed=7) as sb:
        course_id = sorted(k[0] for k in sb.truth_keys("submissions"))[0]
        expected = {k for k in sb.truth_keys("submissions") if k[0] == course_id}
        pipeline, emitted = load_submissions(dlt_dir, make_api(sb), course_ids=[course_id, course_id])
    assert emitted == len(expected)
    assert set(keys_in(pipeline, "submissions")) == expected


def test_submission_rows_served_twice_are_emitted_once(
    dlt_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_rows = CanvasApi.rows

    def doubled(self: CanvasApi, path: str, params: Any = None, data_selector: str = "$") -> list[Any]:
        rows = real_rows(self, path, params, data_selector)
        # a listing whose pages shifted while it was read: every submission comes twice
        return rows + [dict(r) for r in rows] if path.endswith("students/submissions") else rows

    monkeypatch.setattr(CanvasApi, "rows", doubled)
    with CanvasSandbox(size="small", seed=7) as sb:
        api = make_api(sb)
        pipeline, emitted = load_submissions(dlt_dir, api)  # the first sync of every course
        assert emitted == len(sb.truth_keys("submissions"))
        sb.advance()  # new submissions, grades, students and a dropped enrollment
        pipeline, emitted = load_submissions(dlt_dir, api)  # the incremental sync
        keys = keys_in(pipeline, "submissions")
        assert len(keys) == len(set(keys)) == len(sb.truth_keys("submissions"))
        assert set(keys) == sb.truth_keys("submissions")
        assert 0 < emitted < len(keys)  # only the changed rows and delete markers, each once
