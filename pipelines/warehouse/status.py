"""What the warehouse holds per provider: conversations, messages, their time range, open sync errors.

Read through the read model, so the counts are the explorer's and the report's: conversations with
a message, without what the provider deleted (unless ``views_include_deleted``).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

import dlt

from sources.common.timeutil import utc_stamp

from .read_model import pipeline_read_model


def warehouse_status(pipeline: dlt.Pipeline, providers: Iterable[str]) -> dict[str, dict[str, Any]]:
    """Per provider: messages, conversations, oldest and newest message, open sync errors."""
    with pipeline_read_model(pipeline) as model:
        if not model.tables:
            return {}
        held = model.providers()
    empty: dict[str, Any] = {"conversations": 0, "messages": 0, "oldest": None, "newest": None, "errors": 0}
    return {
        provider: {
            "messages": int(held.get(provider, empty)["messages"]),
            "conversations": int(held.get(provider, empty)["conversations"]),
            "oldest_message": _iso(held.get(provider, empty)["oldest"]),
            "newest_message": _iso(held.get(provider, empty)["newest"]),
            "open_sync_errors": int(held.get(provider, empty)["errors"]),
        }
        for provider in providers
    }


def _iso(value: Any) -> str | None:
    if value is None:
        return None
    return utc_stamp(value) if isinstance(value, datetime) else str(value)
