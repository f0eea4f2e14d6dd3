"""Canonical rows: what each provider's records become, grouped by the table they are bound for."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from .tables import CONVERSATIONS, KNOWLEDGE_CITATIONS, MESSAGES, OWNERS, ROLES, SYNC_ERRORS
from .timeutil import to_plain_utc


def message_row(
    *,
    provider: str,
    bot_id: str | None,
    conversation_id: str,
    message_id: str,
    role: str,
    content: str | None,
    created_at: datetime | None,
    sender_id: str | None,
    raw: Mapping[str, Any],
    sequence: int | None = None,
    observed: bool = False,
    model: str | None = None,
    latency_ms: int | None = None,
) -> dict[str, Any]:
    """One ``messages`` row.

    Args:
        provider: Provider key.
        bot_id: The bot, where the provider has bots.
        conversation_id: The provider's conversation id.
        message_id: The provider's message id, or a derived stable key.
        role: One of ``ROLES``.
        content: The text.
        created_at: When the message was created (UTC).
        sender_id: The sender, where the provider reports one.
        raw: The provider's record as received.
        sequence: The provider's order within the conversation, breaking ties in ``created_at``.
        observed: True when ``created_at`` is when chatsync first saw the message, because the
            provider sent no timestamp.
        model: The model that wrote the message, where the provider reports it.
        latency_ms: How long the model took, where the provider reports it.

    Returns:
        The row.
    """
    if role not in ROLES:
        raise ValueError(f"role {role!r} is not one of {sorted(ROLES)}")
    return {
        "provider": provider,
        "bot_id": bot_id,
        "conversation_id": conversation_id,
        "message_id": message_id,
        "role": role,
        "content": content,
        "created_at": to_plain_utc(created_at) if created_at else None,
        "sender_id": sender_id,
        "sequence": sequence,
        "created_at_observed": observed,
        "model": model,
        "latency_ms": latency_ms,
        "deleted_at": None,
        "raw": dict(raw),
    }


def conversation_row(
    *,
    provider: str,
    bot_id: str | None,
    conversation_id: str,
    started_at: datetime | None,
    user_id: str | None,
    reported_message_count: int | None,
    raw: Mapping[str, Any],
    handed_off: bool | None = None,
    country: str | None = None,
    device_type: str | None = None,
    visibility: int | None = None,
    bot_name: str | None = None,
    provider_verdict: str | None = None,
    test_conversation: bool | None = None,
) -> dict[str, Any]:
    """One ``conversations`` row (arguments as the columns; the last five only where the provider says).

    ``deleted_at`` is always NULL here: a conversation a run reads exists, and a merged row clears
    an earlier deletion mark (see ``sources.common.deletions``).
    """
    return {
        "provider": provider,
        "bot_id": bot_id,
        "bot_name": bot_name,
        "conversation_id": conversation_id,
        "started_at": to_plain_utc(started_at) if started_at else None,
        "user_id": user_id,
        "reported_message_count": reported_message_count,
        "handed_off": handed_off,
        "country": country,
        "device_type": device_type,
        "visibility": visibility,
        "provider_verdict": provider_verdict,
        "test_conversation": test_conversation,
        "deleted_at": None,
        "raw": dict(raw),
    }


def citation_rows(message: Mapping[str, Any], knowledge_ids: Iterable[Any]) -> list[dict[str, Any]]:
    """``knowledge_citations`` rows: one per distinct knowledge-base id a ``message_row`` cites."""
    return [
        {
            "provider": message["provider"],
            "bot_id": message["bot_id"],
            "conversation_id": message["conversation_id"],
            "message_id": message["message_id"],
            "knowledge_id": knowledge_id,
            "cited_at": message["created_at"],
        }
        for knowledge_id in dict.fromkeys(str(k) for k in knowledge_ids if k is not None and str(k) != "")
    ]


@dataclass(frozen=True)
class TableRows:
    """Canonical rows bound for one table, not yet handed to dlt (see ``batched``)."""

    table: str
    rows: Sequence[dict[str, Any]]
    create_empty: bool = False  # create the table even without rows (``sync_errors`` from the first run)


def as_messages(rows: Sequence[dict[str, Any]]) -> TableRows:
    """Rows made by ``message_row``, bound for ``messages``."""
    return TableRows(MESSAGES, rows)


def as_conversations(rows: Sequence[dict[str, Any]]) -> TableRows:
    """Rows made by ``conversation_row``, bound for ``conversations``."""
    return TableRows(CONVERSATIONS, rows)


def as_citations(rows: Sequence[dict[str, Any]]) -> TableRows:
    """Rows made by ``citation_rows``, bound for ``knowledge_citations``."""
    return TableRows(KNOWLEDGE_CITATIONS, rows)


def as_owners(rows: Sequence[dict[str, Any]]) -> TableRows:
    """Who each conversation belongs to (``provider``, ``conversation_id``, ``user_id``), for the
    erasure filter only: nothing is written. A run that writes no ``conversations`` row (OwlBot's
    backfill) names the end user this way, so a forgotten user's new conversation is dropped too."""
    return TableRows(OWNERS, rows)


def as_sync_errors(rows: Sequence[dict[str, Any]]) -> TableRows:
    """Rows bound for ``sync_errors`` (see ``sources.common.isolation``)."""
    return TableRows(SYNC_ERRORS, rows)
