"""D2L Brightspace source: org units, courses, users, per-course gradebook data and the Data Hub (BDS, ADS)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from typing import Any, cast

import dlt
from dlt.sources import DltResource

from ..arrow_rows import arrow_pages
from ..course_batches import CourseBatches
from ..lms_http.deferred import DeferredClient
from ..lms_http.errors import LmsPermissionError
from ..lms_http.jobs import PollPolicy
from ..privacy import PrivacyPolicy, privacy_rules, protect_all
from ..unchanged import CourseDigests, PageDigests
from . import shaping
from .bds import BdsCatalogue, bds_resource
from .bds_catalogue import DEFAULT_DATA_SETS, ads_table_name, data_set_for
from .connection import BrightspaceSettings, brightspace_settings
from .datahub import AdsExports, read_csv_rows
from .engagement import content_progress_resource
from .grade_values import CourseGradeValueSync
from .helpers import BrightspaceApi, CourseReads, connect
from .settings import (
    COLUMNS,
    COURSE_CHILDREN,
    COURSE_CHILDREN_BY_NAME,
    COURSE_OFFERING_TYPE_ID,
    DEFAULT_EXPORT_TIMEOUT_SECONDS,
    DEFAULT_GRADE_VALUES_OVERLAP_SECONDS,
    GRADE_VALUES_READS,
    PERSONAL_FIELDS,
    CourseChild,
)

logger = logging.getLogger(__name__)

__all__ = ["brightspace_source", "brightspace_settings", "BrightspaceApi", "BrightspaceSettings", "connect"]


@dlt.source(name="brightspace", max_table_nesting=0)
def brightspace_source(
    org_unit_ids: Sequence[int] | None = None,
    strict: bool = False,
    grade_values_overlap_seconds: int = DEFAULT_GRADE_VALUES_OVERLAP_SECONDS,
    data_sets: Sequence[str] | None = None,
    ads_data_sets: Sequence[str] = (),
    export_timeout_seconds: float = DEFAULT_EXPORT_TIMEOUT_SECONDS,
    privacy: PrivacyPolicy | None = None,
    api: BrightspaceApi | None = None,
    course_batches: CourseBatches | None = None,
) -> Sequence[DltResource]:
    """Load a Brightspace institution: org units, courses, users, enrollments, classlists, grade
    setup, categories, objects, values (incremental) and final grades, content progress per course
    (engagement), and Brightspace Data Sets (attendance, course access, quiz attempts, discussion
    posts, ...: Full then Differential extracts, sources/brightspace/bds.py) and Advanced Data Sets.

    Args:
        org_unit_ids: load only these course offerings (a shard); other courses' rows are kept.
        strict: fail the run on a course the app may not read, instead of skipping it.
        grade_values_overlap_seconds: window re-read before each course's grade values cursor.
        data_sets: the Brightspace Data Sets to load, by catalogue name (`[sources.brightspace]
            data_sets`); default every typed one (bds_catalogue.DEFAULT_DATA_SETS); others load as text.
            They are organisation-wide extracts: a shard's run loads them whole too.
        ads_data_sets: Advanced Data Sets to load by name through export jobs (a table `ads_<name>`,
            replaced by each run's export, text columns).
        export_timeout_seconds: how long one ADS export job may take.
        privacy: keep, pseudonymise or drop names, e-mails, login ids, SIS ids (OrgDefinedId) and
            other personal fields such as grade comments (`[sources.brightspace.privacy]`, key
            `[sources.privacy] hash_key`; see sources/privacy.py).
        api: the client; default one built from `[sources.brightspace]` (see `BrightspaceSettings`:
            host, OAuth2 app, tokens, concurrency, retries). The load library passes its own.
        course_batches: the run's course offerings in batches (sources/course_batches.py): this
            source instance yields the current batch's offerings only; None yields every one.

    Rows read again without change are not loaded again: per-course children yield a course's
    rows only when they differ from its rows at the last run, and on a whole run (no
    `org_unit_ids`) `org_units` and `users` leave out pages equal to ones loaded before. The
    fingerprints are salted with the privacy policy's signature, so a changed policy reloads all.

    Returns:
        The resources; select a subset with `.with_resources(...)`.

    Raises:
        PrivacyConfigError: the privacy policy cannot be applied (names the setting to fix).
        ConfigFieldMissingException: (at the first request) no `api` given, and `[sources.brightspace]`
            lacks a setting.
    """
    rules = privacy_rules(privacy, "brightspace")
    if api is None:
        # resolved at the first request: a source built only to list its resources needs no settings
        api = cast(
            BrightspaceApi,
            DeferredClient(
                lambda: brightspace_settings().client(poll_policy=PollPolicy(timeout=export_timeout_seconds))
            ),
        )
    exports = AdsExports(api)
    catalogue = BdsCatalogue(api)
    course_reads = CourseReads(api)
    salt = rules.signature

    def guarded(
        scope: str, org_unit_id: int, fetch: Callable[[], list[dict[str, Any]]]
    ) -> list[dict[str, Any]]:
        try:
            return fetch()
        except LmsPermissionError as exc:
            if strict:
                raise
            logger.warning("skipping %s of org unit %s: %s", scope, org_unit_id, exc)
            api.stats.record_skipped(scope, "org_unit_id", org_unit_id, str(exc))
            return []

    def unseen(pages: Iterator[list[dict[str, Any]]]) -> Iterator[list[dict[str, Any]]]:
        """The pages of a whole listing not loaded before (all of them on a shard's run).

        Every shard's pipeline writes `org_units` and `users` too, each with its own state, so a
        shard's fingerprints cannot tell what another shard loaded since: shards load them whole.
        """
        if org_unit_ids:
            return pages
        return PageDigests(dlt.current.resource_state(), salt).fresh(pages)

    def readers(name: str) -> int:
        """How many resources of this run read course child `name`'s collection (the `uses` of its read).

        The child itself and, for `GRADE_VALUES_READS`, the grade values sync if `grade_values` is
        selected, so a read no one else will take is not kept. Called in the extract thread, where
        dlt knows the source being extracted.
        """
        if name not in GRADE_VALUES_READS:
            return 1
        selected = dlt.current.source().resources.selected
        return sum(1 for reader in (name, "grade_values") if reader in selected)

    @dlt.resource(
        name="org_units", primary_key="org_unit_id", write_disposition="merge", columns=COLUMNS["org_units"]
    )
    def org_units() -> Iterator[list[dict[str, Any]]]:
        pages = ([shaping.org_unit(b) for b in page] for page in api.pages(api.lp("orgstructure/")))
        yield from unseen(pages)

    @dlt.resource(name="users", primary_key="user_id", write_disposition="merge", columns=COLUMNS["users"])
    def users() -> Iterator[list[dict[str, Any]]]:
        yield from unseen([shaping.user(b) for b in page] for page in api.pages(api.lp("users/")))

    @dlt.resource(name="course_offering_ids", selected=False)
    def course_offering_ids() -> Iterator[int]:
        listing = listed_offering_ids()
        yield from course_batches.take(listing) if course_batches else listing

    def listed_offering_ids() -> Iterator[int]:
        # each course once, even if pages shift under the listing (its children are read once)
        if org_unit_ids:
            yield from dict.fromkeys(int(ou) for ou in org_unit_ids)
            return
        seen: set[int] = set()
        for page in api.pages(api.lp("orgstructure/"), {"orgUnitType": COURSE_OFFERING_TYPE_ID}):
            for ou in (int(b["Identifier"]) for b in page):
                if ou not in seen:
                    seen.add(ou)
                    yield ou

    @dlt.transformer(
        name="courses",
        data_from=course_offering_ids,
        primary_key="org_unit_id",
        write_disposition="merge",
        columns=COLUMNS["courses"],
    )
    def courses(org_unit_id: int) -> Iterator[Any]:
        # one course per item, fetched in the worker pool, so each course's children run in parallel
        @dlt.defer
        def fetch() -> dict[str, Any] | None:
            rows = guarded(
                "courses", org_unit_id, lambda: [shaping.course(api.get(api.lp(f"courses/{org_unit_id}")))]
            )
            return rows[0] if rows else None  # a skipped course has no children either

        yield fetch()

    def course_child(child: CourseChild) -> DltResource:
        shape = shaping.COURSE_CHILD_SHAPERS[child.name]

        def read(ou: int, uses: int) -> list[dict[str, Any]]:
            if child.single:
                return [shape(api.get(course_reads.route(child, ou)), ou)]
            return [shape(block, ou) for block in course_reads.rows(child, ou, uses)]

        @dlt.defer
        def fetch(ou: int, uses: int, digests: CourseDigests) -> list[dict[str, Any]]:
            # a skipped course keeps its fingerprint, as the warehouse keeps its rows
            return guarded(child.name, ou, lambda: digests.changed(ou, read(ou, uses)))

        def rows_of(course: dict[str, Any]) -> Iterator[Any]:
            # state and the selection are read here, in the extract thread; the HTTP work runs in the pool
            digests = CourseDigests(dlt.current.resource_state(), salt)
            yield fetch(int(course["OrgUnitId"]), readers(child.name), digests)

        return dlt.transformer(
            rows_of,
            name=child.name,
            data_from=courses,
            primary_key=child.primary_key,
            merge_key="org_unit_id",
            write_disposition="merge",
            columns=COLUMNS[child.name],
        )

    @dlt.transformer(
        name="grade_values",
        data_from=courses,
        primary_key=("org_unit_id", "grade_object_id", "user_id"),
        write_disposition="merge",
        columns=COLUMNS["grade_values"],
    )
    def grade_values(course: dict[str, Any]) -> Iterator[Any]:
        # state is read here, in the extract thread; the HTTP work runs in the worker pool
        ou = int(course["OrgUnitId"])
        state = dlt.current.resource_state().setdefault("org_units", {}).setdefault(str(ou), {})
        uses = {name: readers(name) for name in GRADE_VALUES_READS}

        def read_child(name: str) -> list[dict[str, Any]]:
            return course_reads.rows(COURSE_CHILDREN_BY_NAME[name], ou, uses[name])

        @dlt.defer
        def fetch() -> list[dict[str, Any]]:
            sync = CourseGradeValueSync(api, ou, state, grade_values_overlap_seconds, read_child)
            return guarded("grade_values", ou, sync.run)

        yield fetch()

    def ads(name: str) -> DltResource:
        data_set = data_set_for(name)

        @dlt.defer
        def export() -> list[dict[str, Any]]:
            content, _ = exports.export(data_set)
            return [row for chunk in read_csv_rows(content, data_set) for row in chunk]

        def load() -> Iterator[Any]:
            yield export()

        return dlt.resource(load, name=ads_table_name(name), write_disposition="replace")

    resources = [
        org_units,
        users,
        course_offering_ids,
        courses,
        *(course_child(child) for child in COURSE_CHILDREN),
        grade_values,
        content_progress_resource(courses, api, strict),
    ]
    taken = {r.name for r in resources}
    wanted = DEFAULT_DATA_SETS if data_sets is None else data_sets
    resources += [bds_resource(api, catalogue, data_set_for(n, taken), strict) for n in dict.fromkeys(wanted)]
    resources += [ads(name) for name in ads_data_sets]
    # personal fields are dropped or hashed in extract, before any row is written
    # then the biggest table's items become Arrow tables typed by its hints (sources/arrow_rows.py)
    return arrow_pages(protect_all(resources, PERSONAL_FIELDS, rules), ("grade_values",))
