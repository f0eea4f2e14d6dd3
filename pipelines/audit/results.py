"""The ``audit_results`` table: one summary row per provider and audit, one row per conversation not complete."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final

import dlt
from dlt.common.schema.typing import TTableSchemaColumns

from sources.common.tables import AUDIT_RESULTS, BOT_COLUMN, PROVIDER_COLUMN

from ..engine.locking import schema_migration_lock
from .verdicts import COMPLETE, Verdict

SUMMARY: Final = "summary"

AUDIT_COLUMNS: Final[TTableSchemaColumns] = {
    "audited_at": {"data_type": "timestamp", "timezone": True, "nullable": False, "description": "when the audit ran"},
    "provider": {"data_type": "text", "nullable": False, "description": PROVIDER_COLUMN},
    "bot_id": {"data_type": "text", "nullable": True, "description": BOT_COLUMN},
    "conversation_id": {"data_type": "text", "nullable": True, "description": "the conversation; NULL on summary rows"},
    "kind": {
        "data_type": "text",
        "nullable": False,
        "description": "summary, incomplete, deleted (at the provider) or unreadable (the provider answered an error)",
    },
    "mode": {"data_type": "text", "nullable": False, "description": "quick, full, sample or repair"},
    "checked": {"data_type": "bigint", "nullable": True, "description": "summary: conversations checked"},
    "complete": {"data_type": "bigint", "nullable": True, "description": "summary: conversations complete"},
    "incomplete": {"data_type": "bigint", "nullable": True, "description": "summary: conversations incomplete"},
    "deleted": {
        "data_type": "bigint",
        "nullable": True,
        "description": "summary: conversations deleted at the provider",
    },
    "provider_count": {
        "data_type": "bigint",
        "nullable": True,
        "description": "messages the provider holds (or counts)",
    },
    "warehouse_count": {"data_type": "bigint", "nullable": True, "description": "live messages the warehouse holds"},
    "missing": {"data_type": "bigint", "nullable": True, "description": "messages missing in the warehouse"},
    "gone": {"data_type": "bigint", "nullable": True, "description": "messages gone at the provider"},
    "changed": {"data_type": "bigint", "nullable": True, "description": "messages whose content differs"},
    "requests": {"data_type": "bigint", "nullable": True, "description": "summary: requests the audit made"},
    "detail": {"data_type": "text", "nullable": True, "description": "what differs, one line"},
}


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
