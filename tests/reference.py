"""The analytics definitions recomputed in plain Python, independently of the SQL.

Each function takes plain message records and returns rows keyed like the views, so tests can
check the views against the simulator's ground truth without checking the SQL against itself.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any


@dataclass(frozen=True)
class Msg:
    """One message, as the definitions need it."""

    provider: str
    bot_id: str | None
    conversation_id: str
    message_id: str
    role: str
    created_at: datetime
    sequence: int | None
    sender_id: str | None = None
    observed: bool = False  # created_at is when chatsync first saw it


def _order(messages: list[Msg]) -> list[Msg]:
    # created_at, then sequence, then message_id: the documented tiebreak
    return sorted(messages, key=lambda m: (m.created_at, m.sequence if m.sequence is not None else 0, m.message_id))


def by_conversation(messages: list[Msg]) -> dict[tuple[str, str], list[Msg]]:
    """Messages grouped by ``(provider, conversation_id)``, in conversation order."""
    grouped: dict[tuple[str, str], list[Msg]] = defaultdict(list)
    for m in messages:
        grouped[(m.provider, m.conversation_id)].append(m)
    return {key: _order(items) for key, items in grouped.items()}


def response_times(messages: list[Msg]) -> dict[tuple[str, str, str], float | None]:
    """``(provider, conversation, reply id) → seconds`` (None where a time is only observed)."""
    result = {}
    for (provider, cid), items in by_conversation(messages).items():
        previous: Msg | None = None
        for m in items:
            if m.role not in ("user", "assistant"):
                continue
            if m.role == "assistant" and previous is not None and previous.role == "user":
                made_up = m.observed or previous.observed
                seconds = None if made_up else (m.created_at - previous.created_at).total_seconds()
                result[(provider, cid, m.message_id)] = seconds
            previous = m
    return result


def conversation_metrics(messages: list[Msg]) -> dict[tuple[str, str], dict[str, Any]]:
    """``(provider, conversation) → metrics`` with the columns of ``conversation_metrics``."""
    replies = response_times(messages)
    result = {}
    for (provider, cid), items in by_conversation(messages).items():
        replies_here = [s for (p, c, _), s in replies.items() if (p, c) == (provider, cid)]
        latencies = [s for s in replies_here if s is not None]
        roles = [m.role for m in items]
        first_user = next((n for n, m in enumerate(items) if m.role == "user"), None)
        first_reply = None
        if first_user is not None:
            first_reply = next((m for m in items[first_user + 1 :] if m.role == "assistant"), None)
        result[(provider, cid)] = {
            "started_at": items[0].created_at,
            "ended_at": items[-1].created_at,
            "duration_seconds": None
            if any(m.observed for m in items)
            else (items[-1].created_at - items[0].created_at).total_seconds(),
            "message_count": len(items),
            **{f"{role}_messages": roles.count(role) for role in ("user", "assistant", "agent", "system", "unknown")},
            "first_response_seconds": None
            if first_reply is None or first_user is None or first_reply.observed or items[first_user].observed
            else (first_reply.created_at - items[first_user].created_at).total_seconds(),
            "median_response_seconds": statistics.median(latencies) if latencies else None,
            "unanswered": roles[-1] == "user",
            "turns": len(replies_here),
        }
    return result


def daily_activity(
    messages: list[Msg], user_of_conversation: dict[tuple[str, str], str | None]
) -> dict[tuple[date, str, str | None], dict[str, Any]]:
    """``(day, provider, bot) → activity`` with the columns of ``daily_activity``."""
    metrics = conversation_metrics(messages)
    rows: dict[tuple[date, str, str | None], dict[str, Any]] = {}
    for m in messages:
        key = (m.created_at.date(), m.provider, m.bot_id)
        row = rows.setdefault(key, {"conversations": set(), "users": set(), "roles": defaultdict(int)})
        row["conversations"].add(m.conversation_id)
        row["roles"][m.role] += 1
        if m.role == "user":
            user = m.sender_id or user_of_conversation.get((m.provider, m.conversation_id))
            if user:
                row["users"].add(user)
    started: dict[tuple[date, str, str | None], int] = defaultdict(int)
    bots = {(m.provider, m.conversation_id): m.bot_id for m in messages}
    for (provider, cid), values in metrics.items():
        started[(values["started_at"].date(), provider, bots[(provider, cid)])] += 1
    return {
        key: {
            "conversations_started": started.get(key, 0),
            "active_conversations": len(row["conversations"]),
            "messages": sum(row["roles"].values()),
            **{f"{r}_messages": row["roles"][r] for r in ("user", "assistant", "agent", "system", "unknown")},
            "distinct_users": len(row["users"]) or None,
        }
        for key, row in rows.items()
    }
