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
    model: str | None = None
    latency_ms: int | None = None
    knowledge_ids: tuple[str, ...] = ()  # cited, where the message is an assistant reply


@dataclass(frozen=True)
class Conv:
    """What the chatbot metrics need of a conversation record."""

    user_id: str | None = None
    handed_off: bool | None = None  # the provider's own flag
    country: str | None = None
    device_type: str | None = None


# The documented provider-support matrix (README), written out again rather than read from the SQL.
HANDOFF_SIGNAL = {"owlbot", "chatnode"}
USER_ID_SIGNAL = {"example_ai", "owlbot"}
KNOWLEDGE_SIGNAL = {"owlbot"}


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


def _abandoned(items: list[Msg], flagged: bool) -> bool:
    """The last message is the user's, no reply was stamped in its second, and no human took over."""
    last = items[-1]
    if last.role != "user" or flagged or any(m.role == "agent" for m in items):
        return False
    second = last.created_at.replace(microsecond=0)
    return not any(m.role in ("assistant", "agent") and m.created_at.replace(microsecond=0) == second for m in items)


def conversation_metrics(
    messages: list[Msg], flagged: set[tuple[str, str]] | None = None
) -> dict[tuple[str, str], dict[str, Any]]:
    """``(provider, conversation) → metrics`` with the columns of ``conversation_metrics``.

    ``flagged``: conversations whose provider set its own handoff flag (never abandoned).
    """
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
            "abandoned": _abandoned(items, (provider, cid) in (flagged or set())),
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


def _median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def _rate(flags: list[bool | None]) -> float | None:
    known = [flag for flag in flags if flag is not None]
    return sum(known) / len(known) if known else None


def conversation_outcomes(
    messages: list[Msg], conversations: dict[tuple[str, str], Conv]
) -> dict[tuple[str, str], dict[str, Any]]:
    """``(provider, conversation) → outcome`` with the columns of ``conversation_outcomes``."""
    outcomes: dict[tuple[str, str], dict[str, Any]] = {}
    for (provider, cid), items in by_conversation(messages).items():
        record = conversations.get((provider, cid), Conv())
        agents = [m for m in items if m.role == "agent"]
        if agents or record.handed_off:
            handed_off: bool | None = True
        else:
            handed_off = False if provider in HANDOFF_SIGNAL else None
        first_user = next((m for m in items if m.role == "user"), None)
        user_key = record.user_id or (first_user.sender_id if first_user else None)
        citations = sum(len(m.knowledge_ids) for m in items if m.role == "assistant")
        outcomes[(provider, cid)] = {
            "bot_id": items[0].bot_id,
            "started_at": items[0].created_at,
            "handed_off": handed_off,
            "handoff_at": agents[0].created_at if agents else None,
            "contained": None if handed_off is None else (not handed_off and any(m.role == "assistant" for m in items)),
            "user_key": user_key,
            "returning_user": None,
            "kb_citations": citations if provider in KNOWLEDGE_SIGNAL else None,
        }
    firsts: dict[tuple[str, str, str], list[tuple[datetime, str]]] = defaultdict(list)
    for (provider, cid), row in outcomes.items():
        if row["user_key"] is not None:
            firsts[(provider, row["bot_id"] or "", row["user_key"])].append((row["started_at"], cid))
    for (provider, _, _), started in firsts.items():
        for rank, (_, cid) in enumerate(sorted(started)):
            outcomes[(provider, cid)]["returning_user"] = rank > 0
    return outcomes


def bot_daily_kpis(
    messages: list[Msg], conversations: dict[tuple[str, str], Conv]
) -> dict[tuple[date, str, str | None], dict[str, Any]]:
    """``(day, provider, bot) → KPIs`` with the columns of ``bot_daily_kpis``."""
    metrics = conversation_metrics(messages, {key for key, c in conversations.items() if c.handed_off})
    groups: dict[tuple[date, str, str | None], list[tuple[dict[str, Any], dict[str, Any]]]] = defaultdict(list)
    for key, outcome in conversation_outcomes(messages, conversations).items():
        groups[(outcome["started_at"].date(), key[0], outcome["bot_id"])].append((outcome, metrics[key]))
    kpis = {}
    for (day, provider, bot), rows in groups.items():
        asked = [(o, m) for o, m in rows if m["user_messages"] > 0]
        users = provider in USER_ID_SIGNAL
        kpis[(day, provider, bot)] = {
            "conversations": len(rows),
            "containment_rate": _rate([o["contained"] for o, _ in asked]),
            "handoff_rate": _rate([o["handed_off"] for o, _ in asked]),
            "abandoned_rate": _rate([m["abandoned"] for _, m in rows]),
            "median_first_response_seconds": _median(
                [m["first_response_seconds"] for _, m in rows if m["first_response_seconds"] is not None]
            ),
            "new_users": len({o["user_key"] for o, _ in rows if o["returning_user"] is False}) if users else None,
            "returning_users": len({o["user_key"] for o, _ in rows if o["returning_user"]}) if users else None,
        }
    return kpis


def knowledge_usage(messages: list[Msg]) -> dict[tuple[str, str | None, str], dict[str, Any]]:
    """``(provider, bot, knowledge id) → usage`` with the columns of ``knowledge_usage``."""
    cited: dict[tuple[str, str | None, str], list[Msg]] = defaultdict(list)
    for m in messages:
        if m.role == "assistant":
            for knowledge_id in dict.fromkeys(m.knowledge_ids):
                cited[(m.provider, m.bot_id, knowledge_id)].append(m)
    return {
        key: {
            "citations": len(items),
            "conversations": len({m.conversation_id for m in items}),
            "first_cited_at": min(m.created_at for m in items),
            "last_cited_at": max(m.created_at for m in items),
        }
        for key, items in cited.items()
    }


def model_latency(messages: list[Msg]) -> dict[tuple[date, str, str], dict[str, Any]]:
    """``(day, provider, model) → replies and latency percentiles`` (p95: nearest rank)."""
    groups: dict[tuple[date, str, str], list[Msg]] = defaultdict(list)
    for m in messages:
        if m.role == "assistant" and m.model is not None:
            groups[(m.created_at.date(), m.provider, m.model)].append(m)
    result = {}
    for key, items in groups.items():
        latencies = sorted(m.latency_ms for m in items if m.latency_ms is not None)
        rank = -(-95 * len(latencies) // 100)  # ceil(0.95 n)
        result[key] = {
            "replies": len(items),
            "p50_latency_ms": _median([float(v) for v in latencies]),
            "p95_latency_ms": latencies[rank - 1] if latencies else None,
        }
    return result


def audience(
    messages: list[Msg], conversations: dict[tuple[str, str], Conv]
) -> dict[tuple[str, str | None, str | None, str | None], dict[str, Any]]:
    """``(provider, bot, country, device type) → conversations and users``."""
    groups: dict[tuple[str, str | None, str | None, str | None], list[dict[str, Any]]] = defaultdict(list)
    for (provider, cid), outcome in conversation_outcomes(messages, conversations).items():
        record = conversations.get((provider, cid), Conv())
        groups[(provider, outcome["bot_id"], record.country, record.device_type)].append(outcome)
    return {
        (provider, *rest): {
            "conversations": len(rows),
            "users": len({o["user_key"] for o in rows if o["user_key"] is not None})
            if provider in USER_ID_SIGNAL
            else None,
        }
        for (provider, *rest), rows in groups.items()
    }
