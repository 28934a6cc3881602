"""Run the dbt models in `sql/` against a pipeline's destination, in-process, and summarise the result."""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dlt.pipeline.pipeline import Pipeline

logger = logging.getLogger(__name__)

SQL_DIR = Path(__file__).resolve().parent.parent / "sql"
DEFAULT_ANALYTICS_SCHEMA = "analytics"
# dlt source name -> the dbt var naming that source's dataset
DATASET_VARS = {
    "canvas": "canvas_dataset",
    "brightspace": "brightspace_dataset",
    "canvas_data2": "canvas_data2_dataset",
}
SUPPORTED = ("duckdb", "postgres")


class TransformError(RuntimeError):
    """dbt could not build the models, or a model or data test failed.

    Attributes:
        failures: "<resource type> <name>: <message>" per failed node.
    """

    def __init__(self, message: str, failures: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.failures = list(failures)


@dataclass
class TransformSummary:
    """What one dbt build did.

    Attributes:
        target: the dbt target (duckdb or postgres).
        schema: the schema the marts were built in.
        models: names of the models built.
        tests_passed: data tests that passed.
        tests_warned: data tests that warned.
        seconds: wall time of the build.
        headline: a few numbers read from the marts (students, mean current score, ...).
    """

    target: str
    schema: str
    models: list[str] = field(default_factory=list)
    tests_passed: int = 0
    tests_warned: int = 0
    seconds: float = 0.0
    headline: dict[str, Any] = field(default_factory=dict)

    def format(self) -> str:
        """A short human-readable report."""
        marts = sorted(m for m in self.models if not m.startswith(("stg_", "int_")))
        lines = [
            "== SQL models (dbt) ==",
            f"target: {self.target}  schema: {self.schema}  "
            f"models built: {len(self.models)}  tests passed: {self.tests_passed}"
            + (f"  warned: {self.tests_warned}" if self.tests_warned else "")
            + f"  time: {self.seconds:.2f}s",
            f"marts: {', '.join(marts)}",
        ]
        for name, value in self.headline.items():
            if isinstance(value, float):
                value = f"{value:.2f}"
            lines.append(f"  {name:<46}{value if value is not None else '-'}")
        return "\n".join(lines)


@contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    """Set environment variables for the duration of the block, then restore them."""
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, old in saved.items():
            if old is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = old


@contextmanager
def _root_logging_kept() -> Iterator[None]:
    """dbt adds a stderr handler to the root logger; put the caller's logging back afterwards."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        yield
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)


def _destination_name(pipeline: Pipeline) -> str:
    destination = pipeline.destination
    if destination is None:
        raise TransformError("the pipeline has no destination; run it once before building the models")
    name = destination.destination_name
    kind = destination.destination_type.rsplit(".", 1)[-1]
    target = kind if kind in SUPPORTED else name
    if target not in SUPPORTED:
        raise TransformError(
            f"the SQL models run on {' or '.join(SUPPORTED)}; this pipeline loads into {name!r}. "
            "Run dbt by hand with a profile for that warehouse (see sql/README.md), or pass --no-transform."
        )
    return target


def profile_environment(pipeline: Pipeline, analytics_schema: str) -> tuple[str, dict[str, str]]:
    """The dbt target and the environment variables sql/profiles.yml reads, from the pipeline's destination.

    Args:
        pipeline: a pipeline that has loaded at least once.
        analytics_schema: the schema the marts are built in.

    Returns:
        (target name, environment variables).
    """
    target = _destination_name(pipeline)
    credentials = _credentials(pipeline)
    env = {
        "LMS_DBT_TARGET": target,
        "LMS_ANALYTICS_SCHEMA": analytics_schema,
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    if target == "duckdb":
        database = str(credentials.database)
        if database != ":memory:" and not os.path.isabs(database):
            database = os.path.abspath(database)
        env["LMS_DUCKDB_PATH"] = database
    else:
        env.update(
            {
                "LMS_PG_HOST": str(credentials.host or "localhost"),
                "LMS_PG_PORT": str(credentials.port or 5432),
                "LMS_PG_USER": str(credentials.username or ""),
                "LMS_PG_PASSWORD": str(credentials.password or ""),
                "LMS_PG_DATABASE": str(credentials.database or ""),
            }
        )
    return target, env


def dataset_vars(pipeline: Pipeline, datasets: dict[str, str] | None = None) -> dict[str, str]:
    """dbt vars naming the source datasets: this pipeline's own, plus any given explicitly."""
    found: dict[str, str] = {}
    for schema_name in pipeline.schema_names or []:
        var = DATASET_VARS.get(schema_name)
        if var:
            found[var] = pipeline.dataset_name
        if schema_name == "canvas_data2":  # the Canvas marts read the CD2 staging models
            found["canvas_channel"] = "cd2"
    for source, name in (datasets or {}).items():
        found[DATASET_VARS.get(source, source)] = name
    return found


def _credentials(pipeline: Pipeline) -> Any:
    # the job client's configuration only: no connection is opened
    return pipeline.destination_client().config.credentials  # type: ignore[attr-defined]


def _failures(results: Any) -> list[str]:
    failed: list[str] = []
    for result in getattr(results, "results", None) or []:
        status = str(getattr(result, "status", "")).lower()
        if status in ("error", "fail", "runtime error"):
            node = result.node
            message = (result.message or "").strip().splitlines()
            failed.append(f"{node.resource_type} {node.name}: {message[0] if message else status}")
    return failed


def run_models(
    pipeline: Pipeline,
    select: str | Sequence[str] | None = None,
    *,
    analytics_schema: str = DEFAULT_ANALYTICS_SCHEMA,
    datasets: dict[str, str] | None = None,
    command: str = "build",
    project_dir: Path = SQL_DIR,
    headline: bool = True,
    strict_grades: bool = False,
) -> TransformSummary:
    """Build the dbt models (and run their tests) on the pipeline's destination, in this process.

    Args:
        pipeline: the pipeline that just loaded; its destination and dataset name are used.
        select: dbt node selection (e.g. "marts.gradebook+"); default everything.
        analytics_schema: schema of the marts (staging and intermediate go to `<schema>_staging`
            and `<schema>_intermediate`).
        datasets: other LMS datasets in the same destination, e.g. {"brightspace": "brightspace"};
            by default the other LMS is looked for under its default dataset name.
        command: the dbt command, "build" (models and tests) or "run" (models only).
        project_dir: the dbt project (sql/).
        headline: read a few headline numbers from the marts afterwards.
        strict_grades: a course grade that disagrees with the LMS fails the build (dbt var
            `strict_grades`); otherwise it is a warning and course_grade_agreement lists it.

    Returns:
        The summary of the build.

    Raises:
        TransformError: dbt failed; `failures` names each failing model or test.
    """
    target, env = profile_environment(pipeline, analytics_schema)
    variables: dict[str, Any] = dict(dataset_vars(pipeline, datasets))
    if strict_grades:
        variables["strict_grades"] = True
    work = Path(pipeline.working_dir) / "dbt"
    args = [
        command,
        "--project-dir",
        str(project_dir),
        "--profiles-dir",
        str(project_dir),
        "--target",
        target,
        "--target-path",
        str(work / "target"),
        "--log-path",
        str(work / "logs"),
        "--vars",
        json.dumps(variables),
        "--no-use-colors",
        "--quiet",
    ]
    if select:
        # a test runs only when every model it reads was built (a relationship to a model left out
        # of the selection would fail on a missing table)
        args += ["--select", *([select] if isinstance(select, str) else list(select))]
        args += ["--indirect-selection", "cautious"]
    # dlt opens a destination connection per step and closes it when the step ends, so the DuckDB
    # file (one writer at a time) is free for dbt here; dbt closes its own before returning
    started = time.perf_counter()
    with _environment(env), _root_logging_kept():
        from dbt.cli.main import dbtRunner  # imported late: dbt is heavy and configures logging

        outcome = dbtRunner().invoke(args)
    seconds = time.perf_counter() - started
    failures = _failures(outcome.result)
    if outcome.exception is not None or not outcome.success:
        reason = failures or [str(outcome.exception or "dbt reported failure without a failing node")]
        raise TransformError(
            f"dbt {command} failed on {target} ({len(reason)} problem(s)):\n  "
            + "\n  ".join(reason)
            + f"\nLogs: {work / 'logs' / 'dbt.log'}",
            reason,
        )
    summary = TransformSummary(target=target, schema=analytics_schema, seconds=round(seconds, 3))
    for result in outcome.result.results:
        node = result.node
        status = str(result.status).lower()
        if node.resource_type == "model" and status == "success":
            summary.models.append(node.name)
        elif node.resource_type == "test":
            if status == "pass":
                summary.tests_passed += 1
            elif status == "warn":
                summary.tests_warned += 1
    if headline and command in ("build", "run"):
        summary.headline = headline_numbers(pipeline, analytics_schema)
    return summary


HEADLINE_QUERIES: dict[str, str] = {
    "student enrollments": "select count(*) from {s}.course_grades",
    "gradebook rows": "select count(*) from {s}.gradebook",
    "mean current score": "select avg(current_score) from {s}.course_grades",
    "grades compared with the LMS": "select count(*) from {s}.course_grade_agreement where is_compared",
    "course grades agreeing with the LMS": (
        "select cast(sum(case when is_in_agreement then 1 else 0 end) as text) || ' of '"
        " || cast(count(*) as text) || ' agree, '"
        " || cast(sum(case when is_in_agreement then 0 else 1 end) as text)"
        " || ' disagree (see {name}.course_grade_agreement)'"
        " from {s}.course_grade_agreement where is_compared"
    ),
    "max |ours - LMS| (points)": (
        "select max(score_difference) from {s}.course_grade_agreement where is_compared"
    ),
    "grades not compared (exemptions not loaded)": (
        "select count(*) from {s}.course_grade_agreement where not is_compared"
    ),
    "attendance rate % (present or late)": (
        "select sum(present_count + late_count) * 100.0 "
        "/ nullif(sum(present_count + late_count + absent_count), 0) from {s}.attendance_weekly"
    ),
    "attendance marks from Brightspace Data Sets": (
        "select sum(recorded_count) from {s}.attendance_weekly where lms = 'brightspace'"
    ),
    "students with engagement data": (
        "select sum(case when has_engagement_data then 1 else 0 end) from {s}.engagement_students"
    ),
    "SIS roster differences": "select count(*) from {s}.enrollment_audit where audit_status <> 'in_sync'",
}


def headline_numbers(pipeline: Pipeline, analytics_schema: str) -> dict[str, Any]:
    """A few numbers from the marts, read with the pipeline's own SQL client."""
    numbers: dict[str, Any] = {}
    for name, query in HEADLINE_QUERIES.items():
        # one client per query: a failed query (a mart left out by --select) aborts a Postgres
        # transaction, and must not take the other numbers with it
        try:
            with pipeline.sql_client() as client:
                schema = client.capabilities.escape_identifier(analytics_schema)
                value = client.execute_sql(query.format(s=schema, name=analytics_schema))[0][0]
        except Exception:
            logger.debug("headline %r unavailable", name, exc_info=True)
            continue
        numbers[name] = float(value) if value is not None and not isinstance(value, (int, str)) else value
    return numbers
