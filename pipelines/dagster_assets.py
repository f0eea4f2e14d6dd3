"""chatsync as Dagster assets: one per shard, a daily-partitioned twin for backfills, the views downstream.

Built with ``dagster-dlt``: ``@dlt_assets`` makes the assets from each shard's dlt source, and
``ChatsyncDltResource`` (a ``DagsterDltResource``) runs them through chatsync's own runner, so an
orchestrated load keeps everything ``chatsync run`` guarantees: the run lock, crash repair, pending
packages finished first, per-conversation isolation, the privacy policy and the exit semantics.

``pipelines.orchestration`` exposes the ``defs`` that ``dagster dev -m pipelines.orchestration`` serves.
"""

# No ``from __future__ import annotations``: Dagster reads the context and resource annotations.
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import date
from typing import Any, Final

import dlt
from dagster import (
    AssetExecutionContext,
    AssetKey,
    AssetsDefinition,
    AssetSelection,
    BackfillPolicy,
    Backoff,
    DailyPartitionsDefinition,
    DefaultScheduleStatus,
    Definitions,
    Failure,
    Jitter,
    MaterializeResult,
    MetadataValue,
    RetryPolicy,
    ScheduleDefinition,
    asset,
    define_asset_job,
)
from dagster_dlt import DagsterDltResource, DagsterDltTranslator, dlt_assets
from dagster_dlt.translator import DltResourceTranslatorData
from dlt.extract.source import DltSource

from sources.common.errors import ConfigurationError

from .analytics import VIEWS, refresh_views
from .locking import RunLocked
from .registry import PROVIDERS
from .runner import (
    DATASET_NAME,
    PIPELINE_NAME,
    ExitCode,
    RunReport,
    Target,
    build_pipeline,
    execute,
    locked_pipeline,
    scrub,
)
from .shards import (
    DEFAULT_SCHEDULE,
    ID_SETTINGS,
    Shard,
    orchestration_schedule,
    orchestration_target,
    plan_shards,
    setting,
)

INCREMENTAL_JOB: Final = "chatsync_incremental_job"
BACKFILL_JOB: Final = "chatsync_backfill_job"
DUCKDB_POOL: Final = "chatsync_duckdb"  # DuckDB takes one writer at a time: its loads queue here
VIEWS_KEY: Final = AssetKey([DATASET_NAME, "analytics_views"])
RESOURCE_KEY: Final = "chatsync_dlt"
_DEFINITION_ONLY: Final = "resolved-at-run-time"  # what the definition-time source is given for secrets


@dataclass(frozen=True)
class OrchestrationSettings:
    """``[chatsync.orchestration]``: where shards load, when, and how failures are retried."""

    target: Target
    schedule: str = DEFAULT_SCHEDULE
    schedule_running: bool = True
    backfill_start: str = "2025-01-01"
    retries: int = 3
    retry_delay_seconds: float = 60.0

    @classmethod
    def from_config(cls) -> "OrchestrationSettings":
        """The settings from dlt config (``.dlt/config.toml`` or ``CHATSYNC__ORCHESTRATION__…``).

        Raises:
            ConfigurationError: A setting cannot be used.
        """

        try:
            return cls(
                target=orchestration_target(),
                schedule=orchestration_schedule(),
                schedule_running=_as_bool(setting("schedule_running", cls.schedule_running)),
                backfill_start=date.fromisoformat(str(setting("backfill_start", cls.backfill_start))).isoformat(),
                retries=int(setting("retries", cls.retries)),
                retry_delay_seconds=float(setting("retry_delay_seconds", cls.retry_delay_seconds)),
            )
        except ValueError as exc:
            raise ConfigurationError(f"[chatsync.orchestration]: {exc}") from None

    @property
    def pool(self) -> str | None:
        """The concurrency pool that serialises writers, where the warehouse needs it (DuckDB)."""
        return DUCKDB_POOL if self.target.destination == "duckdb" else None

    def retry_policy(self) -> RetryPolicy:
        """Dagster retries a failed shard; a lock held by another run is the usual transient cause."""
        return RetryPolicy(
            max_retries=self.retries,
            delay=self.retry_delay_seconds,
            backoff=Backoff.EXPONENTIAL,
            jitter=Jitter.PLUS_MINUS,
        )


def _as_bool(value: Any) -> bool:
    return value if isinstance(value, bool) else str(value).strip().lower() in ("1", "true", "yes", "on")


