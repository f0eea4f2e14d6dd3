"""What each page reads: plain dictionaries for the templates, from one short-lived connection each."""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any, Final

from ..warehouse.windows import weekly
from .queries import (
    LIST_COLUMNS,
    PAGE_SIZE,
    TRANSCRIPT_COLUMNS,
    Filters,
    conversations_sql,
    shown_sql,
    transcript_sql,
)
from .warehouse import Warehouse

INSIGHTS: Final = "conversation_insights"
TOP: Final = 5


def _dicts(columns: tuple[str, ...], rows: list[tuple[Any, ...]]) -> list[dict[str, Any]]:
    return [dict(zip(columns, row, strict=True)) for row in rows]


def overview(warehouse: Warehouse, connection: Any) -> dict[str, Any]:
    """Per provider and bot: conversations, messages, last message; the last load; outcomes, topics, gaps."""
    tables = warehouse.tables(connection)
    if "conversations" not in tables or "messages" not in tables:
        return {"bots": [], "loaded": False}
    bots = warehouse.rows(
        connection,
        f"SELECT m.provider, m.bot_id, COUNT(DISTINCT m.conversation_id), COUNT(*), MAX(m.created_at) "
        f"FROM {warehouse.table('messages')} AS m GROUP BY m.provider, m.bot_id ORDER BY m.provider, m.bot_id",
    )
    found: dict[str, Any] = {
        "loaded": True,
        "bots": _dicts(("provider", "bot_id", "conversations", "messages", "last_message"), bots),
        "last_load": _last_load(warehouse, connection, tables),
        "outcomes": {},
        "topics": [],
        "gaps": [],
    }
    if INSIGHTS in tables:
        found["outcomes"] = _outcomes(warehouse, connection)
        found["topics"] = topics(warehouse, connection)[:TOP]
        found["gaps"] = gaps(warehouse, connection)[:TOP]
    return found


def _last_load(warehouse: Warehouse, connection: Any, tables: frozenset[str]) -> Any:
    if "_dlt_loads" not in tables:
        return None
    rows = warehouse.rows(connection, f"SELECT MAX(inserted_at) FROM {warehouse.table('_dlt_loads')} WHERE status = 0")
    return rows[0][0] if rows else None


def _outcomes(warehouse: Warehouse, connection: Any) -> dict[tuple[str, str | None], dict[str, int]]:
    mix: defaultdict[tuple[str, str | None], dict[str, int]] = defaultdict(dict)
    sql = (
        f"SELECT provider, bot_id, outcome, COUNT(*) FROM {warehouse.table(INSIGHTS)} "
        "GROUP BY provider, bot_id, outcome"
    )
    for provider, bot, outcome, count in warehouse.rows(connection, sql):
        mix[(provider, bot)][outcome] = int(count)
    return dict(mix)


TOPIC_COLUMNS: Final = (
    "topic_id",
    "language",
    "label",
    "conversations",
    "unanswered",
    "handed_off",
    "question_1",
    "question_2",
    "question_3",
)


def topics(warehouse: Warehouse, connection: Any) -> list[dict[str, Any]]:
    """Every topic, largest first, with its last 7 days against the 7 before (by the data's newest day)."""
    if "topics" not in warehouse.tables(connection):
        return []
    present = warehouse.columns(connection, "topics")
    columns = (*TOPIC_COLUMNS, *(c for c in TOPIC_ACROSS_LANGUAGES if c in present))
    rows = warehouse.rows(
        connection,
        f"SELECT {', '.join(columns)} FROM {warehouse.table('topics')} ORDER BY conversations DESC, topic_id",
    )
    found = _dicts(columns, rows)
    for topic in found:
        topic["examples"] = json.loads(topic["examples"]) if topic.get("examples") else {}
    daily = warehouse.rows(connection, f"SELECT topic_id, day, conversations FROM {warehouse.table('topic_daily')}")
    counts = weekly(daily)
    for topic in found:
        topic["last_7"], topic["previous_7"] = counts.get(topic["topic_id"], (0, 0))
    return found


TOPIC_ACROSS_LANGUAGES: Final = ("languages", "examples")  # since topics span languages

