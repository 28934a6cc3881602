"""The Dagster definitions: both LMS groups partitioned by shard, the SQL models, a nightly schedule."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from dagster import (
    AssetSelection,
    Definitions,
    RunRequest,
    ScheduleDefinition,
    ScheduleEvaluationContext,
    define_asset_job,
    schedule,
)

from orchestration.assets import asset_keys, brightspace_assets, canvas_assets, models_asset
from orchestration.resources import BrightspaceConnection, CanvasConnection, Warehouse
from orchestration.shard_config import configured_shards, shard_partitions

# loads start at 01:00 (the institution's quiet hours, in the schedule's timezone); the models
# follow once every shard has loaded (their automation condition), or by the models job
LOADS_CRON = "0 1 * * *"


def _nightly(job_name: str, job: object, keys: Sequence[str]) -> ScheduleDefinition:
    @schedule(name=f"{job_name}_nightly", cron_schedule=LOADS_CRON, job=job)  # type: ignore[arg-type]
    def nightly(context: ScheduleEvaluationContext) -> list[RunRequest]:
        tick = (context.scheduled_execution_time or datetime.now()).strftime("%Y-%m-%d")
        # one run per shard: the run queue starts them in parallel
        return [RunRequest(run_key=f"{tick}:{key}", partition_key=key) for key in keys]

    return nightly


def build_definitions(
    canvas_shards: Sequence[str] | None = None,
    brightspace_shards: Sequence[str] | None = None,
    resources: dict[str, object] | None = None,
) -> Definitions:
    """Definitions for the given shards (default: `[orchestration]` in dlt config, else one whole shard).

    Args:
        canvas_shards: Canvas shard keys, e.g. ["terms=5", "account=12", "courses=101+102"].
        brightspace_shards: Brightspace shard keys, e.g. ["org_units=6606+6607"].
        resources: overrides of the `canvas`, `brightspace` and `warehouse` resources.

    Returns:
        Assets (groups canvas, brightspace, analytics), jobs, schedules and resources.
    """
    canvas_keys = list(canvas_shards) if canvas_shards is not None else configured_shards("canvas")
    brightspace_keys = (
        list(brightspace_shards) if brightspace_shards is not None else configured_shards("brightspace")
    )
    canvas_partitions = shard_partitions(canvas_keys)
    brightspace_partitions = shard_partitions(brightspace_keys)
    canvas = canvas_assets(canvas_partitions)
    brightspace = brightspace_assets(brightspace_partitions)
    models = models_asset([*canvas.keys, *brightspace.keys])
    canvas_job = define_asset_job(
        "canvas_shards", selection=AssetSelection.groups("canvas"), partitions_def=canvas_partitions
    )
    brightspace_job = define_asset_job(
        "brightspace_shards",
        selection=AssetSelection.groups("brightspace"),
        partitions_def=brightspace_partitions,
    )
    models_job = define_asset_job("sql_models", selection=AssetSelection.groups("analytics"))
    return Definitions(
        assets=[canvas, brightspace, models],
        jobs=[canvas_job, brightspace_job, models_job],
        schedules=[
            _nightly("canvas_shards", canvas_job, canvas_partitions.get_partition_keys()),
            _nightly("brightspace_shards", brightspace_job, brightspace_partitions.get_partition_keys()),
        ],
        resources={
            "canvas": CanvasConnection(),
            "brightspace": BrightspaceConnection(),
            "warehouse": Warehouse(),
            **(resources or {}),
        },
    )


__all__ = ["asset_keys", "build_definitions"]
