"""Canvas LMS source: accounts, terms, courses, users and per-course gradebook data."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from itertools import chain
from typing import Any, cast

import dlt
from dlt.sources import DltResource

from ..arrow_rows import arrow_pages
from ..lms_http.deferred import DeferredClient
from ..lms_http.errors import LmsPermissionError
from ..privacy import PrivacyPolicy, privacy_rules, protect_all
from ..unchanged import CourseDigests, PageDigests
from .connection import CanvasSettings, canvas_settings
from .engagement import engagement_resources
from .helpers import CanvasApi, shape_assignment_group, shape_child, shape_enrollment
from .rollcall import rollcall_resource
from .settings import COLUMNS, COURSE_CHILDREN, DEFAULT_OVERLAP_SECONDS, PERSONAL_FIELDS
from .submissions import SHARED_CHILDREN, CourseLists, CourseSubmissionSync

logger = logging.getLogger(__name__)

__all__ = ["canvas_source", "canvas_settings", "CanvasApi", "CanvasSettings"]

_SHAPERS = {
    "enrollments": lambda row, course_id: shape_enrollment(row) | {"course_id": course_id},
    "assignment_groups": shape_assignment_group,
}


@dlt.source(name="canvas", max_table_nesting=0)
def canvas_source(
    account_id: str = "self",
    course_ids: Sequence[int] | None = None,
    term_ids: Sequence[int] | None = None,
    submissions_overlap_seconds: int = DEFAULT_OVERLAP_SECONDS,
    strict: bool = False,
    rollcall_bucket_url: str | None = None,
    rollcall_file_glob: str = "*.csv",
    privacy: PrivacyPolicy | None = None,
    api: CanvasApi | None = None,
) -> Sequence[DltResource]:
    """Load a Canvas account: accounts, terms, courses, users, sections, enrollments (with
    grades), assignment groups, assignments and submissions.

    Args:
        account_id: the root account id, or `self` for the host's root account.
        course_ids: load only these courses (a shard); other courses' rows are left untouched.
        term_ids: load only courses of these enrollment terms (a shard).
        submissions_overlap_seconds: window re-read before each submissions cursor.
        strict: fail the run on a course the token may not read, instead of skipping it.
        rollcall_bucket_url: folder or bucket holding Roll Call attendance CSVs; None (the
            default) leaves the `rollcall_attendance` resource out.
        rollcall_file_glob: which files under `rollcall_bucket_url` are Roll Call reports.
        privacy: keep, pseudonymise or drop names, e-mails, login ids, SIS ids and other personal
            fields (`[sources.canvas.privacy]`, key `[sources.privacy] hash_key`; see sources/privacy.py).
        api: the client; default one built from `[sources.canvas]` (see `CanvasSettings`: host,
            token, concurrency, retries). The load library passes its own to read its statistics.

    Returns:
        The resources; select a subset with `.with_resources(...)`.

    Raises:
        PrivacyConfigError: the privacy policy cannot be applied (names the setting to fix).
        ConfigFieldMissingException: (at the first request) no `api` given, and `[sources.canvas]`
            lacks base_url or access_token.
    """
    rules = privacy_rules(privacy, "canvas")
    if api is None:
        # resolved at the first request: a source built only to list its resources needs no settings
        api = cast(CanvasApi, DeferredClient(lambda: canvas_settings().client()))
    # one run's shared reads of course lists (a source instance is extracted once)
    lists = CourseLists(api)
    # fingerprints of loaded rows carry the policy: a changed policy reloads everything
    salt = rules.signature

    def fresh_pages(pages: Iterator[list[dict[str, Any]]]) -> Iterator[list[dict[str, Any]]]:
        """Pages of an account-wide listing merged on its key, less those loaded before unchanged.

        Only a whole-account run skips pages: the pipelines of shards all write these tables, so
        one shard's record of what it loaded does not tell what the table now holds.
        """
        if course_ids or term_ids:
            return pages
        return PageDigests(dlt.current.resource_state(), salt).fresh(pages)

    def guarded(scope: str, course: dict[str, Any], fetch: Callable[[], Any]) -> list[dict[str, Any]]:
        try:
            return list(fetch())
        except LmsPermissionError as exc:
            if strict:
                raise
            logger.warning("skipping %s of course %s: %s", scope, course["id"], exc)
            api.stats.record_skipped(scope, "course_id", course["id"], str(exc))
            return []

    @dlt.resource(name="accounts", primary_key="id", write_disposition="merge", columns=COLUMNS["accounts"])
    def accounts() -> Iterator[list[dict[str, Any]]]:
        root = api.get(f"accounts/{account_id}")
        sub_accounts = api.pages(f"accounts/{root['id']}/sub_accounts", {"recursive": "true"})
        yield from fresh_pages(chain([[root]], sub_accounts))

    @dlt.resource(name="terms", primary_key="id", write_disposition="merge", columns=COLUMNS["terms"])
    def terms() -> Iterator[list[dict[str, Any]]]:
        pages = api.pages(
            f"accounts/{account_id}/terms", {"workflow_state[]": "all"}, data_selector="enrollment_terms"
        )
        yield from fresh_pages(pages)

    @dlt.resource(name="courses", primary_key="id", write_disposition="merge", columns=COLUMNS["courses"])
    def courses() -> Iterator[dict[str, Any]]:
        # one course per item so each course's children can be fetched in parallel
        # each course once, even if pages shift under the listing (its children are read once)
        if course_ids:
            for course_id in dict.fromkeys(int(c) for c in course_ids):
                yield api.get(f"courses/{course_id}")
            return
        seen: set[int] = set()
        for term_id in term_ids or [None]:
            params: dict[str, Any] = {"state[]": "all"}
            if term_id is not None:
                params["enrollment_term_id"] = int(term_id)
            for page in api.pages(f"accounts/{account_id}/courses", params):
                for course in page:
                    if int(course["id"]) not in seen:
                        seen.add(int(course["id"]))
                        yield course

    @dlt.resource(name="users", primary_key="id", write_disposition="merge", columns=COLUMNS["users"])
    def users() -> Iterator[list[dict[str, Any]]]:
        yield from fresh_pages(api.pages(f"accounts/{account_id}/users"))

    def course_child(name: str, path: str, params: dict[str, Any]) -> DltResource:
        shape = _SHAPERS.get(name, shape_child)

        @dlt.defer
        def fetch(course: dict[str, Any], digests: CourseDigests, uses: int) -> list[dict[str, Any]]:
            course_id = int(course["id"])

            def read() -> list[dict[str, Any]]:
                raw = (
                    lists.rows(name, course_id, uses)
                    if name in SHARED_CHILDREN
                    else api.rows(path.format(course_id=course_id), params)
                )
                # an unchanged course yields nothing and keeps its rows; a skipped one keeps its digest
                return digests.changed(course_id, [shape(r, course_id) for r in raw])

            return guarded(name, course, read)

        def child(course: dict[str, Any]) -> Iterator[Any]:
            # state and the read plan are taken here, in the extract thread; the HTTP work runs in the pool
            digests = CourseDigests(dlt.current.resource_state(), salt)
            uses = lists.readers(name, int(course["id"])) if name in SHARED_CHILDREN else 0
            yield fetch(course, digests, uses)

        return dlt.transformer(
            child,
            name=name,
            data_from=courses,
            primary_key="id",
            merge_key="course_id",
            write_disposition="merge",
            columns=COLUMNS[name],
        )

    @dlt.transformer(
        name="submissions",
        data_from=courses,
        primary_key=("course_id", "assignment_id", "user_id"),
        write_disposition="merge",
        columns=COLUMNS["submissions"],
    )
    def submissions(course: dict[str, Any]) -> Iterator[Any]:
        # state is read here, in the extract thread; the HTTP work runs in the worker pool
        course_id = int(course["id"])
        per_course = dlt.current.resource_state().setdefault("courses", {})
        state = per_course.setdefault(str(course_id), {})
        uses = {name: lists.readers(name, course_id) for name in SHARED_CHILDREN}

        @dlt.defer
        def fetch() -> list[dict[str, Any]]:
            sync = CourseSubmissionSync(
                api,
                course_id,
                state,
                submissions_overlap_seconds,
                lambda name: lists.rows(name, course_id, uses[name]),
            )
            return guarded("submissions", course, sync.run)

        yield fetch()

    resources = [
        accounts,
        terms,
        courses,
        users,
        *(course_child(name, path, params) for name, path, params in COURSE_CHILDREN),
        submissions,
        *engagement_resources(courses, api, strict),
        *(
            [
                rollcall_resource(
                    rollcall_bucket_url,
                    rollcall_file_glob,
                    strict=strict,
                    on_rejected=lambda name, reason: api.stats.record_skipped(
                        "rollcall_attendance", "file", name, reason
                    ),
                    course_ids=course_ids,
                )
            ]
            if rollcall_bucket_url
            else []
        ),
    ]
    # personal fields are dropped or hashed in extract, before any row is written
    # then the biggest table's items become Arrow tables typed by its hints (sources/arrow_rows.py)
    return arrow_pages(protect_all(resources, PERSONAL_FIELDS, rules), ("submissions",))
