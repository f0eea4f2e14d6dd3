"""What the warehouse holds per provider: messages, conversations, their time range, open sync errors."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

import dlt

from sources.common.tables import CONVERSATIONS, MESSAGES, SYNC_ERRORS
from sources.common.timeutil import utc_stamp

from .queries import query_table


def warehouse_status(pipeline: dlt.Pipeline, providers: Iterable[str]) -> dict[str, dict[str, Any]]:
    """Per provider: messages, conversations, oldest and newest message, open sync errors."""
    with pipeline.sql_client() as client:
        if not client.has_dataset():
            return {}
        messages = _grouped(client, MESSAGES, "COUNT(*), MIN(created_at), MAX(created_at)")
        conversations = _grouped(client, CONVERSATIONS, "COUNT(*)")
        errors = _grouped(client, SYNC_ERRORS, "COUNT(*)", "WHERE resolved_at IS NULL")
    return {
        provider: {
            "messages": int(messages.get(provider, (0,))[0]),
            "conversations": int(conversations.get(provider, (0,))[0]),
            "oldest_message": _iso(messages.get(provider, (0, None, None))[1]),
            "newest_message": _iso(messages.get(provider, (0, None, None))[2]),
            "open_sync_errors": int(errors.get(provider, (0,))[0]),
        }
        for provider in providers
    }


def _grouped(client: Any, table: str, select: str, where: str = "") -> dict[str, tuple[Any, ...]]:
    rows = query_table(client, table, f"SELECT provider, {select} FROM {{table}} {where} GROUP BY provider") or []
    return {str(row[0]): tuple(row[1:]) for row in rows}


def _iso(value: Any) -> str | None:
    if value is None:
        return None
    return utc_stamp(value) if isinstance(value, datetime) else str(value)
