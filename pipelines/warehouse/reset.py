"""``chatsync reset``: forget one provider's (or one conversation's) incremental state.

The next run then re-reads what was forgotten. Only that provider is touched: its part of the
pipeline state, and, for OwlBot, the change marker it keeps in the warehouse
(``conversations.reported_message_count``). With ``drop_data`` the same rows are deleted from the
shared tables first, so the next run loads them afresh. (dlt's own ``dlt pipeline … drop`` works on
whole tables, which all four providers share, so it must not be used for this.)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import dlt

from sources.common.errors import ConfigurationError
from sources.common.tables import CONVERSATIONS, KNOWLEDGE_CITATIONS, MESSAGES, SYNC_ERRORS

from .queries import query_table


@dataclass
class ResetDone:
    """What a reset changed."""

    state_entries: int = 0
    markers_cleared: int = 0
    deleted: dict[str, int] = field(default_factory=dict)


def _forget_keys(value: Any, key: str) -> int:
    """Removes every dict entry named ``key`` below ``value``; returns how many."""
    if not isinstance(value, dict):
        return 0
    removed = 1 if value.pop(key, None) is not None else 0
    return removed + sum(_forget_keys(item, key) for item in value.values())


def _apply(client: Any, table: str, action: str, where: str, args: list[Any]) -> int:
    """Runs ``action`` (with ``{table}`` and ``{where}``) and returns how many rows it concerned."""
    rows = query_table(client, table, f"SELECT COUNT(*) FROM {{table}} WHERE {where}", *args)
    if rows is None:
        return 0
    query_table(client, table, action.replace("{where}", where), *args)
    return int(rows[0][0]) if rows else 0


def _mentions(value: Any, key: str) -> bool:
    if not isinstance(value, dict):
        return False
    return key in value or any(_mentions(item, key) for item in value.values())


def _known(pipeline: dlt.Pipeline, client: Any, provider: str, conversation_id: str) -> bool:
    """Whether the state or the warehouse knows this conversation of ``provider``."""
    if _mentions(pipeline.state.get("sources", {}).get(provider, {}), conversation_id):
        return True
    sql = "SELECT COUNT(*) FROM {table} WHERE provider = %s AND conversation_id = %s"
    if not client.has_dataset():
        return False
    for table in (CONVERSATIONS, MESSAGES):
        rows = query_table(client, table, sql, provider, conversation_id)
        if rows and int(rows[0][0]):
            return True
    return False


def reset(pipeline: dlt.Pipeline, provider: str, conversation_id: str | None, drop_data: bool) -> ResetDone:
    """Forgets a provider's (or one conversation's) incremental state; with ``drop_data`` its rows too.

    Args:
        pipeline: The pipeline, under the run lock.
        provider: Provider key.
        conversation_id: Only this conversation (a session or lead id for OwlBot and ChatNode).
        drop_data: Also delete its rows from ``messages``, ``conversations`` and ``sync_errors``.

    Returns:
        What changed.

    Raises:
        ConfigurationError: The conversation is known neither to the state nor to the warehouse.
    """
    done = ResetDone()
    where, args = "provider = %s", [provider]
    if conversation_id is not None:
        where, args = "provider = %s AND conversation_id = %s", [provider, conversation_id]
    with pipeline.sql_client() as client:
        if conversation_id is not None and not _known(pipeline, client, provider, conversation_id):
            raise ConfigurationError(
                f"reset: {provider} conversation {conversation_id!r} is neither in the state of pipeline "
                f"{pipeline.pipeline_name!r} nor in dataset {pipeline.dataset_name!r}; nothing reset (a typo?)"
            )
        if drop_data:
            for table in (MESSAGES, KNOWLEDGE_CITATIONS, CONVERSATIONS, SYNC_ERRORS):
                done.deleted[table] = _apply(client, table, "DELETE FROM {table} WHERE {where}", where, args)
        else:  # OwlBot's change marker lives in the warehouse: clear it so the sessions are re-read
            clear = "UPDATE {table} SET reported_message_count = NULL WHERE {where}"
            done.markers_cleared = _apply(client, CONVERSATIONS, clear, where, args)
    with pipeline.managed_state(extract_state=True) as state:
        sources = state.setdefault("sources", {})
        if conversation_id is None:
            done.state_entries = int(sources.pop(provider, None) is not None)
        else:
            done.state_entries = _forget_keys(sources.get(provider, {}), conversation_id)
    pipeline.normalize()  # the changed state travels to the destination like any other
    pipeline.load()
    return done
