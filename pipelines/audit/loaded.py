"""The warehouse's side of an audit: loaded conversations and their live messages."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sources.common.tables import CONVERSATIONS, MESSAGES

from ..warehouse.queries import id_chunks, in_list, query_table
from .verdicts import Loaded


def read_loaded(client: Any, provider: str, newest_ids: Iterable[str], whole: Iterable[str]) -> Loaded:
    """What the warehouse holds of ``provider``.

    Args:
        client: An open dlt SQL client.
        provider: Provider key.
        newest_ids: Message ids to look up (example-ai's quick audit).
        whole: Conversations whose live messages are read one by one (a whole audit).

    Returns:
        The conversations, live message counts, and the messages asked for.
    """
    loaded = Loaded()
    sql = "SELECT conversation_id, bot_id, deleted_at IS NOT NULL FROM {table} WHERE provider = %s"
    for cid, bot, marked in query_table(client, CONVERSATIONS, sql, provider) or []:
        loaded.conversations[str(cid)] = (None if bot is None else str(bot), bool(marked))
    counts = (
        "SELECT conversation_id, COUNT(*), SUM(CASE WHEN role = 'user' THEN 1 ELSE 0 END) FROM {table} "
        "WHERE provider = %s AND deleted_at IS NULL GROUP BY conversation_id"
    )
    for cid, total, users in query_table(client, MESSAGES, counts, provider) or []:
        loaded.counts[str(cid)] = (int(total), int(users or 0))
    for chunk in id_chunks(newest_ids):
        sql = "SELECT message_id FROM {table} WHERE provider = %s AND deleted_at IS NULL AND message_id IN "
        rows = query_table(client, MESSAGES, sql + in_list(len(chunk)), provider, *chunk) or []
        loaded.present.update(str(mid) for (mid,) in rows)
    for chunk in id_chunks(whole):
        sql = (
            "SELECT conversation_id, message_id, content FROM {table} "
            "WHERE provider = %s AND deleted_at IS NULL AND conversation_id IN "
        )
        for cid, mid, content in query_table(client, MESSAGES, sql + in_list(len(chunk)), provider, *chunk) or []:
            loaded.messages.setdefault(str(cid), {})[str(mid)] = content
    return loaded