def shard_key(shard: Shard, by_day: bool = False) -> AssetKey:
    """``chat_history/<provider>/<shard>``; the daily-partitioned backfill twin is ``chat_history_by_day/…``."""
    return AssetKey([f"{DATASET_NAME}_by_day" if by_day else DATASET_NAME, shard.provider, shard.name])


class ShardTranslator(DagsterDltTranslator):
    """Names a shard's asset after the shard, groups it by provider, and says what it loads."""

    def __init__(self, shard: Shard, by_day: bool) -> None:
        self.shard = shard
        self.by_day = by_day

    def get_asset_spec(self, data: DltResourceTranslatorData) -> Any:
        """The dlt resource's default spec, with chatsync's key, group, description and no upstream."""
        mode = (
            "Backfill by UTC day: re-reads exactly the selected days; incremental cursors are not moved."
            if self.by_day
            else "Incremental load from the stored per-conversation cursors."
        )
        return (
            super()
            .get_asset_spec(data)
            .replace_attributes(
                key=shard_key(self.shard, self.by_day),
                group_name=self.shard.provider,
                deps=[],
                description=(
                    f"{self.shard.describe()}. {mode} Merges into {DATASET_NAME}.messages, .conversations "
                    f"and .sync_errors through dlt pipeline {self.shard.pipeline_name!r}."
                ),
            )
            .merge_attributes(tags={"chatsync/provider": self.shard.provider})
        )


class ChatsyncDltResource(DagsterDltResource):
    """``DagsterDltResource`` whose run is chatsync's runner rather than a bare ``pipeline.run``.

    dagster-dlt's own run drops the pipeline's local state first and loads in one call; chatsync
    instead takes the shard's run lock, finishes what an interrupted run left, loads step by step,
    and maps its outcome to Dagster: a failure with the one-line cause, rows kept where they loaded.
    """

    def _run(  # type: ignore[override]
        self,
        context: AssetExecutionContext,
        dlt_source: DltSource,
        dlt_pipeline: dlt.Pipeline,
        dagster_dlt_translator: DagsterDltTranslator,
        **kwargs: Any,
    ) -> Iterator[MaterializeResult[Any]]:
        shard: Shard = kwargs["shard"]
        target: Target = kwargs["target"]
        backfill: tuple[date, date] | None = kwargs.get("backfill")
        report = run_shard(context, shard, target, backfill)
        outcome = report.outcomes[0] if report.outcomes else None
        # a run that loaded nothing new still materialises; a failed one only when rows did load
        if outcome is not None and (outcome.loaded_rows or report.exit_code() is ExitCode.OK):
            for key in context.selected_asset_keys:
                yield MaterializeResult(asset_key=key, metadata=outcome_metadata(report, target, shard))
        fail_unless_ok(report)


def run_shard(
    context: AssetExecutionContext, shard: Shard, target: Target, backfill: tuple[date, date] | None
) -> RunReport:
    """One shard through ``execute``, the views left to their own asset.

    Raises:
        Failure: The run lock is held (retried) or the configuration is wrong (not retried).
    """
    window = f", backfill {backfill[0]} to {backfill[1]} (exclusive)" if backfill else ""
    context.log.info(f"{shard.describe()}; pipeline {shard.target(target).state_name}{window}")
    try:
        return execute(
            shard.target(target),
            [shard.provider],
            backfill=backfill,
            on_repair=context.log.warning,
            source_options={shard.provider: shard.source_options},
            views=False,
        )
    except RunLocked as exc:
        raise Failure(description=scrub(str(exc)), allow_retries=True) from None
    except ConfigurationError as exc:
        raise Failure(description=scrub(str(exc)), allow_retries=False) from None


def fail_unless_ok(report: RunReport) -> None:
    """Raises a Dagster ``Failure`` carrying the run's one-line causes unless it exited 0.

    Raises:
        Failure: Retried by the job's ``RetryPolicy`` unless the configuration is at fault or the
            run was stopped by a signal (someone terminated it: it must not start again by itself).
    """
    code = report.exit_code()
    if code is ExitCode.OK:
        return
    causes = [report.setup_error, report.views_error, *(o.error for o in report.outcomes)]
    skipped = [
        f"{o.provider}: {len(o.observer.skipped)} conversation(s) skipped"
        for o in report.outcomes
        if o.observer.skipped
    ]
    if code in (ExitCode.SIGINT, ExitCode.SIGTERM):
        causes.append(f"interrupted by signal {report.signal}")
    description = "; ".join(c for c in [*causes, *skipped] if c) or f"exit status {int(code)}"
    raise Failure(
        description=f"{description} (chatsync exit status {int(code)})",
        metadata={"exit_status": int(code)},
        allow_retries=code not in (ExitCode.USAGE, ExitCode.SIGINT, ExitCode.SIGTERM),
    )


