"""The completeness check: ``chatsync audit`` (quick) as an asset check on each shard's incremental asset.

A failed audit shows on the asset in Dagster's UI. The checks run in their own job on their own
daily schedule (an audit every 15 minutes would double the listing requests), not with the loads.
"""

# No ``from __future__ import annotations``: Dagster reads the context annotations.
import hashlib
from dataclasses import replace
from typing import Any

from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetChecksDefinition,
    AssetCheckSeverity,
    MetadataValue,
    asset_check,
)

from ...audit.audit import audit
from ...audit.verdicts import INCOMPLETE
from ...engine.exit_codes import ExitCode
from ...engine.target import PIPELINE_NAME, Target
from ..shards import Shard
from .translator import shard_key


def audit_pipeline_name(shard: Shard) -> str:
    """The dlt pipeline a shard's audit writes through (``audit_results``, marks); it holds no cursor.

    One per shard, so the checks of shards loading in parallel (Postgres) do not queue on one lock.
    """
    return f"{PIPELINE_NAME}__audit__{hashlib.sha1(shard.key.encode()).hexdigest()[:12]}"  # dlt: ≤ 64 characters


def completeness_check(shard: Shard, target: Target, pool: str | None) -> AssetChecksDefinition:
    """The shard's quick audit as an asset check: it fails when a conversation is incomplete.

    It writes (``audit_results``, deletion marks), so on DuckDB it queues in the writers' ``pool``.
    """

    @asset_check(
        asset=shard_key(shard),
        name="complete",
        description=f"chatsync audit of {shard.key}: the warehouse holds what the provider reports.",
        blocking=False,
        pool=pool,
    )
    def complete(context: AssetCheckExecutionContext) -> AssetCheckResult:
        report = audit(
            replace(target, pipeline_name=audit_pipeline_name(shard)),
            [shard.provider],
            census_options={shard.provider: shard.source_options},
        )
        audited = report.audits[0]
        incomplete = [v.conversation_id for v in audited.verdicts if v.kind == INCOMPLETE]
        metadata: dict[str, Any] = {
            "checked": audited.checked,
            "incomplete": len(incomplete),
            "requests": audited.requests,
            "incomplete_conversations": MetadataValue.json(incomplete[:100]),
        }
        if audited.error:
            metadata["error"] = audited.error
        return AssetCheckResult(
            passed=report.exit_code() == ExitCode.OK, severity=AssetCheckSeverity.ERROR, metadata=metadata
        )

    return complete
