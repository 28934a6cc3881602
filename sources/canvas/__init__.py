"""Canvas LMS source: accounts, terms, courses, users and per-course gradebook data."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from itertools import chain
from typing import Any, cast

import dlt
from dlt.sources import DltResource

from ..arrow_rows import arrow_pages
from ..course_batches import CourseBatches
from ..lms_http.deferred import DeferredClient
from ..lms_http.errors import LmsApiError, LmsNotFoundError, LmsPermissionError
from ..privacy import DROP, PrivacyPolicy, privacy_rules, protect_all, table_actions
from ..unchanged import CourseDigests, PageDigests
from .connection import CanvasSettings, canvas_settings
from .engagement import engagement_resources
from .grading import (
    GradingPeriodSets,
    custom_grade_statuses,
    late_policy,
    period_grades,
    shape_period_grade,
    shape_period_set,
    shape_periods,
)
from .helpers import CanvasApi, shape_assignment_group, shape_child, shape_enrollment
from .rejects import Rejects, as_rejects, is_course, key_problem, route_rejects
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
    course_batches: CourseBatches | None = None,
) -> Sequence[DltResource]:
    """Load a Canvas account: accounts, terms, courses, users, sections, enrollments (with
    grades), assignment groups, assignments, submissions, grading period sets and periods,
    per-period enrollment grades, late policies and custom grade statuses.

    A row whose key field is missing or mistyped goes to the `rejects` table (rejects.py).

    Args:
        account_id: the root account id, or `self` for the host's root account.
        course_ids: load only these courses (a shard); other courses' rows are left untouched.
        term_ids: load only courses of these enrollment terms (a shard).
        submissions_overlap_seconds: window re-read before each submissions cursor.
        strict: fail the run on a course the token may not read, instead of skipping it, and on a
            row with a missing or mistyped key, instead of setting it aside in `rejects`.
        rollcall_bucket_url: folder or bucket holding Roll Call attendance CSVs; None (the
            default) leaves the `rollcall_attendance` resource out.
        rollcall_file_glob: which files under `rollcall_bucket_url` are Roll Call reports.
        privacy: keep, pseudonymise or drop names, e-mails, login ids, SIS ids and other personal
            fields (`[sources.canvas.privacy]`, key `[sources.privacy] hash_key`; see sources/privacy.py).
        api: the client; default one built from `[sources.canvas]` (see `CanvasSettings`: host,
            token, concurrency, retries). The load library passes its own to read its statistics.
        course_batches: the run's courses in batches (sources/course_batches.py): this source
            instance yields the current batch's courses only; None yields every course.

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
    rejects = Rejects(api, strict)

    def unreadable(scope: str, exc: LmsApiError) -> None:
        """An account-level listing the token may not read: fail in strict mode, else skip it."""
        if strict:
            raise exc
        logger.warning("skipping %s of account %s: %s", scope, account_id, exc)
        api.stats.record_skipped(scope, "account_id", account_id, str(exc))

    # read once per run: every batch's courses take their periods from the same sets
    period_sets = (
        course_batches.shared("grading_period_sets", lambda: GradingPeriodSets(api, account_id, unreadable))
        if course_batches is not None
        else GradingPeriodSets(api, account_id, unreadable)
    )
    # e-mail is asked for only when the privacy policy keeps (or hashes) it
    user_includes = ["last_login"]
    if table_actions(PERSONAL_FIELDS["users"], rules).get("email") != DROP:
        user_includes.append("email")
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

    def checked(endpoint: str, pages: Iterator[list[dict[str, Any]]]) -> Iterator[Any]:
        """Each page's good rows, and its rejects marked for the `rejects` table."""
        for page in pages:
            good, bad = rejects.split(endpoint, None, page)
            if bad:
                yield as_rejects(bad)
            if good:
                yield good

    def flush_rejects(done: threading.Event, bad: list[dict[str, Any]]) -> Any:
        """A deferred item: the rejects a course's fetch set aside, once that fetch is done.

        The fetch was queued first in the same first-in-first-out pool, so it is running or done.
        """
        done.wait()
        return as_rejects(bad) if bad else None

    def course_fetch(
        scope: str, course: dict[str, Any], read: Callable[[list[dict[str, Any]]], list[dict[str, Any]]]
    ) -> Iterator[Any]:
        """Two deferred items: `read(rejected)` run in the pool (guarded), then the rows it rejected."""
        done, bad = threading.Event(), []

        @dlt.defer
        def fetch() -> list[dict[str, Any]]:
            try:
                return guarded(scope, course, lambda: read(bad))
            finally:
                done.set()

        yield fetch()
        yield dlt.defer(flush_rejects)(done, bad)

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
        yield from checked("accounts", fresh_pages(chain([[root]], sub_accounts)))

    @dlt.resource(name="terms", primary_key="id", write_disposition="merge", columns=COLUMNS["terms"])
    def terms() -> Iterator[list[dict[str, Any]]]:
        pages = api.pages(
            f"accounts/{account_id}/terms", {"workflow_state[]": "all"}, data_selector="enrollment_terms"
        )
        yield from checked("terms", fresh_pages(pages))

    @dlt.resource(name="courses", primary_key="id", write_disposition="merge", columns=COLUMNS["courses"])
    def courses() -> Iterator[Any]:
        # one course per item so each course's children can be fetched in parallel
        listing = listed_courses()
        yield from course_batches.take(listing) if course_batches else listing
        # the listing is read to its end by now (the first batch takes it whole): the course rows
        # without a usable id go to the `rejects` table; the per-course transformers receive this
        # item too and skip it (`is_course`)
        if rejected_courses:
            yield as_rejects(list(rejected_courses))
            rejected_courses.clear()

    rejected_courses: list[dict[str, Any]] = []

    def listed_courses() -> Iterator[dict[str, Any]]:
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
                # a course without a usable id feeds no child resource: its rejects row is kept
                # for the end of the listing (`courses`)
                page, bad = rejects.split("courses", None, page)
                rejected_courses.extend(bad)
                for course in page:
                    if int(course["id"]) not in seen:
                        seen.add(int(course["id"]))
                        yield course

    @dlt.resource(name="users", primary_key="id", write_disposition="merge", columns=COLUMNS["users"])
    def users() -> Iterator[list[dict[str, Any]]]:
        pages = api.pages(f"accounts/{account_id}/users", {"include[]": user_includes})
        yield from checked("users", fresh_pages(pages))

    def course_child(name: str, path: str, params: dict[str, Any]) -> DltResource:
        shape = _SHAPERS.get(name, shape_child)

        def child(course: dict[str, Any]) -> Iterator[Any]:
            if not is_course(course):
                return
            # state and the read plan are taken here, in the extract thread; the HTTP work runs in the pool
            course_id = int(course["id"])
            digests = CourseDigests(dlt.current.resource_state(), salt)
            uses = lists.readers(name, course_id) if name in SHARED_CHILDREN else 0

            def read(bad: list[dict[str, Any]]) -> list[dict[str, Any]]:
                raw = (
                    lists.rows(name, course_id, uses)
                    if name in SHARED_CHILDREN
                    else api.rows(path.format(course_id=course_id), params)
                )
                good, rejected = rejects.split(name, course_id, raw)
                bad.extend(rejected)
                # an unchanged course yields nothing and keeps its rows; a skipped one keeps its digest
                return digests.changed(course_id, [shape(r, course_id) for r in good])

            yield from course_fetch(name, course, read)

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
        if not is_course(course):
            return
        # state is read here, in the extract thread; the HTTP work runs in the worker pool
        course_id = int(course["id"])
        per_course = dlt.current.resource_state().setdefault("courses", {})
        state = per_course.setdefault(str(course_id), {})
        uses = {name: lists.readers(name, course_id) for name in SHARED_CHILDREN}

        def read(bad: list[dict[str, Any]]) -> list[dict[str, Any]]:
            sync = CourseSubmissionSync(
                api,
                course_id,
                state,
                submissions_overlap_seconds,
                lambda name: lists.rows(name, course_id, uses[name]),
                rejects,
            )
            try:
                return sync.run()
            finally:
                bad.extend(sync.rejected)

        yield from course_fetch("submissions", course, read)

    @dlt.resource(
        name="grading_period_sets",
        primary_key="id",
        write_disposition="merge",
        columns=COLUMNS["grading_period_sets"],
    )
    def grading_period_sets() -> Iterator[Any]:
        yield from checked(
            "grading_period_sets", fresh_pages(iter([[shape_period_set(s) for s in period_sets.sets()]]))
        )

    @dlt.resource(
        name="grading_periods",
        primary_key="id",
        write_disposition="merge",
        columns=COLUMNS["grading_periods"],
    )
    def grading_periods() -> Iterator[Any]:
        # sets without a usable id are the grading_period_sets resource's rejects
        good_sets = [s for s in period_sets.sets() if key_problem(s, ("id",)) is None]
        yield from checked(
            "grading_periods", fresh_pages(iter([[p for s in good_sets for p in shape_periods(s)]]))
        )

    @dlt.transformer(
        name="enrollment_period_grades",
        data_from=courses,
        primary_key=("enrollment_id", "grading_period_id"),
        merge_key="course_id",
        write_disposition="merge",
        columns=COLUMNS["enrollment_period_grades"],
    )
    def enrollment_period_grades(course: dict[str, Any]) -> Iterator[Any]:
        if not is_course(course):
            return
        course_id = int(course["id"])
        digests = CourseDigests(dlt.current.resource_state(), salt)

        def read(bad: list[dict[str, Any]]) -> list[dict[str, Any]]:
            out: list[dict[str, Any]] = []
            periods = period_sets.periods_of_term(course.get("enrollment_term_id"))
            for period_id, rows in period_grades(api, course, periods):
                good, rejected = rejects.split("enrollment_period_grades", course_id, rows)
                bad.extend(rejected)
                out.extend(shape_period_grade(r, course_id, period_id) for r in good)
            return digests.changed(course_id, out)

        yield from course_fetch("enrollment_period_grades", course, read)

    @dlt.transformer(
        name="late_policies",
        data_from=courses,
        primary_key="id",
        merge_key="course_id",
        write_disposition="merge",
        columns=COLUMNS["late_policies"],
    )
    def late_policies(course: dict[str, Any]) -> Iterator[Any]:
        if not is_course(course):
            return
        course_id = int(course["id"])
        digests = CourseDigests(dlt.current.resource_state(), salt)

        def read(bad: list[dict[str, Any]]) -> list[dict[str, Any]]:
            good, rejected = rejects.split("late_policies", course_id, late_policy(api, course_id))
            bad.extend(rejected)
            return digests.changed(course_id, good)

        yield from course_fetch("late_policies", course, read)

    @dlt.resource(
        name="custom_grade_statuses",
        primary_key="id",
        write_disposition="replace",
        columns=COLUMNS["custom_grade_statuses"],
    )
    def custom_statuses() -> Iterator[Any]:
        try:
            rows = custom_grade_statuses(
                api, account_id, lambda: int(api.get(f"accounts/{account_id}")["id"])
            )
        except (LmsPermissionError, LmsNotFoundError) as exc:  # no GraphQL, or not for this token
            unreadable("custom_grade_statuses", exc)
            return
        yield from checked("custom_grade_statuses", iter([rows]))

    resources = [
        accounts,
        terms,
        courses,
        users,
        *(course_child(name, path, params) for name, path, params in COURSE_CHILDREN),
        submissions,
        grading_period_sets,
        grading_periods,
        enrollment_period_grades,
        late_policies,
        custom_statuses,
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
    # every resource may set rows aside in the `rejects` table (rejects.py)
    resources = [route_rejects(r) for r in resources]
    return arrow_pages(protect_all(resources, PERSONAL_FIELDS, rules), ("submissions",))
