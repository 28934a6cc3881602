"""Load the sandboxes into one destination (datasets canvas and brightspace), as the SQL tests need."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import dlt

from sandbox.brightspace import BrightspaceSandbox
from sandbox.canvas import CanvasSandbox
from sources.brightspace import brightspace_source, connect
from sources.canvas import CanvasApi, canvas_source
from sources.lms_http.jobs import PollPolicy
from sources.lms_http.retry import RetryPolicy
from sources.sis_roster import sis_roster_source

# fast retries and polls: the sandboxes' windows and job steps pass in real time
FAST = RetryPolicy(max_attempts=10, base_delay=0.05, max_delay=1.0)
FAST_POLL = PollPolicy(first_delay=0.05, factor=2.0, max_delay=0.5, timeout=60.0)


def load_canvas(
    destination: Any, sandbox: CanvasSandbox, inputs: Path | None = None, dataset: str = "canvas"
) -> dlt.Pipeline:
    """Load the whole Canvas sandbox into `destination` / `dataset`; with `inputs` (a folder), also
    the sandbox's Roll Call reports and SIS roster, as the demo does."""
    pipeline = dlt.pipeline("sql_canvas", destination=destination, dataset_name=dataset)
    api = CanvasApi(sandbox.base_url, sandbox.admin_token, policy=FAST)
    rollcall = None
    data: list[Any] = []
    if inputs is not None:
        sandbox.write_rollcall_reports(inputs / "rollcall")
        rollcall = str(inputs / "rollcall")
        data.append(sis_roster_source(str(sandbox.write_sis_roster(inputs / "sis_roster.csv"))))
    source = canvas_source(rollcall_bucket_url=rollcall, api=api)
    info = pipeline.run([source, *data])
    assert not info.has_failed_jobs
    return pipeline


def load_brightspace(
    destination: Any,
    sandbox: BrightspaceSandbox,
    token_file: str,
    inputs: Path | None = None,
    dataset: str = "brightspace",
) -> dlt.Pipeline:
    """Load the whole Brightspace sandbox into `destination` / `dataset`; with `inputs` (a folder),
    also the sandbox's SIS roster, as the demo does."""
    pipeline = dlt.pipeline("sql_brightspace", destination=destination, dataset_name=dataset)
    api = connect(
        sandbox.base_url,
        sandbox.client_id,
        sandbox.client_secret,
        sandbox.initial_refresh_token,
        token_url=sandbox.token_url,
        refresh_token_file=token_file,
        policy=FAST,
        poll_policy=FAST_POLL,
    )
    source = brightspace_source(api=api)
    data: list[Any] = []
    if inputs is not None:
        data.append(sis_roster_source(str(sandbox.write_sis_roster(inputs / "brightspace_sis_roster.csv"))))
    info = pipeline.run([source, *data])
    assert not info.has_failed_jobs
    return pipeline
