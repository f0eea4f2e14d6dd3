"""``chatsync forget``: erase one end user (or one conversation) on request, and keep it erased.

Deletes the conversations, messages and ``sync_errors`` rows from the warehouse, on any
destination, and records a suppression: the provider, what kind of id, and its keyed hash (never
the raw id), in the warehouse's ``suppressions`` table and in the project's list
(``pipelines.suppressions``), from which every run into any other warehouse applies it too.
Every later run and backfill drops rows of a suppressed conversation or user before they reach
dlt (``sources.common.batching.batched``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import dlt

from sources.common.errors import ConfigurationError
from sources.common.privacy import PrivacyPolicy
from sources.common.tables import CONVERSATIONS, MESSAGES
from sources.registry import SPECS

from .queries import query_table
from .suppressions import SuppressionList, delete_conversations, record_in_warehouse


@dataclass
class Erasure:
    """What ``forget`` found and deleted."""

    conversations: list[str] = field(default_factory=list)
    deleted: dict[str, int] = field(default_factory=dict)

    @property
    def nothing(self) -> bool:
        """Whether there was nothing to erase."""
        return not self.conversations


def _stored_user_id(policy: PrivacyPolicy, user_id: str, provider: str) -> Any:
    stored = policy.column("user_id", user_id)
    if stored is None:
        raise ConfigurationError(
            f"{provider}: user ids are dropped by the privacy policy, so none can be found; use --conversation"
        )
    return stored


def _query(client: Any, table: str, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    return query_table(client, table, sql, *args) or []


BY_USER = "SELECT conversation_id FROM {table} WHERE provider = %s AND user_id = %s"
BY_SENDER = "SELECT DISTINCT conversation_id FROM {table} WHERE provider = %s AND sender_id = %s"
BY_ID = "SELECT DISTINCT conversation_id FROM {table} WHERE provider = %s AND conversation_id = %s"


def _found(client: Any, queries: list[tuple[str, str]], provider: str, value: Any) -> list[str]:
    rows = [row for table, sql in queries for row in _query(client, table, sql, provider, value)]
    return sorted({str(cid) for (cid,) in rows})


def conversations_of(client: Any, provider: str, stored_user_id: Any) -> list[str]:
    """Conversations of one end user: by ``conversations.user_id`` or ``messages.sender_id``."""
    return _found(client, [(CONVERSATIONS, BY_USER), (MESSAGES, BY_SENDER)], provider, stored_user_id)


def suppression_rows(
    policy: PrivacyPolicy, provider: str, user_id: str | None, conversations: list[str]
) -> list[dict[str, Any]]:
    """The ``suppressions`` rows: keyed hashes of the user id and of each conversation id."""
    now = datetime.now(UTC)
    keys = [("conversation", cid) for cid in conversations]
    if user_id is not None:
        keys.append(("user", user_id))
    return [
        {"provider": provider, "kind": kind, "key_hash": policy.hash(value), "created_at": now} for kind, value in keys
    ]


def forget(
    pipeline: dlt.Pipeline,
    provider: str,
    key: bytes,
    user_id: str | None = None,
    conversation_id: str | None = None,
    *,
    list_file: Path,
) -> Erasure:
    """Erases an end user's (or one conversation's) rows and records the suppression.

    Args:
        pipeline: The pipeline, under the run lock.
        list_file: The project's suppression list (``.chatsync/suppressions.json``).
        provider: Provider key.
        key: The key that hashes personal data (the one the loads use).
        user_id: The end user's id as the provider sends it.
        conversation_id: Or one conversation.

    Returns:
        What was found and deleted.

    Raises:
        ConfigurationError: The provider has no user ids, or the policy drops them.
    """
    policy = PrivacyPolicy.from_config(provider, key)
    erasure = Erasure()
    if user_id is not None and not SPECS[provider].end_user_ids:
        raise ConfigurationError(f"{provider} sends no end-user id; forget its conversations with --conversation")
    with pipeline.sql_client() as client:
        if user_id is not None:
            erasure.conversations = conversations_of(client, provider, _stored_user_id(policy, user_id, provider))
        elif conversation_id is not None:
            queries = [(CONVERSATIONS, BY_ID), (MESSAGES, BY_ID)]
            erasure.conversations = _found(client, queries, provider, conversation_id)
        erasure.deleted = delete_conversations(client, provider, erasure.conversations)
    ids = erasure.conversations if user_id is not None else [conversation_id] if conversation_id else []
    rows = suppression_rows(policy, provider, user_id, ids)
    project = SuppressionList(list_file)
    project.add((row["provider"], row["kind"], row["key_hash"]) for row in rows)
    project.save()  # first: a warehouse that fails below still gets it at its next run
    record_in_warehouse(pipeline, [project.entries[(r["provider"], r["kind"], r["key_hash"])] for r in rows])
    return erasure
