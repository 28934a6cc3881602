"""The submissions cursors against a realistic Canvas: late commits in the cursor's second, skewed clocks.

Canvas filters `submitted_since`/`graded_since` strictly (`submitted_at > ?`) at whole seconds
(docs/canvas-api.md §4.5). A row stamped in the second a client already read up to, but committed after
the read, is only found again by a client that re-reads an overlap window before its cursor. And
the server's clock is not the client's: a cursor must come from the stamps Canvas served, never from
the client's clock. Each test loads exactly the rows that changed, with the values Canvas serves.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import dlt
import pytest

from sandbox.canvas import CanvasSandbox
from sandbox.canvas.advance import Changes
from sandbox.canvas.timestamps import server_now
from sources.canvas import canvas_source
from tests.canvas.test_canvas_source import keys_in, make_api
from tests.values import assert_values_match

Key = tuple[int, int, int]


@pytest.fixture
def sandbox() -> Iterator[CanvasSandbox]:
    with CanvasSandbox(size="small", seed=7, throttle="off") as sb:
        yield sb


def load_submissions(pipeline: dlt.Pipeline, sb: CanvasSandbox) -> set[Key]:
    """One run of the submissions resource; the keys it loaded."""
    api = make_api(sb)
    source = canvas_source(api=api)
    info = pipeline.run(source.with_resources("submissions"))
    assert not info.has_failed_jobs
    loads = pipeline.last_trace.last_normalize_info.loads_ids
    if not loads:
        return set()  # nothing to load
    last = loads[-1]
    return set(keys_in(pipeline, "submissions", f"where _dlt_load_id = '{last}'"))


def assert_loaded_exactly(
    pipeline: dlt.Pipeline, sb: CanvasSandbox, loaded: set[Key], changes: Changes
) -> None:
    missed = changes.changed_submissions - loaded
    assert not missed, f"{len(missed)} changed submissions never loaded, e.g. {sorted(missed)[:3]}"
    assert loaded == changes.changed_submissions
    assert_values_match(pipeline, sb, "submissions")


@pytest.mark.parametrize("lag_seconds", [0, 120], ids=["same-second", "two-minute-transactions"])
def test_rows_committed_at_the_cursor_after_the_read_arrive_next_run(
    sandbox: CanvasSandbox, pipeline: dlt.Pipeline, lag_seconds: int
) -> None:
    load_submissions(pipeline, sandbox)
    changes = sandbox.commit_at_cursors(lag_seconds)
    # every open course got late commits at (or just before) both of its cursors
    assert len(changes.submitted) >= 10 and len(changes.graded) >= 5
    assert_loaded_exactly(pipeline, sandbox, load_submissions(pipeline, sandbox), changes)
    # a third run finds nothing new: the re-read overlap is not loaded again
    assert load_submissions(pipeline, sandbox) == set()


def test_late_commits_after_an_incremental_run_arrive_too(
    sandbox: CanvasSandbox, pipeline: dlt.Pipeline
) -> None:
    # the cursors of an incremental run come from the rows it read, not from a full read
    load_submissions(pipeline, sandbox)
    changes = sandbox.advance()
    loaded = load_submissions(pipeline, sandbox)
    assert loaded == changes.changed_submissions
    late = sandbox.commit_at_cursors()
    assert late.submitted and late.graded
    assert_loaded_exactly(pipeline, sandbox, load_submissions(pipeline, sandbox), late)


@pytest.mark.parametrize("skew_seconds", [-3600, 3600], ids=["server-behind", "server-ahead"])
def test_a_server_clock_ahead_or_behind_the_clients(
    sandbox: CanvasSandbox, pipeline: dlt.Pipeline, skew_seconds: int
) -> None:
    """The server stamps by its own clock, an hour off the client's (the real clock here).

    A cursor taken from the client's clock skips everything a server behind it stamped since; a
    server ahead must not make the client drop or cap rows stamped after its own now.
    """
    load_submissions(pipeline, sandbox)
    changes = sandbox.advance(until=server_now(time.time(), skew_seconds))
    assert changes.changed_submissions
    assert_loaded_exactly(pipeline, sandbox, load_submissions(pipeline, sandbox), changes)
    late = sandbox.commit_at_cursors()
    assert_loaded_exactly(pipeline, sandbox, load_submissions(pipeline, sandbox), late)


def test_late_commits_are_stamped_in_the_cursors_second_and_leave_the_clock(sandbox: CanvasSandbox) -> None:
    def latest(field: str) -> dict[int, str]:
        best: dict[int, str] = {}
        for row in sandbox.truth_rows("submissions"):
            if row[field] and row[field] > best.get(row["course_id"], ""):
                best[row["course_id"]] = row[field]
        return best

    submitted, graded = latest("submitted_at"), latest("graded_at")
    clock = sandbox.institution.clock
    changes = sandbox.commit_at_cursors()
    rows = {(r["course_id"], r["assignment_id"], r["user_id"]): r for r in sandbox.truth_rows("submissions")}
    assert changes.submitted and changes.graded
    assert all(rows[k]["submitted_at"] == submitted[k[0]] for k in changes.submitted)
    assert all(
        rows[k]["graded_at"] == graded[k[0]] and rows[k]["workflow_state"] == "graded" for k in changes.graded
    )
    assert sandbox.institution.clock == clock
