"""dlt's stored trace of a failed run keeps no secret: the trace file is rewritten redacted.

dlt pickles each run's trace (with a failed step's exception text and traceback) into the
pipeline's working folder, and `dlt pipeline <name> trace` prints it. A foreign exception that
quotes a token would leave the secret on disk; `run_load` redacts the stored trace when a run fails.
"""

from __future__ import annotations

import pickle
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dlt
import pytest
from dlt.pipeline.exceptions import PipelineStepFailed
from dlt.pipeline.trace import TRACE_FILE_NAME, load_trace

from pipelines.load import LoadRequest, load_source
from pipelines.trace_redaction import redact_trace
from sources.lms_http.stats import RequestStats

TOKEN = "7~" + "Hd82kQpZ" * 8  # the shape of a Canvas access token
PASSWORD = "pw-" + "Zq7Lm2Xc" * 3


class ForeignLibraryError(RuntimeError):
    """An error from a library we do not control, quoting what it was given."""


def _courses() -> Any:
    @dlt.resource(name="courses")
    def courses() -> Iterator[dict[str, Any]]:
        yield {"id": 1}
        raise ForeignLibraryError(
            f"GET https://lms.example/api/v1/courses?access_token={TOKEN} failed "
            f"(Authorization: Bearer {TOKEN}); warehouse postgresql://loader:{PASSWORD}@db.example/lms"
        )

    return courses


def _stored(pipeline: dlt.Pipeline) -> bytes:
    return (Path(pipeline.working_dir) / TRACE_FILE_NAME).read_bytes()


def _holds_secret(blob: bytes | str) -> bool:
    text = blob if isinstance(blob, str) else blob.decode("latin-1")
    return TOKEN in text or PASSWORD in text


@pytest.fixture()
def pipeline(tmp_path: Path) -> dlt.Pipeline:
    return dlt.pipeline(
        "trace_redaction",
        pipelines_dir=str(tmp_path / "dlt"),
        destination=dlt.destinations.duckdb(str(tmp_path / "warehouse.duckdb")),
        dataset_name="lms",
    )


def test_redact_trace_rewrites_the_stored_trace(pipeline: dlt.Pipeline) -> None:
    with pytest.raises(PipelineStepFailed):
        pipeline.run(_courses()())
    assert _holds_secret(_stored(pipeline)), "dlt must store the secret for this test to mean anything"

    assert redact_trace(pipeline) is True

    stored = _stored(pipeline)
    assert not _holds_secret(stored)
    trace = load_trace(pipeline.working_dir)
    assert trace is not None and not _holds_secret(str(trace))
    assert not _holds_secret(pickle.dumps(pipeline.last_trace))
    # what is left still says what failed
    failed = [step for step in trace.steps if step.step_exception]
    assert failed and "access_token=*** failed (Authorization: Bearer ***" in str(failed[0].step_exception)


class _NoClient:
    base_url = "https://lms.example"
    stats = RequestStats()


def test_a_failed_load_leaves_no_secret_in_the_trace(pipeline: dlt.Pipeline) -> None:
    request = LoadRequest(lms="canvas", client=_NoClient(), models=None)
    source = dlt.source(lambda: _courses(), name="canvas")()
    with pytest.raises(PipelineStepFailed) as failed:
        load_source(pipeline, source, request, ["courses"])
    assert _holds_secret(str(failed.value)), (
        "the error the caller gets is dlt's own; only the trace is redacted"
    )
    assert not _holds_secret(_stored(pipeline))
    assert not _holds_secret(str(pipeline.last_trace))
