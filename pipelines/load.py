"""One load of an LMS into the warehouse, the same for the CLIs, Dagster and the bench.

`run_load(LoadRequest(...)) -> LoadOutcome`: repair what a killed run left, finish its pending load,
extract (with the SIS roster), normalize and load under the warehouse lock, count the rows, build the
SQL models and store the run report. It prints nothing: progress goes to the request's `notify`.

Bounded work: the courses of a run go through extract, normalize and load in batches of
`[load] batch_courses` courses (default `DEFAULT_BATCH_COURSES`), one load package per batch; the
first package also carries the institution-wide tables. Each package is applied whole (dlt's merge
of one package) or, after a kill, replayed by the next run before it starts, so a batch is never
half applied; the memory of every step is that of one batch, whatever the institution's size.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, ExitStack, nullcontext, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import dlt
import duckdb
from dlt.common.configuration.exceptions import ConfigFieldMissingException, ConfigurationException
from dlt.common.pipeline import LoadInfo
from dlt.common.schema.exceptions import DataValidationError
from dlt.extract.source import DltSource
from dlt.pipeline.pipeline import Pipeline

from pipelines.dlt_capabilities import capabilities_without_unused_config
from pipelines.dlt_defaults import use_load_defaults
from pipelines.dlt_futures import wait_on_futures_not_a_timer
from pipelines.duckdb_literals import inline_duckdb_parameters
from pipelines.memory import settle_process_memory
from pipelines.merge_keys import use_key_by_key_merge
from pipelines.recovery import (
    abort_new_packages,
    drop_extracted_copies_of_committed_packages,
    finish_half_created_storage,
    forget_state_built_for_another_dataset,
    newest_loaded_state,
    pending_packages,
    remember_warehouse,
    remove_rows_of_unfinished_copies,
)
from pipelines.run_report import (
    STATUS_FAILED,
    STATUS_SUCCEEDED,
    STATUS_WITH_ERRORS,
    RunReport,
    StageTimer,
    rows_loaded,
    store_run_report,
    table_counts,
)
from pipelines.shards import Shard, shard_pipeline_name
from pipelines.trace_redaction import redact_trace
from pipelines.transform import DEFAULT_ANALYTICS_SCHEMA, TransformError, TransformSummary, run_models
from pipelines.warehouse import (
    destination_credentials,
    destination_kind,
    displayable_credentials,
    load_file_format,
    shared_destination,
    warehouse_kept_open,
    warehouse_write_lock,
)
from sources.brightspace.bds_catalogue import DEFAULT_DATA_SET_TABLES
from sources.course_batches import CourseBatches
from sources.lms_http.errors import LmsApiError
from sources.privacy import PrivacyConfigError
from sources.sis_roster import sis_roster_source

logger = logging.getLogger(__name__)

SCHEMA_CONTRACTS = ("evolve", "freeze", "discard_row", "discard_value")
CANVAS_RESOURCES = (
    "accounts",
    "terms",
    "courses",
    "users",
    "sections",
    "enrollments",
    "assignment_groups",
    "assignments",
    "submissions",
    "grading_period_sets",
    "grading_periods",
    "enrollment_period_grades",
    "late_policies",
    "custom_grade_statuses",
    "student_summaries",
    "course_activity",
    "rollcall_attendance",
)
# the REST API's resources; the Brightspace Data Sets (Data Hub extracts) follow them
BRIGHTSPACE_REST_RESOURCES = (
    "org_units",
    "users",
    "courses",
    "enrollments",
    "classlists",
    "grade_setup",
    "grade_categories",
    "grade_objects",
    "grade_values",
    "final_grades",
    "content_user_progress",
)
BRIGHTSPACE_RESOURCES = (
    *BRIGHTSPACE_REST_RESOURCES,
    *DEFAULT_DATA_SET_TABLES,  # Brightspace Data Sets: attendance, engagement, ... (bds_catalogue.py)
)


# courses per load package (`[load] batch_courses`): at ~500 submissions or grade values a course,
# 50 courses keep DuckDB's merge of the biggest table near 25,000 rows, while a package's fixed
# cost (about a second) stays a small part of its work; 0 loads every course in one package
DEFAULT_BATCH_COURSES = 50
# a package with a table of this many rows loads into DuckDB with one worker (see `_load`)
ONE_WRITER_ROWS = 20_000
# the resource that lists an LMS's courses: the resources fed by it are extracted batch by batch
COURSE_LISTINGS = {"canvas": "courses", "brightspace": "course_offering_ids"}


class LoadRequestError(ValueError):
    """A request that cannot run: an unknown resource, or a full refresh of one shard."""


@dataclass(frozen=True)
class Models:
    """Which SQL models (sql/, dbt) to build after the load, and where.

    Attributes:
        select: dbt node selection (e.g. "marts.gradebook+"); None builds every model.
        analytics_schema: the schema the marts are built in.
        strict_grades: fail the build when a computed course grade disagrees with the LMS's own
            (by default the disagreement is reported in `course_grade_agreement`).
    """

    select: str | None = None
    analytics_schema: str = DEFAULT_ANALYTICS_SCHEMA
    strict_grades: bool = False


def _quiet(message: str) -> None:
    """The default `notify`: progress goes nowhere."""


@dataclass(frozen=True)
class LoadRequest:
    """One load: which LMS, through which client, into which warehouse, and how strictly.

    Attributes:
        lms: `canvas` or `brightspace`.
        client: the LMS client (`CanvasApi` or `BrightspaceApi`) built from the LMS's settings; its
            request statistics become the outcome's `http`.
        destination: a dlt destination name (`duckdb` writes `<lms>_pipeline.duckdb`, shared by every
            shard) or a ready dlt destination (a DuckDB file of the caller's choosing).
        dataset: the dataset (schema) the tables go to; default the LMS's name.
        shard: the part of the institution to load (default: all of it).
        resources: a subset of the source's resources; None loads them all.
        full_refresh: drop this source's tables and state first (whole runs only).
        schema_contract: what new tables, columns or types do: evolve (None: dlt's default), freeze,
            discard_row or discard_value.
        strict: fail on a scope the credentials may not read (default: skip and report it).
        models: the SQL models to build after the load; None builds none.
        rollcall_dir: Roll Call CSV folder or bucket (Canvas); None: `[sources.canvas] rollcall_bucket_url`.
        sis_roster: SIS roster CSV file, folder or bucket; None: `[sources.sis_roster] path`.
        pipeline_name: the dlt pipeline name; default `<lms>_pipeline`, or `<lms>_pipeline__<shard>`.
        pipelines_dir: dlt's pipelines folder; None is dlt's default.
        progress: have dlt log the progress of its steps.
        file_format: the load file format; default `load_file_format` (parquet on DuckDB and Postgres).
        notify: called with each progress line (the CLIs print them, Dagster logs them).
        watch: wraps the extract, normalize and load steps, given the pipeline and the client's
            request statistics (the CLIs show a live progress line with `pipelines.progress.show_progress`).
        batch_courses: courses per load package; None: `[load] batch_courses`, else
            `DEFAULT_BATCH_COURSES`; 0: every course in one package. A `freeze` schema contract
            always loads one package, so that a violation leaves nothing of the run loaded.
    """

    lms: str
    client: Any
    destination: Any = "duckdb"
    dataset: str | None = None
    shard: Shard = Shard()
    resources: Sequence[str] | None = None
    full_refresh: bool = False
    schema_contract: str | None = None
    strict: bool = False
    models: Models | None = field(default_factory=Models)
    rollcall_dir: str | None = None
    sis_roster: str | None = None
    pipeline_name: str | None = None
    pipelines_dir: str | None = None
    file_format: str | None = None
    progress: bool = False
    notify: Callable[[str], None] = _quiet
    watch: Callable[[Pipeline, Any], AbstractContextManager[Any]] | None = None
    batch_courses: int | None = None

    @property
    def base_pipeline_name(self) -> str:
        """The unsharded pipeline name: `canvas_pipeline` or `brightspace_pipeline`."""
        return f"{self.lms}_pipeline"


@dataclass
class LoadOutcome:
    """What one load did.

    Attributes:
        pipeline: the dlt pipeline that ran (its name, dataset and destination).
        load_info: dlt's account of the load step.
        loaded: rows written per table by this run.
        totals: rows per table in the warehouse after the run.
        http: request statistics: requests, throttled replies, retries by cause, skipped scopes.
        seconds: wall-clock seconds per stage (`wait_for_warehouse`, `pending`, `extract`, ...).
        skipped_scopes: courses or org units the credentials may not read, skipped.
        rejected_files: input files (Roll Call, SIS roster) rejected; the good ones were loaded.
        models: what the SQL models build did (None when not asked for, or when it failed).
        models_error: why the SQL models build failed, if it did.
        report: the run report stored in `<dataset>.run_reports`.
        report_stored: whether the warehouse took the report.
    """

    pipeline: Pipeline
    load_info: LoadInfo
    loaded: dict[str, int]
    totals: dict[str, int]
    http: dict[str, Any]
    seconds: dict[str, float]
    skipped_scopes: list[dict[str, Any]]
    rejected_files: list[dict[str, Any]]
    report: RunReport
    models: TransformSummary | None = None
    models_error: TransformError | None = None
    report_stored: bool = False

    @property
    def failed(self) -> bool:
        """True when the data loaded but something needs fixing: a rejected file or failed models."""
        return bool(self.rejected_files) or self.models_error is not None

    @property
    def problems(self) -> list[str]:
        """One line per thing to fix."""
        found = [str(item["reason"]) for item in self.rejected_files]
        if self.models_error is not None:
            found.append(str(self.models_error))
        return found

    @property
    def warehouse(self) -> str:
        """Where the data went: the DuckDB file, or the destination and dataset."""
        return warehouse_location(self.pipeline)


def warehouse_location(pipeline: Pipeline) -> str:
    """The DuckDB file a pipeline writes (absolute), else the destination's URL without its password."""
    if destination_kind(pipeline) == "duckdb":
        credentials = destination_credentials(pipeline)
        return str(Path(str(credentials.database)).resolve())
    return displayable_credentials(pipeline) or str(pipeline.destination.destination_name)  # type: ignore[union-attr]


def select_resources(source: DltSource, wanted: Sequence[str] | None, known: Sequence[str]) -> DltSource:
    """Narrow `source` to `wanted`; an unknown name raises LoadRequestError with the list to choose from."""
    if not wanted:
        return source
    unknown = sorted(set(wanted) - set(known))
    if unknown:
        raise LoadRequestError(f"unknown resources {unknown}; choose from {', '.join(known)}")
    return source.with_resources(*wanted)


def config_value(key: str) -> str | None:
    """A setting from .dlt/config.toml or the environment, or None."""
    try:
        value = dlt.config[key]
    except (KeyError, ConfigFieldMissingException):
        return None
    return str(value) if value else None


def batch_courses(request: LoadRequest) -> int:
    """Courses per load package for this request (see `LoadRequest.batch_courses`); 0: one package."""
    if request.schema_contract == "freeze":
        return 0
    if request.batch_courses is not None:
        return max(0, request.batch_courses)
    given = config_value("load.batch_courses")
    if given is None:
        return DEFAULT_BATCH_COURSES
    try:
        return max(0, int(given))
    except ValueError:
        raise LoadRequestError(
            f"[load] batch_courses must be a whole number of courses (0: one package), not {given!r}: "
            "fix it in .dlt/config.toml or LOAD__BATCH_COURSES"
        ) from None


class Batches(Protocol):
    """The later load packages of a run, after the first source's: `next` builds the next one."""

    @property
    def total(self) -> int:
        """How many packages the run makes (after the first extract); 0 when not known ahead."""
        ...

    def next(self, first: DltSource) -> DltSource | None:
        """The next package's source, or None when the run has no more."""
        ...

    def more(self, first: DltSource) -> bool:
        """Whether `next` will build another package (asked before this package's load; no requests)."""
        ...


@dataclass
class SourceBatches:
    """The sources of one run's load packages: the first whole, each later one narrowed to the
    resources fed by the course listing and yielding the next batch of courses.

    Attributes:
        make: builds a fresh source instance of the LMS (its caches and key sets start empty).
        batches: the run's course batches, shared by every instance.
        listing: the name of the resource that lists the courses.
    """

    make: Callable[[CourseBatches], DltSource]
    batches: CourseBatches
    listing: str

    def first(self) -> DltSource:
        return self.make(self.batches)

    @property
    def total(self) -> int:
        return self.batches.total

    def more(self, first: DltSource) -> bool:
        return bool(self.batches.more and _fed_by(first, self.listing))

    def next(self, first: DltSource) -> DltSource | None:
        """The next batch's source, or None when every course was extracted."""
        per_course = _fed_by(first, self.listing)
        if not self.batches.more or not per_course:  # as `more` tells
            return None
        self.batches.start_next()
        return self.make(self.batches).with_resources(*per_course)


def _fed_by(source: DltSource, listing: str) -> list[str]:
    """The selected resources of `source` whose items come from resource `listing` (and it, if selected)."""
    fed: list[str] = []
    for name, resource in source.resources.items():
        pipe = resource._pipe
        while pipe is not None and pipe.name != listing:
            pipe = pipe.parent
        if pipe is not None and resource.selected:
            fed.append(name)
    return fed


def _source(request: LoadRequest, batches: CourseBatches | None = None) -> tuple[DltSource, tuple[str, ...]]:
    """The request's LMS source, narrowed to its shard and resources; and the LMS's resource names."""
    shard = request.shard
    if request.lms == "canvas":
        from sources.canvas import canvas_source

        # without a folder in the request, dlt injects `[sources.canvas] rollcall_bucket_url`
        given = {"rollcall_bucket_url": request.rollcall_dir} if request.rollcall_dir else {}
        source = canvas_source(
            account_id=shard.account or "self",
            course_ids=list(shard.courses) or None,
            term_ids=list(shard.terms) or None,
            strict=request.strict,
            api=request.client,
            course_batches=batches,
            **given,
        )
        known = CANVAS_RESOURCES
    elif request.lms == "brightspace":
        from sources.brightspace import brightspace_source

        source = brightspace_source(
            org_unit_ids=list(shard.org_units) or None,
            strict=request.strict,
            api=request.client,
            course_batches=batches,
        )
        known = BRIGHTSPACE_RESOURCES
    else:
        raise LoadRequestError(f"unknown LMS {request.lms!r}: choose canvas or brightspace")
    return select_resources(source, request.resources, known), known


def open_pipeline(request: LoadRequest) -> Pipeline:
    """The dlt pipeline of the request: its shard's own name, the shared warehouse, its dataset."""
    name = request.pipeline_name or shard_pipeline_name(request.base_pipeline_name, request.shard)
    destination = request.destination
    if isinstance(destination, str):
        destination = shared_destination(destination, request.base_pipeline_name, name)
    return dlt.pipeline(
        pipeline_name=name,
        pipelines_dir=request.pipelines_dir,
        destination=destination,
        dataset_name=request.dataset or request.lms,
        progress="log" if request.progress else None,
    )


def run_load(request: LoadRequest) -> LoadOutcome:
    """Load the request's LMS shard into the warehouse; see the module docstring.

    Every run, failed ones included, appends its report to the `run_reports` table of the dataset
    (when the warehouse is reachable); a failure is then raised again for the caller to report.

    Raises:
        LoadRequestError: an unknown resource, or a full refresh of one shard (it would drop the
            tables every shard shares).
        Exception: whatever stopped the run (see `clear_error` for the ones a user can fix).
    """
    if request.full_refresh and not request.shard.is_whole:
        raise LoadRequestError(
            f"--full-refresh drops the tables every shard shares, so it cannot run on one shard "
            f"({request.shard.key}): run it once without --account/--terms/--courses/--org-units, "
            "then the shards."
        )
    size = batch_courses(request)
    _, known = _source(request)  # checks the LMS and the resources before any work
    plan = SourceBatches(
        lambda batches: _source(request, batches)[0], CourseBatches(size), COURSE_LISTINGS[request.lms]
    )
    plan.batches.start_next()
    source = plan.first()
    pipeline = open_pipeline(request)
    suffix = (
        "" if request.shard.is_whole else f" (shard {request.shard.key}, pipeline {pipeline.pipeline_name})"
    )
    request.notify(f"Extracting from {request.client.base_url} ...{suffix}")
    return load_source(pipeline, source, request, known, plan)


def load_source(
    pipeline: Pipeline,
    source: DltSource,
    request: LoadRequest,
    tables: Sequence[str],
    batches: Batches | None = None,
) -> LoadOutcome:
    """Run a ready `source` through `pipeline` as `run_load` does (its report counts `tables`).

    With `batches` (whose first source is `source`), the later packages follow, one batch each (of
    courses, or of a Canvas Data 2 job's objects); without, `source` is one package.
    """
    settle_process_memory()  # before the extract pool's threads allocate
    use_load_defaults()
    inline_duckdb_parameters()  # no pandas import at the first bound statement
    use_key_by_key_merge()  # no `primary key OR merge key` delete: it compares every row with every staged one
    capabilities_without_unused_config()  # dlt resolved a whole configuration per capabilities call
    wait_on_futures_not_a_timer()  # dlt slept 10 ms per two finished futures of a parallel extract
    timer = StageTimer()
    report = RunReport(
        pipeline_name=pipeline.pipeline_name,
        lms=source.name,
        shard=request.shard.key,
        dataset_name=pipeline.dataset_name,
        destination=_destination_name(request.destination),
        strict=request.strict,
        schema_contract=request.schema_contract or "evolve",
    )
    stats = request.client.stats
    finish_half_created_storage(pipeline)
    pending_before = pending_packages(pipeline)
    with ExitStack() as held:
        turn = WarehouseTurn(pipeline, held, timer.seconds)
        try:
            with request.watch(pipeline, stats) if request.watch else nullcontext() as watching:
                outcome = _load(pipeline, source, request, tables, timer, turn, report, batches, watching)
        except Exception as exc:
            if find_cause(exc, DataValidationError) is not None:
                abort_new_packages(pipeline, pending_before)
            cause = clear_error(exc)
            report.http, report.seconds = stats.as_dict(), dict(timer.seconds)
            report.finish(STATUS_FAILED, cause or exc, describe_error(cause) if cause is not None else None)
            # a warehouse the configuration cannot describe cannot take the report either
            if find_cause(exc, ConfigurationException) is None:
                _store(pipeline, report, timer, turn, request.notify)
            # dlt stored the failure's text in its trace file: a foreign error may quote a secret
            redact_trace(pipeline)
            raise
        report.finish(STATUS_WITH_ERRORS if outcome.failed else STATUS_SUCCEEDED)
        outcome.report_stored = _store(pipeline, report, timer, turn, request.notify)
    return outcome


class WarehouseTurn:
    """A run's turn at the warehouse: the write lock, taken at the first step that writes the
    warehouse and held (in the caller's ExitStack) to the end of the run.

    Extraction and normalization run before it, so concurrent shards extract in parallel; from the
    load on (row counts, the SQL models and the run report included) the run holds the lock.
    """

    def __init__(self, pipeline: Pipeline, stack: ExitStack, seconds: dict[str, float]) -> None:
        self._pipeline, self._stack, self._seconds = pipeline, stack, seconds
        self.held = False
        self._open: ExitStack | None = None
        # the state the dataset holds after the run's last load (DuckDB), read with the row counts
        self.loaded_state: list[Any] | None = None

    def take(self) -> None:
        """Wait for the lock (once); the wait is timed as stage `wait_for_warehouse`."""
        if self.held:
            return
        started = time.perf_counter()
        self._stack.enter_context(warehouse_write_lock(self._pipeline))
        # after the file's last close (callbacks run last first), before the lock is released
        self._stack.callback(self._leave_mark)
        self.held = True
        self._seconds["wait_for_warehouse"] = round(time.perf_counter() - started, 3)

    def keep_open(self) -> None:
        """Keep a DuckDB warehouse open (under the lock) until `close` or the end of the run.

        Taken before the last package's load, that load, the row counts and the run report share one
        open of the file and one checkpoint, where each opened and closed it: three opens and closes,
        about 45 ms each at Canvas Data 2 medium by py-spy. Other destinations: nothing.
        """
        self.take()
        if self._open is None:
            self._open = ExitStack()
            self._open.enter_context(warehouse_kept_open(self._pipeline))
            self._stack.callback(self.close)  # before the lock is released

    def close(self) -> None:
        """Close what `keep_open` opened (the SQL models' dbt opens the DuckDB file itself)."""
        if self._open is not None:
            opened, self._open = self._open, None
            opened.close()

    def _leave_mark(self) -> None:
        """Remember the DuckDB file as this run leaves it, for the next run's state check; a mark that
        cannot be written is forgotten (the check then opens the file, as without one)."""
        try:
            remember_warehouse(self._pipeline, self.loaded_state)
        except Exception as exc:  # never the run's error: without a mark the next check reads the file
            logger.debug("no warehouse mark left (%s)", type(exc).__name__)
            with suppress(OSError):
                remember_warehouse(self._pipeline, None)


def _load(
    pipeline: Pipeline,
    source: DltSource,
    request: LoadRequest,
    tables: Sequence[str],
    timer: StageTimer,
    turn: WarehouseTurn,
    report: RunReport,
    batches: Batches | None = None,
    watching: Any = None,
) -> LoadOutcome:
    notify, stats = request.notify, request.client.stats
    # before the pending step, which holds the warehouse lock for the rest of the run
    drop_extracted_copies_of_committed_packages(pipeline)
    forget_state_built_for_another_dataset(pipeline, notify)
    if pipeline.has_pending_data:
        notify("Finishing the load left pending by the previous run first ...")
        turn.take()
        remove_rows_of_unfinished_copies(pipeline)
        timer.run("pending", _load_kept_open, pipeline, None, {})
        notify("Finished the pending load; extracting ...")
    # parquet loads DuckDB ~20x faster than INSERT statements (Canvas medium: 3 s vs 70 s), and
    # Postgres (through ADBC) without turning empty strings into NULL
    file_format = request.file_format or load_file_format(pipeline)
    roster = request.sis_roster or config_value("sources.sis_roster.path")
    # the SIS roster goes into the same dataset, for the enrolment audit (one extract: two
    # extract steps would leave the first package's schema stale)
    data: Any = [source, sis_roster_source(roster)] if roster else source
    # DuckDB takes one writer: for a big package, parallel copy jobs only add up their memory (at
    # medium, 20 workers peak about 150 MB above one); a small package loads faster in parallel
    # (Canvas small: 0.7 s against 2.0 s). `[load] workers` set by the user wins
    one_writer = destination_kind(pipeline) == "duckdb" and config_value("load.workers") is None
    first, number = source, 1
    loaded: Counter[str] = Counter()
    while True:
        if number > 1:
            notify(f"Extracting batch {_batch_of(number, batches)} ...")
        extract_info = timer.run(
            "extract",
            pipeline.extract,
            data,
            # only the first package drops the tables: the later ones carry more of this run's rows
            refresh="drop_sources" if request.full_refresh and number == 1 else None,
            loader_file_format=file_format,
            schema_contract=request.schema_contract,
        )
        report.load_ids.extend(extract_info.loads_ids)
        of = f" (batch {_batch_of(number, batches)})" if number > 1 or _total(batches) > 1 else ""
        if of and hasattr(watching, "batch"):  # the live status line names the batch too
            watching.batch = of.strip(" ()")
        notify(f"Normalizing ...{of}")
        timer.run("normalize", pipeline.normalize)
        package_rows = rows_loaded(pipeline)
        loaded.update(package_rows)
        biggest = max(package_rows.values(), default=0)
        load_workers: dict[str, Any] = {"workers": 1} if one_writer and biggest >= ONE_WRITER_ROWS else {}
        notify(f"Loading into {_destination_name(request.destination)} ...{of}")
        turn.take()
        last = batches is None or not batches.more(first)
        if last:  # its load, the row counts and the run report share one open of the file
            turn.keep_open()
        load_info = _load_package(pipeline, timer, biggest, load_workers, notify, turn)
        following = None if last else batches.next(first)  # type: ignore[union-attr]
        if following is None:
            break
        data, number = following, number + 1
    turn.keep_open()
    with pipeline.sql_client() as client:  # one client for the counts and the state now loaded
        totals = table_counts(pipeline, list(tables), client=client)
        totals.update(table_counts(pipeline, ["sis_roster"], schema_name="sis_roster", client=client))
        if destination_kind(pipeline) == "duckdb":  # for the next run's state check
            turn.loaded_state = newest_loaded_state(pipeline, client)
    http = stats.as_dict()
    loaded_rows = dict(sorted(loaded.items()))
    report.http, report.loaded, report.totals, report.seconds = http, loaded_rows, totals, dict(timer.seconds)
    skipped = http["skipped"]
    outcome = LoadOutcome(
        pipeline=pipeline,
        load_info=load_info,
        loaded=loaded_rows,
        totals=totals,
        http=http,
        seconds=timer.seconds,
        # a rejected input file is an error to fix, not a scope left out
        skipped_scopes=[item for item in skipped if "file" not in item],
        rejected_files=[item for item in skipped if "file" in item],
        report=report,
    )
    if request.models is not None:
        turn.close()
        notify("Building the SQL models (dbt) ...")
        try:
            outcome.models = run_models(
                pipeline,
                select=request.models.select,
                analytics_schema=request.models.analytics_schema,
                strict_grades=request.models.strict_grades,
            )
        except TransformError as exc:
            outcome.models_error = exc
    return outcome


def _load_package(
    pipeline: Pipeline,
    timer: StageTimer,
    biggest: int,
    load_workers: dict[str, Any],
    notify: Callable[[str], None],
    turn: WarehouseTurn,
) -> LoadInfo:
    """Load the normalized package with DuckDB's memory limit set from its biggest table; a merge
    that needs more than that limit is finished without it (the package stays pending in between,
    and a file the run keeps open is closed first: the limit is set on the open database)."""
    try:
        # timed with the file's open and close: closing it checkpoints the package's writes (the last
        # package's load runs inside the run's open, whose close comes at the end of the run)
        return timer.run("load", _load_kept_open, pipeline, biggest, load_workers)
    except Exception as exc:
        if find_cause(exc, duckdb.OutOfMemoryException) is None:
            raise
        logger.warning("DuckDB needed more than its memory limit to load a package of %d rows", biggest)
        notify(
            "DuckDB needed more memory than its limit for this package; finishing it without the limit ..."
        )
    turn.close()
    return timer.run("load", _load_kept_open, pipeline, None, load_workers)


def _load_kept_open(pipeline: Pipeline, biggest: int | None, load_workers: dict[str, Any]) -> LoadInfo:
    with warehouse_kept_open(pipeline, biggest):
        return pipeline.load(**load_workers)


def _total(batches: Batches | None) -> int:
    return batches.total if batches is not None else 1


def _batch_of(number: int, batches: Batches | None) -> str:
    """`3 of 40`, or `3` when the number of batches is not known ahead."""
    total = _total(batches)
    return f"{number} of {total}" if total else str(number)


def _destination_name(destination: Any) -> str:
    return destination if isinstance(destination, str) else str(destination.destination_name)


def _store(
    pipeline: Pipeline,
    report: RunReport,
    timer: StageTimer,
    turn: WarehouseTurn,
    notify: Callable[[str], None],
) -> bool:
    """Load the report under the warehouse lock; a warehouse that cannot take it (or cannot be
    locked: the error the run itself met) costs a warning, never the run."""
    notify("Storing the run report ...")
    try:
        turn.take()
        with warehouse_kept_open(pipeline):
            timer.run("report", store_run_report, pipeline, report)
    except Exception as exc:
        first_line = (str(exc).strip().splitlines() or [""])[0]
        logger.warning(
            "the run report was not stored in %s (%s): %s",
            pipeline.dataset_name,
            type(exc).__name__,
            first_line,
        )
        return False
    notify(
        f"run report {report.run_id} ({report.status}) stored in table {pipeline.dataset_name}.run_reports"
    )
    return True


def find_cause(
    exc: BaseException, kind: type[BaseException] | tuple[type[BaseException], ...]
) -> BaseException | None:
    """The first exception of type `kind` in `exc`'s cause/context chain, if any."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, kind):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


def describe_error(cause: BaseException) -> str:
    """One line for an error the user can fix: a schema contract violation names the option."""
    if isinstance(cause, DataValidationError):
        where = f"table {cause.table_name}" + (f" column {cause.column_name}" if cause.column_name else "")
        return (
            f"the data broke --schema-contract {cause.contract_mode} ({cause.schema_entity} of {where}); "
            "nothing from this run was loaded. Rerun with --schema-contract evolve to accept the change, "
            "or discard_row / discard_value to leave it out."
        )
    return str(cause)


def clear_error(exc: BaseException) -> BaseException | None:
    """The LMS, input-file, privacy-setting or schema contract error behind a failure (dlt wraps it in a step error)."""
    from sources.canvas.rollcall import RollcallFileError
    from sources.sis_roster import SisRosterFileError

    known = (LmsApiError, DataValidationError, PrivacyConfigError, RollcallFileError, SisRosterFileError)
    return find_cause(exc, known)
