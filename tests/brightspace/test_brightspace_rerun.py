"""Brightspace reruns: each course collection read once per run, and rows read again unchanged not loaded.

A full sync sends the floor's requests (the grade values sync takes the course's enrollments and
grade objects from the `enrollments` and `grade_objects` resources' reads); a rerun loads only the
courses and listing pages that changed; a changed privacy policy reloads everything.
"""

from __future__ import annotations

import math
from collections import Counter
from pathlib import Path
from typing import Any

import dlt
import pytest

from bench.brightspace_contenders import OUR_RESOURCES, run_floor
from sandbox.brightspace import BrightspaceSandbox
from sandbox.brightspace.institution import STUDENT
from sandbox.brightspace.pagination import OBJECT_LIST_PAGE_SIZE, PAGED_RESULT_SET_SIZE
from sources.brightspace import helpers
from sources.brightspace.settings import COURSE_CHILDREN, GRADE_VALUES_PAGE_SIZE
from sources.brightspace.settings import OBJECT_LIST_PAGE_SIZE as FINAL_GRADES_PAGE_SIZE
from sources.lms_http.errors import LmsPermissionError
from sources.lms_http.shared_reads import SharedReads

from .test_brightspace_source import assert_matches_truth, find_cause, keys_in, load, make_api

# tables whose rows are skipped when read again unchanged
PER_COURSE = ["enrollments", "classlists", "grade_setup", "grade_categories", "grade_objects", "final_grades"]
LISTINGS = ["org_units", "users"]
TABLES = [t for t in OUR_RESOURCES if t != "grade_values"]
HASH_KEY = "a-test-key-of-at-least-sixteen-characters"


class TrackedReads(SharedReads):
    """SharedReads that remember each instance, to look at what a run left in them."""

    made: list[SharedReads] = []

    def __init__(self) -> None:
        super().__init__()
        TrackedReads.made.append(self)


@pytest.fixture
def shared_reads(monkeypatch: pytest.MonkeyPatch) -> list[SharedReads]:
    """The SharedReads of the sources made during the test, in order."""
    TrackedReads.made = []
    monkeypatch.setattr(helpers, "SharedReads", TrackedReads)
    return TrackedReads.made


def pages(items: int, size: int) -> int:
    """Pages of a listing of `items` (an empty listing is still one page)."""
    return max(1, math.ceil(items / size))


def floor_requests(sb: BrightspaceSandbox) -> int:
    """The requests of a full sync of `OUR_RESOURCES` that reads every collection once, from the truth.

    `d2l/api/versions/`, the course offerings, org units and users listings, then per course the
    course, its enrollments, classlist (100 a page), grade setup, categories, objects (one page
    each), final grades and grade values (pages of the size we ask for).
    """
    truth = sb.truth()
    per_course = {
        table: Counter(k[0] for k in sb.truth_keys(table))
        for table in ("enrollments", "classlists", "final_grades", "grade_values")
    }
    total = 1 + pages(truth["courses"], PAGED_RESULT_SET_SIZE)
    total += pages(truth["org_units"], PAGED_RESULT_SET_SIZE) + pages(truth["users"], PAGED_RESULT_SET_SIZE)
    for (ou,) in sb.truth_keys("courses"):
        total += 1 + 3  # the course; grade setup, categories and objects
        total += pages(per_course["enrollments"][ou], PAGED_RESULT_SET_SIZE)
        total += pages(per_course["classlists"][ou], OBJECT_LIST_PAGE_SIZE)
        total += pages(per_course["final_grades"][ou], FINAL_GRADES_PAGE_SIZE)
        total += pages(per_course["grade_values"][ou], GRADE_VALUES_PAGE_SIZE)
    return total


def loaded(pipeline: dlt.Pipeline) -> dict[str, int]:
    """Rows the last run normalized, by table (tables it loaded nothing into are 0)."""
    counts = pipeline.last_trace.last_normalize_info.row_counts
    return {table: counts.get(table, 0) for table in OUR_RESOURCES}


