"""chatsync's Dagster ``Definitions``: the assets, the incremental and backfill jobs, the schedule."""

# No ``from __future__ import annotations``: Dagster reads the context and resource annotations.
from collections.abc import Sequence
from typing import Any

from dagster import (
    AssetSelection,
    DailyPartitionsDefinition,
    DefaultScheduleStatus,
    Definitions,
    ScheduleDefinition,
    define_asset_job,
)

from ..shards import (
    Shard,
    plan_shards,
)
from .assets import insights_asset, shard_assets, views_asset
from .checks import completeness_check
from .constants import AUDIT_JOB, BACKFILL_JOB, INCREMENTAL_JOB, INSIGHTS_KEY, RESOURCE_KEY, VIEWS_KEY
from .resource import ChatsyncDltResource
from .settings import OrchestrationSettings
from .translator import shard_key


def build_definitions(
    settings: OrchestrationSettings | None = None, shards: Sequence[Shard] | None = None
) -> Definitions:
    """chatsync's Dagster definitions: shard assets, views, the incremental and backfill jobs, the schedule.

    Args:
        settings: Defaults to ``[chatsync.orchestration]`` from config.
        shards: Defaults to ``plan_shards()`` (every configured provider).

    Returns:
        The definitions.
    """
    settings = settings or OrchestrationSettings.from_config()
    shards = list(shards) if shards is not None else plan_shards()
    daily = DailyPartitionsDefinition(start_date=settings.backfill_start, timezone="UTC")
    loads = [assets for shard in shards for assets in shard_assets(shard, settings, daily)]
    incremental_keys = [shard_key(shard) for shard in shards]
    views = views_asset(settings, [*incremental_keys, *(shard_key(s, by_day=True) for s in shards)])
    insights = insights_asset(settings)
    retry = settings.retry_policy()
    checks = [completeness_check(shard, settings.target, settings.pool) for shard in shards]
    incremental_job = define_asset_job(
        INCREMENTAL_JOB,
        selection=AssetSelection.assets(*incremental_keys, VIEWS_KEY, INSIGHTS_KEY).without_checks(),
        description="Every shard from its cursors, then the views and insights (what cron's `chatsync run` does).",
        op_retry_policy=retry,
    )
    backfill_job = define_asset_job(
        BACKFILL_JOB,
        selection=AssetSelection.assets(*(shard_key(s, by_day=True) for s in shards)),
        description="Re-reads the selected UTC days, as `chatsync backfill` does; cursors are not moved.",
        op_retry_policy=retry,
    )
    audit_job = define_asset_job(
        AUDIT_JOB,
        selection=AssetSelection.checks(*checks),
        description="The quick `chatsync audit` of every shard, as asset checks (a failed audit shows on the asset).",
    )
    return Definitions(
        assets=[*loads, views, insights],
        asset_checks=checks,
        jobs=[incremental_job, backfill_job, audit_job],
        schedules=[
            _schedule(incremental_job, settings.schedule, settings),
            _schedule(audit_job, settings.audit_schedule, settings),
        ],
        resources={RESOURCE_KEY: ChatsyncDltResource()},
    )


def _schedule(job: Any, cron: str, settings: OrchestrationSettings) -> ScheduleDefinition:
    """``<job>_schedule`` on ``cron`` (UTC), running unless ``schedule_running`` is off."""
    return ScheduleDefinition(
        name=f"{job.name}_schedule",
        job=job,
        cron_schedule=cron,
        execution_timezone="UTC",
        default_status=DefaultScheduleStatus.RUNNING if settings.schedule_running else DefaultScheduleStatus.STOPPED,
    )
