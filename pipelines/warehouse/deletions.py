"""Marks what the provider deleted: ``deleted_at`` on conversations and messages, or the rows dropped.

The policy is ``[chatsync] deletes``: ``"flag"`` (default) keeps the rows and sets ``deleted_at``;
``"drop"`` deletes them as ``chatsync forget`` does, without a suppression, so a conversation that
comes back loads again. What is marked was seen while extracting (``sources.common.deletions``).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any, Final

import dlt

from sources.common.deletions import Deletions
from sources.common.errors import ConfigurationError
from sources.common.tables import CONVERSATIONS, KNOWLEDGE_CITATIONS, MESSAGES

from .queries import id_chunks, in_list, query_table
from .suppressions import delete_conversations

POLICIES: Final = ("flag", "drop")


def delete_policy() -> str:
    """``[chatsync] deletes``: ``flag`` or ``drop``.

    Raises:
        ConfigurationError: Any other value.
    """
    policy = str(dlt.config.get("chatsync.deletes") or "flag").strip().lower()
    if policy not in POLICIES:
        raise ConfigurationError(
            f"[chatsync] deletes = {policy!r} is not one of {', '.join(POLICIES)} (or CHATSYNC__DELETES)"
        )
    return policy


def mark_conversations(client: Any, provider: str, ids: Iterable[str], when: datetime | None) -> None:
    """Sets (or with ``when`` None, clears) ``conversations.deleted_at``; a first mark is never moved."""
    keep = " AND deleted_at IS NULL" if when is not None else ""
    for chunk in id_chunks(ids):
        sql = "UPDATE {table} SET deleted_at = %s WHERE provider = %s AND conversation_id IN " + in_list(len(chunk))
        query_table(client, CONVERSATIONS, sql + keep, when, provider, *chunk)


def mark_messages(client: Any, provider: str, conversation_id: str, ids: Iterable[str], when: datetime) -> None:
    """Sets ``messages.deleted_at`` of messages gone at the provider; a first mark is never moved."""
    for chunk in id_chunks(ids):
        sql = (
            "UPDATE {table} SET deleted_at = %s WHERE provider = %s AND conversation_id = %s "
            f"AND message_id IN {in_list(len(chunk))} AND deleted_at IS NULL"
        )
        query_table(client, MESSAGES, sql, when, provider, conversation_id, *chunk)


def drop_messages(client: Any, provider: str, conversation_id: str, ids: Iterable[str]) -> None:
    """Deletes messages gone at the provider, and their citations."""
    for table in (KNOWLEDGE_CITATIONS, MESSAGES):
        for chunk in id_chunks(ids):
            sql = "DELETE FROM {table} WHERE provider = %s AND conversation_id = %s AND message_id IN "
            query_table(client, table, sql + in_list(len(chunk)), provider, conversation_id, *chunk)


def apply_deletions(pipeline: dlt.Pipeline, provider: str, deletions: Deletions, policy: str) -> None:
    """Writes one provider run's deletions to the warehouse, after its load.

    Args:
        pipeline: The pipeline that loaded.
        provider: Provider key.
        deletions: What the run saw gone, or back.
        policy: ``flag`` or ``drop``.
    """
    if not deletions:
        return
    now = datetime.now(UTC)
    with pipeline.sql_client() as client:
        gone = sorted(deletions.conversations)
        if policy == "drop":
            delete_conversations(client, provider, gone)
        else:
            mark_conversations(client, provider, gone, now)
        mark_conversations(client, provider, deletions.returned, None)
        for conversation_id, ids in deletions.messages.items():
            if policy == "drop":
                drop_messages(client, provider, conversation_id, ids)
            else:
                mark_messages(client, provider, conversation_id, ids, now)
