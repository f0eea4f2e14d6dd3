"""The ``audit_results`` table: one summary row per provider and audit, one row per conversation not complete."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final

import dlt

from sources.common.tables import AUDIT_COLUMNS, AUDIT_RESULTS

from ..engine.locking import schema_migration_lock
from .verdicts import COMPLETE, Verdict

SUMMARY: Final = "summary"


def summary_row(provider: str, mode: str, at: datetime, verdicts: list[Verdict], requests: int) -> dict[str, Any]:
    """The provider's summary row."""
    kinds = [v.kind for v in verdicts]
    return {
        "audited_at": at,
        "provider": provider,
        "kind": SUMMARY,
        "mode": mode,
        "checked": sum(k != "deleted" for k in kinds),
        "complete": kinds.count(COMPLETE),
        "incomplete": kinds.count("incomplete"),
        "capped": kinds.count("capped"),
        "deleted": kinds.count("deleted"),
        "requests": requests,
    }


def verdict_rows(provider: str, mode: str, at: datetime, verdicts: list[Verdict]) -> list[dict[str, Any]]:
    """One row per conversation that is not complete."""
    return [
        {
            "audited_at": at,
            "provider": provider,
            "bot_id": v.bot_id,
            "conversation_id": v.conversation_id,
            "kind": v.kind,
            "mode": mode,
            "provider_count": v.provider_count,
            "warehouse_count": v.warehouse_count,
            "missing": len(v.missing),
            "gone": len(v.gone),
            "changed": len(v.changed),
            "detail": v.detail,
        }
        for v in verdicts
        if v.kind != COMPLETE
    ]


def record(pipeline: dlt.Pipeline, rows: list[dict[str, Any]]) -> None:
    """Appends rows to ``audit_results`` (its own dlt schema, beside the providers')."""
    if not rows:
        return
    resource = dlt.resource(rows, name=AUDIT_RESULTS, write_disposition="append", columns=AUDIT_COLUMNS)
    # step by step: ``run`` would load pending packages instead of this one
    pipeline.extract(resource, schema=dlt.Schema("chatsync_audit"))
    pipeline.normalize()
    if pipeline.destination is not None and pipeline.destination.destination_name != "duckdb":
        with schema_migration_lock(pipeline):  # shards' audits run side by side: table changes take turns
            pipeline.sync_schema()
    pipeline.load()