GAP_COLUMNS: Final = (
    "rank",
    "topic_id",
    "label",
    "conversations",
    "unanswered",
    "handed_off",
    "failed_share",
    "last_7_days",
    "previous_7_days",
    *(f"example_{n}_{part}" for n in (1, 2, 3) for part in ("question", "provider", "conversation_id")),
)


def gaps(warehouse: Warehouse, connection: Any) -> list[dict[str, Any]]:
    """Knowledge gaps, the one to fill first first, each with its example conversations."""
    if "knowledge_gaps" not in warehouse.tables(connection):
        return []
    rows = warehouse.rows(
        connection, f"SELECT {', '.join(GAP_COLUMNS)} FROM {warehouse.table('knowledge_gaps')} ORDER BY rank"
    )
    found = _dicts(GAP_COLUMNS, rows)
    for gap in found:
        gap["examples"] = [
            (gap[f"example_{n}_provider"], gap[f"example_{n}_conversation_id"], gap[f"example_{n}_question"])
            for n in (1, 2, 3)
            if gap[f"example_{n}_conversation_id"]
        ]
    return found


def conversation_list(warehouse: Warehouse, connection: Any, filters: Filters, limit: int | None) -> dict[str, Any]:
    """One page of the conversations the filters select (all of them with no limit), and the SQL."""
    insights = INSIGHTS in warehouse.tables(connection)
    sql, params = conversations_sql(warehouse, filters, insights, limit)
    rows = _dicts(LIST_COLUMNS, warehouse.rows(connection, sql, params))
    more = limit is not None and len(rows) > limit
    return {"rows": rows[:limit] if limit else rows, "more": more, "sql": shown_sql(sql, params), "insights": insights}


def transcript(warehouse: Warehouse, connection: Any, provider: str, conversation_id: str) -> dict[str, Any] | None:
    """One conversation: its row, every message with its citations, its insights; None when unknown."""
    conversation = warehouse.rows(
        connection,
        f"SELECT bot_id, started_at, user_id, handed_off, deleted_at FROM {warehouse.table('conversations')} "
        "WHERE provider = %s AND conversation_id = %s",
        [provider, conversation_id],
    )
    if not conversation:
        return None
    tables = warehouse.tables(connection)
    sql = transcript_sql(warehouse)
    messages = _dicts(TRANSCRIPT_COLUMNS, warehouse.rows(connection, sql, [provider, conversation_id]))
    citations: defaultdict[str, list[str]] = defaultdict(list)
    if "knowledge_citations" in tables:
        for message_id, knowledge_id in warehouse.rows(
            connection,
            f"SELECT message_id, knowledge_id FROM {warehouse.table('knowledge_citations')} "
            "WHERE provider = %s AND conversation_id = %s ORDER BY message_id, knowledge_id",
            [provider, conversation_id],
        ):
            citations[str(message_id)].append(str(knowledge_id))
    for message in messages:
        message["citations"] = citations.get(str(message["message_id"]), [])
    insight = None
    if INSIGHTS in tables:
        found = warehouse.rows(
            connection,
            f"SELECT topic_id, language, sentiment, outcome, fallback, question FROM {warehouse.table(INSIGHTS)} "
            "WHERE provider = %s AND conversation_id = %s",
            [provider, conversation_id],
        )
        insight = (
            _dicts(("topic_id", "language", "sentiment", "outcome", "fallback", "question"), found)[0]
            if found
            else None
        )
    bot_id, started_at, user_id, handed_off, deleted_at = conversation[0]
    return {
        "provider": provider,
        "conversation_id": conversation_id,
        "bot_id": bot_id,
        "started_at": started_at,
        "user_id": user_id,
        "handed_off": handed_off,
        "deleted_at": deleted_at,
        "messages": messages,
        "insight": insight,
        "sql": shown_sql(sql, [provider, conversation_id]),
    }


def topic(warehouse: Warehouse, connection: Any, topic_id: str) -> dict[str, Any] | None:
    """One topic and its newest conversations; None when unknown."""
    found = [t for t in topics(warehouse, connection) if t["topic_id"] == topic_id]
    if not found:
        return None
    listed = conversation_list(warehouse, connection, Filters(topic=topic_id), PAGE_SIZE)
    return {"topic": found[0], **listed}