def outcome_metadata(report: RunReport, target: Target, shard: Shard) -> dict[str, Any]:
    """What a materialisation records: rows loaded and new per table, requests, time, where."""
    outcome = report.outcomes[0]
    return {
        "rows_loaded": MetadataValue.json(outcome.loaded_rows),
        "rows_new": MetadataValue.json(outcome.new_rows),
        "conversations_skipped": MetadataValue.int(len(outcome.observer.skipped)),
        "requests": MetadataValue.int(outcome.observer.requests),
        "seconds": MetadataValue.float(round(outcome.seconds, 3)),
        "dlt_pipeline": shard.target(target).state_name,
        "destination": target.destination,
        "dataset": target.dataset,
    }


def definition_source(shard: Shard) -> DltSource:
    """The shard's dlt source as the asset definition sees it: its resources, nothing resolved or read.

    The real source is made at run time, from configuration, by the runner.
    """
    ids = shard.source_options or {ID_SETTINGS[shard.provider]: [_DEFINITION_ONLY]}
    factory = PROVIDERS[shard.provider]
    source: DltSource = factory(api_key=_DEFINITION_ONLY, base_url=f"https://{_DEFINITION_ONLY}.invalid", **ids)
    return source


def shard_assets(
    shard: Shard, settings: OrchestrationSettings, daily: DailyPartitionsDefinition
) -> list[AssetsDefinition]:
    """The shard's incremental asset and its daily-partitioned backfill twin."""
    target = settings.target
    pipeline = build_pipeline(shard.target(target))

    @dlt_assets(
        dlt_source=definition_source(shard),
        dlt_pipeline=pipeline,
        name=shard.key,
        dagster_dlt_translator=ShardTranslator(shard, by_day=False),
        pool=settings.pool,
    )
    def incremental(context: AssetExecutionContext, chatsync_dlt: ChatsyncDltResource) -> Iterator[Any]:
        yield from chatsync_dlt.run(context=context, shard=shard, target=target)

    @dlt_assets(
        dlt_source=definition_source(shard),
        dlt_pipeline=pipeline,
        name=f"{shard.key}__by_day",
        dagster_dlt_translator=ShardTranslator(shard, by_day=True),
        partitions_def=daily,
        backfill_policy=BackfillPolicy.single_run(),  # every provider reads a window in one pass
        pool=settings.pool,
    )
    def by_day(context: AssetExecutionContext, chatsync_dlt: ChatsyncDltResource) -> Iterator[Any]:
        window = context.partition_time_window
        days = (window.start.date(), window.end.date())
        yield from chatsync_dlt.run(context=context, shard=shard, target=target, backfill=days)

    return [incremental, by_day]


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
    retry = settings.retry_policy()
    incremental_job = define_asset_job(
        INCREMENTAL_JOB,
        selection=AssetSelection.assets(*incremental_keys, VIEWS_KEY),
        description="Every shard from its cursors, then the views (what cron's `chatsync run` did).",
        op_retry_policy=retry,
    )
    backfill_job = define_asset_job(
        BACKFILL_JOB,
        selection=AssetSelection.assets(*(shard_key(s, by_day=True) for s in shards)),
        description="Re-reads the selected UTC days, as `chatsync backfill` does; cursors are not moved.",
        op_retry_policy=retry,
    )
    schedule = ScheduleDefinition(
        name=f"{INCREMENTAL_JOB}_schedule",
        job=incremental_job,
        cron_schedule=settings.schedule,
        execution_timezone="UTC",
        default_status=DefaultScheduleStatus.RUNNING if settings.schedule_running else DefaultScheduleStatus.STOPPED,
    )
    return Definitions(
        assets=[*loads, views],
        jobs=[incremental_job, backfill_job],
        schedules=[schedule],
        resources={RESOURCE_KEY: ChatsyncDltResource()},
    )
