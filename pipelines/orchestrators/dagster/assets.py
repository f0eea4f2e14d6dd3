"""The assets: each shard's incremental asset and daily-partitioned twin, and the views downstream."""

# No ``from __future__ import annotations``: Dagster reads the context and resource annotations.
from collections.abc import Iterator, Sequence
from dataclasses import replace
from typing import Any

import dlt
from dagster import (
    AssetExecutionContext,
    AssetKey,
    AssetsDefinition,
    AssetSpec,
    BackfillPolicy,
    DailyPartitionsDefinition,
    Failure,
    MaterializeResult,
    MetadataValue,
    asset,
    multi_asset,
)
from dagster_dlt import build_dlt_asset_specs
from dlt.extract.source import DltSource

from sources.common.secrets import scrub

from ...engine.factory import build_pipeline, locked_pipeline
from ...engine.locking import RunLocked
from ...engine.registry import PROVIDERS
from ...engine.target import PIPELINE_NAME, insights_target
from ...warehouse.analytics import VIEWS, refresh_views
from ..insights import refresh_insights_of
from ..shards import (
    ID_SETTINGS,
    Shard,
)
from .constants import DEFINITION_ONLY, INSIGHTS_KEY, VIEWS_KEY
from .resource import ChatsyncDltResource
from .settings import OrchestrationSettings
from .translator import ShardTranslator


def definition_source(shard: Shard) -> DltSource:
    """The shard's dlt source as the asset definition sees it: its resources, nothing resolved or read.

    The real source is made at run time, from configuration, by the runner.
    """
    setting = ID_SETTINGS.get(shard.provider)
    ids = shard.source_options or ({setting: [DEFINITION_ONLY]} if setting else {})
    factory = PROVIDERS[shard.provider]
    source: DltSource = factory(api_key=DEFINITION_ONLY, base_url=f"https://{DEFINITION_ONLY}.invalid", **ids)
    return source


def shard_assets(
    shard: Shard, settings: OrchestrationSettings, daily: DailyPartitionsDefinition
) -> list[AssetsDefinition]:
    """The shard's incremental asset and its daily-partitioned backfill twin."""
    target = settings.target
    pipeline = build_pipeline(shard.target(target))
    source = definition_source(shard)
    loads, backfills = ShardTranslator(shard, False, target.dataset), ShardTranslator(shard, True, target.dataset)

    @multi_asset(specs=shown_specs(source, pipeline, loads), name=shard.key, can_subset=True, pool=settings.pool)
    def incremental(context: AssetExecutionContext, chatsync_dlt: ChatsyncDltResource) -> Iterator[Any]:
        yield from chatsync_dlt.run(context, source, pipeline, loads, shard=shard, target=target)

    @multi_asset(
        specs=shown_specs(source, pipeline, backfills),
        name=f"{shard.key}__by_day",
        can_subset=True,
        partitions_def=daily,
        backfill_policy=BackfillPolicy.single_run(),  # every provider reads a window in one pass
        pool=settings.pool,
    )
    def by_day(context: AssetExecutionContext, chatsync_dlt: ChatsyncDltResource) -> Iterator[Any]:
        window = context.partition_time_window
        days = (window.start.date(), window.end.date())
        yield from chatsync_dlt.run(context, source, pipeline, backfills, shard=shard, target=target, backfill=days)

    return [incremental, by_day]


def shown_specs(source: DltSource, pipeline: dlt.Pipeline, translator: ShardTranslator) -> list[AssetSpec]:
    """dagster-dlt's specs (what ``dlt_assets`` builds) without the objects it keeps in their metadata.

    ``dlt_assets`` stores the source, pipeline and translator there for its resource to find; the
    UI can only show them as ``[DltSource] (unserializable)``. chatsync hands them to the run instead.
    """
    specs = build_dlt_asset_specs(dlt_source=source, dlt_pipeline=pipeline, dagster_dlt_translator=translator)
    return [without_dlt_objects(spec) for spec in specs]


def without_dlt_objects(spec: AssetSpec) -> AssetSpec:
    """The spec without the source, pipeline and translator objects dagster-dlt keeps in its metadata.

    The UI can only show them as ``[DltSource] (unserializable)``; the run is handed them directly.
    """
    kept = {key: value for key, value in spec.metadata.items() if not key.startswith(DLT_OBJECTS)}
    return spec.replace_attributes(metadata=kept)


DLT_OBJECTS = "dagster_dlt/"  # dagster_dlt.constants' META_KEY_SOURCE, _PIPELINE and _TRANSLATOR


def views_asset(settings: OrchestrationSettings, upstream: Sequence[AssetKey]) -> AssetsDefinition:
    """The analytics views, re-created after the loads they read."""
    target = settings.target

    @asset(
        key=VIEWS_KEY,
        group_name="analytics",
        deps=list(upstream),
        pool=settings.pool,
        description=f"Analytics views ({', '.join(VIEWS)}) over {target.dataset}.messages and .conversations.",
        kinds={"sql", target.destination},
    )
    def analytics_views(context: AssetExecutionContext) -> MaterializeResult[Any]:
        try:
            with locked_pipeline(replace(target, pipeline_name=f"{PIPELINE_NAME}__views")) as pipeline:
                refreshed = refresh_views(pipeline)
        except RunLocked as exc:
            raise Failure(description=scrub(str(exc)), allow_retries=True) from None
        except Exception as exc:
            raise Failure(description=scrub(f"analytics views: {type(exc).__name__}: {exc}".splitlines()[0])) from None
        if not refreshed:
            context.log.warning(f"{target.dataset}.messages does not exist yet: no views made")
        return MaterializeResult(metadata={"views": MetadataValue.json(refreshed)})

    return analytics_views


def insights_asset(settings: OrchestrationSettings) -> AssetsDefinition:
    """Conversation insights (topics, outcomes, sentiment, knowledge gaps), after the views."""
    target = settings.target

    @asset(
        key=INSIGHTS_KEY,
        group_name="analytics",
        deps=[VIEWS_KEY],
        pool=settings.pool,
        description=(
            f"Conversation insights over {target.dataset}: conversation_insights, topics, knowledge_gaps, "
            "topic_model and the topic_daily view (docs/insights.md). Skipped with [insights] enabled = false."
        ),
        kinds={"python", target.destination},
    )
    def conversation_insights(context: AssetExecutionContext) -> MaterializeResult[Any]:
        try:
            with locked_pipeline(insights_target(target)) as pipeline:
                done = refresh_insights_of(target, pipeline)
        except RunLocked as exc:
            raise Failure(description=scrub(str(exc)), allow_retries=True) from None
        except Exception as exc:
            raise Failure(description=scrub(f"insights: {type(exc).__name__}: {exc}".splitlines()[0])) from None
        if done is None:
            context.log.info("[insights] enabled = false: nothing computed")
        return MaterializeResult(metadata={"insights": MetadataValue.text(done or "off")})

    return conversation_insights