def drop_a_student(sb: BrightspaceSandbox) -> tuple[int, int]:
    """Drop one graded student from the first course that has one; nothing else changes.

    Returns:
        (OrgUnitId, UserId) of the dropped enrollment.
    """
    inst = sb.institution
    graded = {(ou, uid) for ou, _, uid in sb.truth_keys("grade_values")}
    with inst.lock:
        for ou in inst.course_ids:
            course = inst.courses[ou]
            for uid in course.enrolled_user_ids():
                if course.enrollments[uid].role is STUDENT and (ou, uid) in graded:
                    inst.drop_enrollment(course, uid)
                    return ou, uid
    raise AssertionError("no graded student in the sandbox")


def test_full_sync_reads_each_collection_once(
    sandbox: BrightspaceSandbox, pipeline: dlt.Pipeline, shared_reads: list[SharedReads]
) -> None:
    expected = floor_requests(sandbox)
    floor = run_floor({**sandbox_info(sandbox), "refresh_token": sandbox.issue_refresh_token()})
    assert floor["requests"] == expected
    sandbox.reset_stats()
    api = make_api(sandbox)
    load(pipeline, api, resources=list(OUR_RESOURCES))
    assert api.stats.requests == expected
    stats = sandbox.stats
    assert stats["requests"] - stats["token_requests"] == expected
    # one read of each course's enrollments and grade objects, for the resource and the sync
    courses = sandbox.truth()["courses"]
    assert stats["by_route"]["enrollments_by_org_unit"] == courses
    assert stats["by_route"]["grade_objects"] == courses
    # every course list is asked for once per reader; the two shared ones are taken twice, none is left
    lists = sum(1 for child in COURSE_CHILDREN if not child.single)
    (reads,) = shared_reads
    assert (reads.misses, reads.hits, len(reads)) == (lists * courses, 2 * courses, 0)
    assert_matches_truth(pipeline, sandbox, [*TABLES, "grade_values"])


def test_grade_values_alone_keep_no_read_for_an_absent_reader(
    sandbox: BrightspaceSandbox, pipeline: dlt.Pipeline, shared_reads: list[SharedReads]
) -> None:
    load(pipeline, make_api(sandbox), resources=["grade_values"])
    assert_matches_truth(pipeline, sandbox, ["grade_values"])
    courses = sandbox.truth()["courses"]
    assert sandbox.stats["by_route"]["enrollments_by_org_unit"] == courses
    assert sandbox.stats["by_route"]["grade_objects"] == courses
    # `enrollments` and `grade_objects` are not selected: nothing is kept for them
    (reads,) = shared_reads
    assert (reads.misses, reads.hits, len(reads)) == (2 * courses, 0, 0)


