"""Dagster assets: one group per LMS (dlt resources, partitioned by shard) and the SQL models downstream."""

import logging
from collections.abc import Iterator, Sequence
from dataclasses import replace
from typing import Any

from dagster import (
    AssetExecutionContext,
    AssetKey,
    AssetsDefinition,
    AssetSpec,
    AutomationCondition,
    Failure,
    MaterializeResult,
    PartitionsDefinition,
    asset,
)
from dagster_dlt import DagsterDltTranslator, dlt_assets
from dagster_dlt.translator import DltResourceTranslatorData
from dlt.extract.source import DltSource
from dlt.pipeline.pipeline import Pipeline

from orchestration.resources import BrightspaceConnection, CanvasConnection, Warehouse
from pipelines.load import LoadRequest, run_load
from pipelines.shards import Shard
from pipelines.transform import run_models
from pipelines.warehouse import warehouse_write_lock
from sources.brightspace import brightspace_source
from sources.canvas import canvas_source

logger = logging.getLogger(__name__)

MODELS_KEY = AssetKey(["analytics", "sql_models"])
# the models run once a night, after every shard of both LMSs has loaded since the tick
MODELS_CRON = "0 2 * * *"


class LmsTranslator(DagsterDltTranslator):
    """Asset keys `<lms>/<resource>` in group `<lms>`; no upstream placeholders for the API."""

    def get_asset_spec(self, data: DltResourceTranslatorData) -> AssetSpec:
        spec = super().get_asset_spec(data)
        source = data.resource.source_name
        return spec.replace_attributes(key=AssetKey([source, data.resource.name]), deps=[], group_name=source)


TRANSLATOR = LmsTranslator()


def _definition_sources() -> tuple[DltSource, DltSource]:
    # the sources only describe the resources here (no client is made until a request is due);
    # each run loads its shard through the load library
    return canvas_source(), brightspace_source()


def asset_keys(source: DltSource) -> list[AssetKey]:
    """The asset keys of a source's selected resources."""
    return [_key(source, resource) for resource in source.selected_resources.values()]


def _key(source: DltSource, resource: Any) -> AssetKey:
    return AssetKey([source.name, resource.name])


def load_shard(
    context: AssetExecutionContext, source: DltSource, request: LoadRequest
) -> Iterator[MaterializeResult]:
    """Load one shard with the load library (`run_load`), as the pipeline CLIs do: crash repair,
    pending loads, SIS roster, schema contract, the warehouse lock and a run report row.

    The selected assets narrow the request's resources; the SQL models are an asset of their own.
    """
    if context.is_subset:
        wanted = {key.path[-1] for key in context.selected_asset_keys}
        request = replace(request, resources=[name for name in source.selected_resources if name in wanted])
    outcome = run_load(replace(request, models=None, notify=context.log.info))
    if outcome.failed:
        raise Failure(description="; ".join(outcome.problems))
    for resource in source.selected_resources.values():
        if request.resources and resource.name not in request.resources:
            continue
        yield MaterializeResult(
            asset_key=_key(source, resource),
            metadata={
                "shard": request.shard.key,
                "pipeline_name": outcome.pipeline.pipeline_name,
                "dataset_name": outcome.pipeline.dataset_name,
                "run_id": outcome.report.run_id,
                "rows_loaded": int(outcome.loaded.get(str(resource.table_name), 0)),
            },
        )


def canvas_assets(partitions: PartitionsDefinition) -> AssetsDefinition:
    """The Canvas group: every Canvas resource, one partition per shard."""
    described, _ = _definition_sources()

    @dlt_assets(
        dlt_source=described,
        dlt_pipeline=_describing_pipeline("canvas"),
        name="canvas_shard",
        dagster_dlt_translator=TRANSLATOR,
        partitions_def=partitions,
    )
    def canvas_shard(
        context: AssetExecutionContext, canvas: CanvasConnection, warehouse: Warehouse
    ) -> Iterator[MaterializeResult]:
        request = LoadRequest(
            lms="canvas",
            client=canvas.api(),
            destination=warehouse.dlt_destination(),
            dataset=warehouse.canvas_dataset,
            shard=Shard.parse(context.partition_key),
        )
        yield from load_shard(context, described, request)

    return canvas_shard


def brightspace_assets(partitions: PartitionsDefinition) -> AssetsDefinition:
    """The Brightspace group: every Brightspace resource, one partition per org-unit shard."""
    _, described = _definition_sources()

    @dlt_assets(
        dlt_source=described,
        dlt_pipeline=_describing_pipeline("brightspace"),
        name="brightspace_shard",
        dagster_dlt_translator=TRANSLATOR,
        partitions_def=partitions,
        # one OAuth2 app (one rate limit): limit this pool where that limit is tight (see docs/scale.md)
        pool="brightspace_app",
    )
    def brightspace_shard(
        context: AssetExecutionContext, brightspace: BrightspaceConnection, warehouse: Warehouse
    ) -> Iterator[MaterializeResult]:
        request = LoadRequest(
            lms="brightspace",
            client=brightspace.api(),
            destination=warehouse.dlt_destination(),
            dataset=warehouse.brightspace_dataset,
            shard=Shard.parse(context.partition_key),
        )
        yield from load_shard(context, described, request)

    return brightspace_shard


def _describing_pipeline(lms: str) -> Pipeline:
    # dagster-dlt reads the destination kind for the asset specs; nothing is run with this one
    import dlt

    return dlt.pipeline(pipeline_name=f"{lms}_pipeline__definitions", destination="duckdb", dataset_name=lms)


def models_asset(upstream: Sequence[AssetKey]) -> AssetsDefinition:
    """The dbt models in sql/, built on the warehouse after the loads."""

    @asset(
        key=MODELS_KEY,
        deps=list(upstream),
        group_name="analytics",
        automation_condition=AutomationCondition.on_cron(MODELS_CRON),
        description="The dbt project in sql/ (staging, intermediate, marts) with its tests",
    )
    def sql_models(context: AssetExecutionContext, warehouse: Warehouse) -> MaterializeResult:
        import dlt

        pipeline = dlt.pipeline(
            pipeline_name="lms_models",
            destination=warehouse.dlt_destination(),
            dataset_name=warehouse.canvas_dataset,
        )
        with warehouse_write_lock(pipeline):
            summary = run_models(
                pipeline,
                analytics_schema=warehouse.analytics_schema,
                datasets={"canvas": warehouse.canvas_dataset, "brightspace": warehouse.brightspace_dataset},
            )
        context.log.info(summary.format())
        return MaterializeResult(
            metadata={
                "models_built": len(summary.models),
                "tests_passed": summary.tests_passed,
                "analytics_schema": summary.schema,
                **{k: v for k, v in summary.headline.items() if isinstance(v, (int, float))},
            }
        )

    return sql_models
