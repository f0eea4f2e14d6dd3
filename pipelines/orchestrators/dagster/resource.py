"""The dagster-dlt resource whose run is chatsync's runner, and how a run's outcome becomes Dagster's."""

# No ``from __future__ import annotations``: Dagster reads the context and resource annotations.
from collections.abc import Iterator
from datetime import date
from typing import Any

import dlt
from dagster import (
    AssetExecutionContext,
    Failure,
    MaterializeResult,
    MetadataValue,
)
from dagster_dlt import DagsterDltResource, DagsterDltTranslator
from dlt.extract.source import DltSource

from sources.common.errors import ConfigurationError
from sources.common.secrets import scrub
from sources.common.wording import counted

from ...engine.exit_codes import ExitCode
from ...engine.locking import RunLocked
from ...engine.outcome import RunReport
from ...engine.runner import execute
from ...engine.target import Target
from ..shards import (
    Shard,
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
            insights=False,  # the insights asset, downstream of every load, does it once
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
        f"{o.provider}: {counted(len(o.observer.skipped), 'conversation')} skipped"
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
