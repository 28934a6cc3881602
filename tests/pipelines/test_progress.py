"""Progress of a load: the status line's figures, a live line on a terminal, retry lines in plain output."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
from pathlib import Path

import dlt

from pipelines.progress import LoadProgress, show_progress
from sandbox.canvas import CanvasSandbox
from sandbox.faults import FaultPlan, Scheduled
from sources.lms_http.progress import RetryNotice
from sources.lms_http.stats import RequestStats

ROOT = Path(__file__).resolve().parents[2]


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def notice(wait: float = 4.0) -> RetryNotice:
    return RetryNotice.of("GET", "http://lms/api/v1/courses?page=2", "server_error", 3, 8, wait, status=503)


def test_the_status_line_counts_requests_rows_work_and_retries_waiting() -> None:
    clock, stats = Clock(), RequestStats()
    progress = LoadProgress(stats, clock=clock)
    with progress("Extract canvas"):
        stats.record_response(200, throttled=False)
        stats.record_response(429, throttled=True)
        stats.record_retry("throttled")
        progress.update("Resources", 1, total=12)  # a step counter, not rows
        progress.update("submissions", 250)
        progress.update("users", 1)
        progress.on_retry(notice(wait=4.0))
        clock.now += 3
        assert progress.status() == "extract 3 s · 2 requests · 251 rows · 1 retry (1 waiting) · 1 throttled"
        clock.now += 2  # the retry's wait is over
        assert progress.status().endswith("· 1 retry · 1 throttled")
    with progress("Load canvas in 1234.5"):
        progress.update("Jobs", inc=0, inc_total=4)
        progress.update("Jobs", 1)
        progress.update("Jobs", 1, label="Completed")  # a sub-counter: not counted twice
        assert progress.status().startswith("load 0 s · 2 requests · 251 rows · jobs 1/4")
    assert progress.status().startswith("working 0 s")
    assert "jobs" not in progress.status()
    progress.batch = "batch 2 of 5"  # set by the load library for a run in several packages
    with progress("Normalize canvas in 1234.6"):
        assert progress.status().startswith("batch 2 of 5: normalize 0 s · 2 requests")


def _read_all(leader: int) -> str:
    """Everything written to the terminal so far: one read of a pty returns at most one buffer's worth
    (about 4 KB), and a busy machine redraws the spinner often enough to fill more than that."""
    chunks = []
    while select.select([leader], [], [], 0.2)[0]:
        chunk = os.read(leader, 65536)
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks).decode()


def test_on_a_terminal_a_live_line_redraws_and_retries_print_above_it(tmp_path: Path) -> None:
    pipeline = dlt.pipeline("progress_tty", pipelines_dir=str(tmp_path), destination="duckdb")
    stats = RequestStats()
    leader, follower = pty.openpty()
    with os.fdopen(follower, "w") as terminal:
        with show_progress(pipeline, stats, out=terminal) as progress:
            assert pipeline.collector is progress
            stats.record_retry("server_error")
            stats.announce_retry(notice())
        terminal.flush()
        shown = _read_all(leader)
    os.close(leader)
    assert "retrying GET /api/v1/courses after a server error (HTTP 503): try 3 of 8 in 4.0 s" in shown
    assert "1 retry (1 waiting)" in shown  # the status line drawn under it
    assert "\x1b[" in shown  # drawn with terminal control codes
    assert not isinstance(pipeline.collector, LoadProgress)  # the pipeline's own collector is back


def test_retries_show_as_plain_lines_when_output_is_not_a_terminal(dlt_dir: Path) -> None:
    """A real run against the sandbox: the first two reads of the account fail with 503."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOURCES__")}
    with CanvasSandbox(size="small", seed=7) as sb:
        sb.faults = FaultPlan(schedule=[Scheduled("503", path=r"/accounts/self$", count=2)])
        env.update(
            RUNTIME__DLTHUB_TELEMETRY="false",
            DLT_DATA_DIR=str(dlt_dir / "dlt"),
            SOURCES__CANVAS__BASE_URL=sb.base_url,
            SOURCES__CANVAS__ACCESS_TOKEN=sb.admin_token,
        )
        result = subprocess.run(
            [sys.executable, str(ROOT / "pipelines" / "canvas_pipeline.py"), "--resources", "accounts"]
            + ["--no-transform"],
            cwd=dlt_dir,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        injected = sb.faults_injected()
    assert result.returncode == 0, result.stderr
    assert injected == {"503": 2}
    retries = [line for line in result.stdout.splitlines() if line.startswith("retrying ")]
    assert [line.split(" in ")[0] for line in retries] == [
        "retrying GET /api/v1/accounts/self after a server error (HTTP 503): try 2 of 8",
        "retrying GET /api/v1/accounts/self after a server error (HTTP 503): try 3 of 8",
    ]
    assert "\x1b[" not in result.stdout  # plain lines: no terminal control codes
    assert "retries: server_error 2 " in result.stdout  # the summary counts the same two
