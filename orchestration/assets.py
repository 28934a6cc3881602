"""Dagster assets: one group per LMS (dlt resources, partitioned by shard) and the SQL models downstream."""

import logging
from collections.abc import Iterator, Sequence
from typing import Any

from dagster import (
    AssetExecutionContext,
    AssetKey,
    AssetsDefinition,
    AssetSpec,
    AutomationCondition,
    MaterializeResult,
    PartitionsDefinition,
    asset,
)
from dagster_dlt import DagsterDltTranslator, dlt_assets
from dagster_dlt.translator import DltResourceTranslatorData
from dlt.extract.source import DltSource
from dlt.pipeline.pipeline import Pipeline

from orchestration.resources import BrightspaceConnection, CanvasConnection, Warehouse
from pipelines.shards import Shard, warehouse_write_lock
from pipelines.transform import run_models
from sources.brightspace import brightspace_source
from sources.canvas import canvas_source

logger = logging.getLogger(__name__)

CANVAS_PIPELINE = "canvas_pipeline"
BRIGHTSPACE_PIPELINE = "brightspace_pipeline"
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
    # the sources only describe the resources here; each run builds its shard's own with real settings
    canvas = canvas_source(base_url="https://canvas.invalid", access_token="unused")
    brightspace = brightspace_source(
        base_url="https://brightspace.invalid", client_id="unused", client_secret="unused", refresh_token=None
    )
    return canvas, brightspace


def asset_keys(source: DltSource) -> list[AssetKey]:
    """The asset keys of a source's selected resources."""
    return [_key(source, resource) for resource in source.selected_resources.values()]


def _key(source: DltSource, resource: Any) -> AssetKey:
    return AssetKey([source.name, resource.name])


def load_shard(
    context: AssetExecutionContext, source: DltSource, pipeline: Pipeline, shard: Shard
) -> Iterator[MaterializeResult]:
    """Extract and normalize one shard unlocked, then load it holding the warehouse write lock.

    Shards therefore extract in parallel and take turns at the warehouse (DuckDB has one writer).
    """
    if context.is_subset:
        wanted = {key.path[-1] for key in context.selected_asset_keys}
        source = source.with_resources(*[name for name in source.selected_resources if name in wanted])
    with warehouse_write_lock(pipeline):
        # a fresh run host restores the shard's state (incremental cursors) from the destination
        pipeline.sync_destination()
        if pipeline.has_pending_data:
            context.log.info("finishing the load left pending by the previous run of shard %s", shard.key)
            pipeline.load()
    is_duckdb = pipeline.destination is not None and pipeline.destination.destination_type.endswith("duckdb")
    pipeline.extract(source, loader_file_format="parquet" if is_duckdb else None)
    rows = pipeline.normalize().row_counts
    with warehouse_write_lock(pipeline):
        load_info = pipeline.load()
    load_info.raise_on_failed_jobs()
    for resource in source.selected_resources.values():
        yield MaterializeResult(
            asset_key=_key(source, resource),
            metadata={
                "shard": shard.key,
                "pipeline_name": pipeline.pipeline_name,
                "dataset_name": pipeline.dataset_name,
                "rows_loaded": int(rows.get(resource.table_name, 0)),  # type: ignore[arg-type]
            },
        )


def canvas_assets(partitions: PartitionsDefinition) -> AssetsDefinition:
    """The Canvas group: every Canvas resource, one partition per shard."""
    canvas, _ = _definition_sources()

    @dlt_assets(
        dlt_source=canvas,
        dlt_pipeline=_describing_pipeline(CANVAS_PIPELINE, "canvas"),
        name="canvas_shard",
        dagster_dlt_translator=TRANSLATOR,
        partitions_def=partitions,
    )
    def canvas_shard(
        context: AssetExecutionContext, canvas: CanvasConnection, warehouse: Warehouse
    ) -> Iterator[MaterializeResult]:
        shard = Shard.parse(context.partition_key)
        base_url, token = canvas.connection()
        source = canvas_source(
            base_url=base_url,
            access_token=token,
            account_id=shard.account or "self",
            course_ids=list(shard.courses) or None,
            term_ids=list(shard.terms) or None,
            api=canvas.api(),
        )
        pipeline = warehouse.pipeline(CANVAS_PIPELINE, shard, warehouse.canvas_dataset)
        yield from load_shard(context, source, pipeline, shard)

    return canvas_shard


def brightspace_assets(partitions: PartitionsDefinition) -> AssetsDefinition:
    """The Brightspace group: every Brightspace resource, one partition per org-unit shard."""
    _, brightspace = _definition_sources()

    @dlt_assets(
        dlt_source=brightspace,
        dlt_pipeline=_describing_pipeline(BRIGHTSPACE_PIPELINE, "brightspace"),
        name="brightspace_shard",
        dagster_dlt_translator=TRANSLATOR,
        partitions_def=partitions,
        # one OAuth2 app (one rate limit): limit this pool where that limit is tight (see the README)
        pool="brightspace_app",
    )
    def brightspace_shard(
        context: AssetExecutionContext, brightspace: BrightspaceConnection, warehouse: Warehouse
    ) -> Iterator[MaterializeResult]:
        shard = Shard.parse(context.partition_key)
        api = brightspace.api()
        source = brightspace_source(
            base_url=api.base_url,
            client_id="unused",
            client_secret="unused",
            refresh_token=None,
            org_unit_ids=list(shard.org_units) or None,
            api=api,
        )
        pipeline = warehouse.pipeline(BRIGHTSPACE_PIPELINE, shard, warehouse.brightspace_dataset)
        yield from load_shard(context, source, pipeline, shard)

    return brightspace_shard


def _describing_pipeline(name: str, dataset: str) -> Pipeline:
    # dagster-dlt reads the destination kind for the asset specs; nothing is run with this one
    import dlt

    return dlt.pipeline(pipeline_name=f"{name}__definitions", destination="duckdb", dataset_name=dataset)


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