def test_a_skipped_course_keeps_its_rows_and_fingerprint(
    sandbox: BrightspaceSandbox, pipeline: dlt.Pipeline, dlt_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    token_file = dlt_dir / "bs.token"
    resources = ["enrollments", "grade_values"]
    load(pipeline, make_api(sandbox, token_file=token_file), resources=resources)
    ou = min(k[0] for k in sandbox.truth_keys("courses"))
    forbidden = f"enrollments/orgUnits/{ou}/users/"
    real_rows = helpers.BrightspaceApi.rows

    def rows_forbidding_one_course(api: helpers.BrightspaceApi, path: str, params: Any = None) -> Any:
        if path.endswith(forbidden):
            raise LmsPermissionError(f"no permission for {path}", 403)
        return real_rows(api, path, params)

    monkeypatch.setattr(helpers.BrightspaceApi, "rows", rows_forbidding_one_course)
    api = make_api(sandbox, token_file=token_file)
    load(pipeline, api, resources=resources)
    # both readers of the course's enrollments skip it; its rows stay as they were
    assert sorted((s["resource"], s["org_unit_id"]) for s in api.stats.skipped) == [
        ("enrollments", ou),
        ("grade_values", ou),
    ]
    assert_matches_truth(pipeline, sandbox, resources)
    with pytest.raises(Exception) as info:
        load(pipeline, make_api(sandbox, token_file=token_file), resources=resources, strict=True)
    assert isinstance(find_cause(info.value, LmsPermissionError), LmsPermissionError)

    monkeypatch.setattr(helpers.BrightspaceApi, "rows", real_rows)
    load(pipeline, make_api(sandbox, token_file=token_file), resources=resources)
    # the skip left the course's fingerprint alone: readable again and unchanged, nothing loads
    assert loaded(pipeline)["enrollments"] == 0
    assert_matches_truth(pipeline, sandbox, resources)


def test_a_shard_loads_the_shared_listings_whole_and_skips_its_unchanged_courses(
    sandbox: BrightspaceSandbox, pipeline: dlt.Pipeline, dlt_dir: Path
) -> None:
    token_file = dlt_dir / "bs.token"
    shard = sorted(k[0] for k in sandbox.truth_keys("courses"))[:2]
    resources = ["courses", *PER_COURSE, *LISTINGS]
    for _ in range(2):
        load(pipeline, make_api(sandbox, token_file=token_file), resources=resources, org_unit_ids=shard)
    truth = sandbox.truth()
    counts = loaded(pipeline)
    # org units and users have a writer per shard: a shard cannot know what the others loaded
    assert {t: counts[t] for t in LISTINGS} == {t: truth[t] for t in LISTINGS}
    assert {t: counts[t] for t in PER_COURSE} == dict.fromkeys(PER_COURSE, 0)


def test_unchanged_rerun_loads_nothing_and_a_changed_course_loads_only_its_rows(
    sandbox: BrightspaceSandbox, pipeline: dlt.Pipeline, dlt_dir: Path
) -> None:
    token_file = dlt_dir / "bs.token"
    load(pipeline, make_api(sandbox, token_file=token_file), resources=list(OUR_RESOURCES))
    truth = sandbox.truth()
    assert loaded(pipeline) == {t: truth[t] for t in OUR_RESOURCES}

    load(pipeline, make_api(sandbox, token_file=token_file), resources=list(OUR_RESOURCES))
    assert loaded(pipeline) == {**dict.fromkeys(OUR_RESOURCES, 0), "courses": truth["courses"]}
    assert_matches_truth(pipeline, sandbox, [*TABLES, "grade_values"])

    ou, uid = drop_a_student(sandbox)
    load(pipeline, make_api(sandbox, token_file=token_file), resources=list(OUR_RESOURCES))
    assert_matches_truth(pipeline, sandbox, [*TABLES, "grade_values"])
    counts = loaded(pipeline)
    # the course's enrollments, classlist and final grades changed: all of its rows load again
    for table in ("enrollments", "classlists", "final_grades"):
        assert counts[table] == sum(1 for k in sandbox.truth_keys(table) if k[0] == ou), table
        last = pipeline.last_trace.last_normalize_info.loads_ids[-1]
        assert {k[0] for k in keys_in(pipeline, table, f"where _dlt_load_id = '{last}'")} == {ou}, table
        assert (ou, uid) not in set(keys_in(pipeline, table))
    for table in ("grade_setup", "grade_categories", "grade_objects", *LISTINGS):
        assert counts[table] == 0, table
    # the dropped student's grade values leave as delete markers, nothing else loads
    assert not {k for k in keys_in(pipeline, "grade_values") if k[0] == ou and k[2] == uid}


def test_a_changed_privacy_policy_reloads_everything(
    sandbox: BrightspaceSandbox, pipeline: dlt.Pipeline, dlt_dir: Path
) -> None:
    token_file = dlt_dir / "bs.token"
    resources = [*PER_COURSE, *LISTINGS]
    load(pipeline, make_api(sandbox, token_file=token_file), resources=resources)
    names = {"names": "pseudonymise", "hash_key": HASH_KEY}
    load(pipeline, make_api(sandbox, token_file=token_file), resources=resources, privacy=names)
    truth = sandbox.truth()
    assert {t: n for t, n in loaded(pipeline).items() if t in resources} == {t: truth[t] for t in resources}
    assert_matches_truth(pipeline, sandbox, resources)
    with pipeline.sql_client() as client:
        (plain,) = client.execute_sql(
            "select count(*) from enrollments where length(display_name) <> 64 and display_name is not null"
        )[0]
    assert plain == 0
    # the same policy again: nothing changed, nothing loads
    load(pipeline, make_api(sandbox, token_file=token_file), resources=resources, privacy=names)
    assert sum(loaded(pipeline).values()) == 0


def sandbox_info(sb: BrightspaceSandbox) -> dict[str, Any]:
    """Connection details in the form the benchmark's floor takes."""
    return {
        "base_url": sb.base_url,
        "token_url": sb.token_url,
        "client_id": sb.client_id,
        "client_secret": sb.client_secret,
    }
