"""Progress of a load: a live status line on a terminal, plain lines in logs, and every retry as it happens.

`show_progress(pipeline, stats)` plugs a dlt progress collector into the pipeline (dlt reports rows
per table while extracting, files while normalizing, jobs while loading) and listens to the HTTP
layer's retry notices. On a terminal, rich draws one status line that changes several times a
second (stage, seconds, requests, rows, retries waiting), so no stretch of the run is silent; where
output goes to a file or a pipe, a plain status line is written every `HEARTBEAT_SECONDS` instead.
Retries are printed as they happen in both cases ("retrying GET ... try 3 of 8 in 4.0 s").
"""

from __future__ import annotations

import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TextIO

from dlt.common.runtime.collector import Collector, NullCollector
from dlt.pipeline.pipeline import Pipeline
from rich.console import Console
from rich.live import Live
from rich.spinner import Spinner

from sources.lms_http.progress import RetryNotice
from sources.lms_http.stats import RequestStats

# Plain (not a terminal) output: one status line this often while a run works.
HEARTBEAT_SECONDS = 10.0
REFRESH_PER_SECOND = 4
# dlt counters that count steps of work, not rows of a table
_NOT_TABLES = {"Resources", "Files", "Items", "Jobs"}


class LoadProgress(Collector):
    """A dlt progress collector that also counts the HTTP layer's requests and retries.

    dlt calls `update` from its worker threads; every counter is kept under one lock.
    """

    def __init__(self, stats: RequestStats, clock: Callable[[], float] = time.monotonic) -> None:
        self.stats = stats
        self.step = ""
        self._clock = clock
        self._lock = threading.Lock()
        self._started = clock()
        self._step_started = self._started
        self._stage = "starting"
        self._rows: Counter[str] = Counter()
        self._work: dict[str, tuple[int, int | None]] = {}
        self._retry_ends: list[float] = []
        # "batch 2 of 5" while a run loads its courses in several packages (pipelines/load.py)
        self.batch = ""

    # dlt's collector interface
    def update(
        self,
        name: str,
        inc: int = 1,
        total: int | None = None,
        inc_total: int | None = None,
        message: str | None = None,
        label: str | None = None,
    ) -> None:
        if label:
            return  # "Completed"/"Failed" sub-counters: the main counter already moves
        with self._lock:
            if self._stage == "extract" and name not in _NOT_TABLES:
                self._rows[name] += inc
            elif name in ("Files", "Jobs"):
                done, known = self._work.get(name, (0, None))
                if inc_total:
                    known = (known or 0) + inc_total
                self._work[name] = (done + inc, total if total is not None else known)

    def _start(self, step: str) -> None:
        # dlt names steps "Extract canvas", "Normalize canvas in <load id>", "Load canvas in <load id>"
        with self._lock:
            self._stage = step.split(" ", 1)[0].lower() or "working"
            self._step_started = self._clock()
            self._work = {}

    def _stop(self) -> None:
        with self._lock:
            self._stage = "working"  # between dlt steps: the summary, the SQL models, the report
            self._step_started = self._clock()
            self._work = {}

    # the HTTP layer's retries
    def on_retry(self, notice: RetryNotice) -> None:
        with self._lock:
            self._retry_ends.append(self._clock() + notice.wait_seconds)

    def status(self) -> str:
        """One line: stage and its seconds, requests, rows extracted, work done, retries waiting."""
        http = self.stats.as_dict()
        now = self._clock()
        with self._lock:
            self._retry_ends = [end for end in self._retry_ends if end > now]
            waiting = len(self._retry_ends)
            rows = sum(self._rows.values())
            stage = f"{self.batch}: {self._stage}" if self.batch else self._stage
            parts = [f"{stage} {now - self._step_started:.0f} s", _count(http["requests"], "request")]
            if rows:
                parts.append(_count(rows, "row"))
            for name, (done, known) in sorted(self._work.items()):
                parts.append(f"{name.lower()} {done}" + (f"/{known}" if known else ""))
        retries = sum(http["retries"].values())
        if retries:
            parts.append(_count(retries, "retry", "retries") + (f" ({waiting} waiting)" if waiting else ""))
        if http["throttled"]:
            parts.append(f"{http['throttled']} throttled")
        return " · ".join(parts)


def _count(number: int, one: str, many: str | None = None) -> str:
    return f"{number:,} {one if number == 1 else many or one + 's'}"


class _PlainDisplay:
    """Writes the status line every `HEARTBEAT_SECONDS`, and each retry at once, as plain lines."""

    def __init__(self, progress: LoadProgress, out: TextIO) -> None:
        self.progress, self.out = progress, out
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name="load-progress", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _beat(self) -> None:
        while not self._stop.wait(HEARTBEAT_SECONDS):
            self.write(f"... {self.progress.status()}")

    def write(self, line: str) -> None:
        print(line, file=self.out, flush=True)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)


class _LiveDisplay:
    """A rich status line that redraws itself; what the run prints goes above it."""

    def __init__(self, progress: LoadProgress, console: Console) -> None:
        self.progress, self.console = progress, console
        self._spinner = Spinner("dots", text=progress.status())
        self._live = Live(
            console=console,
            transient=True,
            # stdout printed meanwhile goes above the line; stderr is left alone, so errors stay on
            # stderr even when only stdout is a terminal
            redirect_stderr=False,
            refresh_per_second=REFRESH_PER_SECOND,
            get_renderable=self._render,
        )

    def _render(self) -> Spinner:
        self._spinner.update(text=self.progress.status())
        return self._spinner

    def start(self) -> None:
        self._live.start()

    def write(self, line: str) -> None:
        self.console.print(line, markup=False, highlight=False, soft_wrap=True)

    def close(self) -> None:
        self._live.stop()


@contextmanager
def show_progress(
    pipeline: Pipeline, stats: RequestStats, out: TextIO | None = None
) -> Iterator[LoadProgress]:
    """Show the progress of the pipeline steps run inside the block (see the module docstring).

    A collector chosen when the pipeline was made (`-v` asks dlt for its log collector) is kept;
    then only the retry lines are added.
    """
    out = out or sys.stdout
    progress = LoadProgress(stats)
    console = Console(file=out, soft_wrap=True)  # lines printed above the status line keep their breaks
    live = console.is_terminal and not console.is_dumb_terminal
    display: _LiveDisplay | _PlainDisplay = (
        _LiveDisplay(progress, console) if live else _PlainDisplay(progress, out)
    )
    previous = pipeline.collector
    keep_dlt_collector = not isinstance(previous, NullCollector)
    if not keep_dlt_collector:
        pipeline.collector = progress
        display.start()

    def on_retry(notice: RetryNotice) -> None:
        progress.on_retry(notice)
        display.write(notice.describe())

    stop_listening = stats.listen(on_retry)
    try:
        yield progress
    finally:
        stop_listening()
        if not keep_dlt_collector:
            display.close()
            pipeline.collector = previous


__all__ = ["HEARTBEAT_SECONDS", "LoadProgress", "show_progress"]
