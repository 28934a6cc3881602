"""Canvas reruns: each course list is read once per run, and rows read again unchanged are not loaded.

Against the small sandbox over real HTTP. Request counts are worked out from the sandbox's truth:
every collection is read in pages of 100 (`PER_PAGE`), so a list of n rows costs max(1, ceil(n/100))
requests.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import dlt
import pytest

from sandbox.canvas import CanvasSandbox
from sources.canvas import CanvasApi, canvas_source
from sources.canvas import submissions as submissions_module
from sources.canvas.settings import PER_PAGE
from sources.lms_http.shared_reads import SharedReads
from tests.canvas.test_canvas_source import TABLES, assert_matches_truth, keys_in, make_api

# tables whose unchanged rows are skipped (courses always load: their items drive the course children)
SKIPPED_WHEN_UNCHANGED = [t for t in TABLES if t != "courses"]
HASH_KEY = "0123456789abcdef" * 4


class RecordingReads(SharedReads):
    """SharedReads that remembers every instance, to look at what a run left in it."""

    made: list[RecordingReads] = []

    def __init__(self) -> None:
        super().__init__()
        RecordingReads.made.append(self)


@pytest.fixture
def sandbox() -> Iterator[CanvasSandbox]:
    with CanvasSandbox(size="small", seed=7, throttle="off") as sb:
        yield sb


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[RecordingReads]:
    RecordingReads.made = []
    monkeypatch.setattr(submissions_module, "SharedReads", RecordingReads)
    return RecordingReads.made


def run(
    pipeline: dlt.Pipeline,
    sb: CanvasSandbox,
    resources: list[str] = TABLES,
    refresh: Any = None,
    **kwargs: Any,
) -> tuple[dict[str, int], int, CanvasApi]:
    """One load of `resources`: rows loaded per table and requests the sandbox served."""
    sb.reset_stats()
    api = make_api(sb)
    source = canvas_source(api=api, **kwargs)
    info = pipeline.run(source.with_resources(*resources), refresh=refresh)
    assert not info.has_failed_jobs
    counts = pipeline.last_trace.last_normalize_info.row_counts
    return {t: counts.get(t, 0) for t in TABLES}, sb.stats.requests, api


def pages(rows: int) -> int:
    return max(1, math.ceil(rows / PER_PAGE))


def course_pages(sb: CanvasSandbox) -> dict[str, int]:
    """Requests per course collection, summed over courses (enrollments in every state)."""
    inst = sb.institution
    with inst.lock:
        courses = inst.courses
        return {
            "sections": sum(pages(len(c.sections)) for c in courses),
            "enrollments": sum(pages(len(c.enrollments)) for c in courses),
            "assignment_groups": sum(pages(len(c.groups)) for c in courses),
            "assignments": sum(pages(len(c.assignments)) for c in courses),
            "submissions": sum(pages(len(inst.served_submissions(c))) for c in courses),
            "live_students": sum(pages(len(inst.live_students(c))) for c in courses),
        }


def loaded_keys(pipeline: dlt.Pipeline, table: str, columns: str = "id") -> list[tuple[Any, ...]]:
    last = pipeline.last_trace.last_normalize_info.loads_ids[-1]
    with pipeline.sql_client() as client:
        return [
            tuple(r)
            for r in client.execute_sql(f"select {columns} from {table} where _dlt_load_id = '{last}'")
        ]


def test_no_change_rerun_loads_nothing_and_reads_each_course_list_once(
    sandbox: CanvasSandbox, pipeline: dlt.Pipeline, reads: list[RecordingReads]
) -> None:
    truth = sandbox.truth()
    per_course = course_pages(sandbox)
    n_courses = truth["courses"]
    account_wide = (
        1 + pages(truth["accounts"] - 1) + pages(truth["terms"]) + pages(n_courses) + pages(truth["users"])
    )
    lists = sum(per_course[t] for t in ("sections", "enrollments", "assignment_groups", "assignments"))

    loaded, full, _ = run(pipeline, sandbox)
    assert loaded == truth
    # the first sync of a course reads its submissions whole and no lists
    assert full == account_wide + lists + per_course["submissions"]

    loaded, rerun, _ = run(pipeline, sandbox)
    assert loaded == {t: 0 for t in SKIPPED_WHEN_UNCHANGED} | {"courses": n_courses}
    assert_matches_truth(pipeline, sandbox)
    # the check of a synced course asks twice since its cursors (one page each: nothing changed)
    # and takes the course's assignments and enrollments from the resources' reads; on its own it
    # read both again: per_course["assignments"] + per_course["live_students"] more requests
    assert rerun == account_wide + lists + 2 * n_courses
    assert rerun == full - per_course["submissions"] + 2 * n_courses
    by_route = sandbox.stats.by_route
    assert by_route["/api/v1/courses/:course_id/assignments"] == per_course["assignments"]
    assert by_route["/api/v1/courses/:course_id/enrollments"] == per_course["enrollments"]
    # each run's reads were all taken: nothing is held after the run
    first, second = reads
    assert (len(first), first.hits) == (0, 0)
    assert (len(second), second.hits, second.misses) == (0, 2 * n_courses, 2 * n_courses)


def test_submissions_alone_read_their_own_lists_and_keep_none(
    sandbox: CanvasSandbox, pipeline: dlt.Pipeline, reads: list[RecordingReads]
) -> None:
    truth = sandbox.truth()
    per_course = course_pages(sandbox)
    courses = pages(truth["courses"])
    _, full, _ = run(pipeline, sandbox, ["submissions"])
    assert full == courses + per_course["submissions"]
    loaded, rerun, _ = run(pipeline, sandbox, ["submissions"])
    assert loaded["submissions"] == 0
    # the every-state enrollments list (not the live students alone) and the assignments, per course
    assert rerun == courses + per_course["enrollments"] + per_course["assignments"] + 2 * truth["courses"]
    assert [len(r) for r in reads] == [0, 0] and [r.hits for r in reads] == [0, 0]


def test_a_changed_course_reloads_that_course_only(sandbox: CanvasSandbox, pipeline: dlt.Pipeline) -> None:
    run(pipeline, sandbox)
    inst = sandbox.institution
    api = make_api(sandbox)
    user_pages = [[u["id"] for u in page] for page in api.pages(f"accounts/{inst.root.id}/users")]
    with inst.lock:
        renamed, moved = inst.courses[2], inst.courses[5]
        section = renamed.sections[0]
        section.name = f"{section.name} (renamed)"
        teacher = next(e for e in moved.enrollments if e.type == "TeacherEnrollment")
        teacher.state = "inactive"
        teacher.updated_at = inst.clock + 1
        user = inst.users[7]
        user.name = f"{user.name} Jr"
    loaded, _, _ = run(pipeline, sandbox)

    assert sorted(loaded_keys(pipeline, "sections", "id, course_id")) == sorted(
        (s.id, renamed.id) for s in renamed.sections
    )
    assert sorted(loaded_keys(pipeline, "enrollments", "id, course_id")) == sorted(
        (e.id, moved.id) for e in moved.enrollments
    )
    # users are merged on their key: only the page holding the renamed user loads again
    page = next(p for p in user_pages if user.id in p)
    assert sorted(k[0] for k in loaded_keys(pipeline, "users")) == sorted(page)
    assert {t: n for t, n in loaded.items() if n} == {
        "courses": len(inst.courses),
        "sections": len(renamed.sections),
        "enrollments": len(moved.enrollments),
        "users": len(page),
    }
    assert_matches_truth(pipeline, sandbox)
    with pipeline.sql_client() as client:
        assert client.execute_sql(f"select name from sections where id = {section.id}") == [(section.name,)]
        assert client.execute_sql(f"select enrollment_state from enrollments where id = {teacher.id}") == [
            ("inactive",)
        ]
        assert client.execute_sql(f"select name from users where id = {user.id}") == [(user.name,)]


def test_a_changed_privacy_policy_reloads_everything(sandbox: CanvasSandbox, pipeline: dlt.Pipeline) -> None:
    truth = sandbox.truth()
    run(pipeline, sandbox, privacy={"hash_key": HASH_KEY})
    loaded, _, _ = run(pipeline, sandbox, privacy={"names": "pseudonymise", "hash_key": HASH_KEY})
    # submissions carry no names and keep their own cursors: nothing of theirs changed
    assert loaded == truth | {"submissions": 0}
    assert_matches_truth(pipeline, sandbox)
    names = {r["id"]: r["name"] for r in sandbox.truth_rows("users")}
    with pipeline.sql_client() as client:
        stored = dict(client.execute_sql("select id, name from users"))
    assert all(len(stored[i]) == 64 and stored[i] != names[i] for i in names)
    # the same policy again: nothing reloads
    loaded, _, _ = run(pipeline, sandbox, privacy={"names": "pseudonymise", "hash_key": HASH_KEY})
    assert loaded == {t: 0 for t in SKIPPED_WHEN_UNCHANGED} | {"courses": truth["courses"]}


def test_a_skipped_course_keeps_its_rows_and_its_fingerprints(
    sandbox: CanvasSandbox, pipeline: dlt.Pipeline
) -> None:
    truth = sandbox.truth()
    run(pipeline, sandbox)
    forbidden = sandbox.institution.courses[0].id
    sandbox.forbidden_courses = {forbidden}
    loaded, _, api = run(pipeline, sandbox)
    assert {s["course_id"] for s in api.stats.skipped} == {forbidden}
    assert loaded == {t: 0 for t in SKIPPED_WHEN_UNCHANGED} | {"courses": truth["courses"]}
    assert_matches_truth(pipeline, sandbox)  # its rows from the first run stay
    sandbox.forbidden_courses = set()
    # readable again and unchanged since its last load: nothing to load
    loaded, _, _ = run(pipeline, sandbox)
    assert loaded == {t: 0 for t in SKIPPED_WHEN_UNCHANGED} | {"courses": truth["courses"]}
    assert_matches_truth(pipeline, sandbox)


def test_full_refresh_loads_everything_again(sandbox: CanvasSandbox, pipeline: dlt.Pipeline) -> None:
    truth = sandbox.truth()
    run(pipeline, sandbox)
    loaded, _, _ = run(pipeline, sandbox, refresh="drop_sources")
    assert loaded == truth
    assert_matches_truth(pipeline, sandbox)


def rename_section(sb: CanvasSandbox, course_index: int) -> tuple[int, str]:
    with sb.institution.lock:
        section = sb.institution.courses[course_index].sections[0]
        section.name = f"{section.name} (renamed)"
        return section.id, section.name


def extract_only(pipeline: dlt.Pipeline, sb: CanvasSandbox) -> None:
    """A run that stops after extract: its package (rows and new fingerprints) stays pending."""
    api = make_api(sb)
    pipeline.extract(canvas_source(api=api).with_resources(*TABLES))
    assert pipeline.has_pending_data


def test_a_change_extracted_by_a_run_that_never_loaded_still_arrives(
    sandbox: CanvasSandbox, pipeline: dlt.Pipeline
) -> None:
    run(pipeline, sandbox)
    # pending: the next run loads that package (and, as dlt does with pending data, extracts nothing)
    section_id, name = rename_section(sandbox, 3)
    extract_only(pipeline, sandbox)
    loaded, _, _ = run(pipeline, sandbox)
    courses = sandbox.institution.courses
    assert loaded == {t: 0 for t in SKIPPED_WHEN_UNCHANGED} | {
        "courses": len(courses),
        "sections": len(courses[3].sections),  # the pending package's
    }
    assert_matches_truth(pipeline, sandbox)
    assert keys_in(pipeline, "sections", f"where name = '{name}'") == [(section_id,)]
    # aborted: dlt rewinds the state with the package, so the fingerprints go with the rows
    section_id, name = rename_section(sandbox, 4)
    extract_only(pipeline, sandbox)
    pipeline.abort_packages()
    assert not pipeline.has_pending_data
    run(pipeline, sandbox)
    assert sorted(k[0] for k in loaded_keys(pipeline, "sections")) == sorted(
        s.id for s in courses[4].sections
    )
    assert_matches_truth(pipeline, sandbox)
    assert keys_in(pipeline, "sections", f"where name = '{name}'") == [(section_id,)]


def test_a_shard_skips_its_unchanged_courses_but_reloads_account_wide_listings(
    sandbox: CanvasSandbox, pipeline: dlt.Pipeline
) -> None:
    truth = sandbox.truth()
    shard = [c.id for c in sandbox.institution.courses[:2]]
    run(pipeline, sandbox, course_ids=shard)
    loaded, _, _ = run(pipeline, sandbox, course_ids=shard)
    # other shards' pipelines write accounts, terms and users too: this one cannot know they are current
    assert loaded == {t: 0 for t in SKIPPED_WHEN_UNCHANGED} | {
        "courses": len(shard),
        "accounts": truth["accounts"],
        "terms": truth["terms"],
        "users": truth["users"],
    }
