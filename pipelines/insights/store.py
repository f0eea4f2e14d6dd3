"""What insights read from the warehouse, on every destination: changed conversations, the model, the rows.

The SQL is written once in DuckDB's dialect and transpiled (``pipelines.warehouse.analytics``), so
it reads what the views read: without what the provider deleted, unless configured otherwise.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from sqlglot import exp

from sources.common.tables import CONVERSATION_INSIGHTS, TOPIC_EDITS, TOPIC_MODEL, TOPICS

from ..warehouse.analytics import TOPIC_DAILY, live_tables, transpile, view_sql
from ..warehouse.queries import columns_exist, tables_exist
from .aggregates import TopicModel
from .conversations import ADDED_COLUMNS, Message
from .representations import LEXICAL, unpack

FETCH_ROWS: Final = 10_000

_COUNTED: Final = """
WITH counted AS (
    SELECT provider, conversation_id, COUNT(*) AS message_count, MAX(created_at) AS last_message_at
    FROM messages
    GROUP BY provider, conversation_id
),
changed AS (
    SELECT c.provider, c.conversation_id, c.bot_id, c.handed_off
    FROM conversations AS c
    JOIN counted AS n ON n.provider = c.provider AND n.conversation_id = c.conversation_id
    {known}
    WHERE {where}
)
SELECT m.provider, ch.bot_id, m.conversation_id, ch.handed_off, m.role, SUBSTR(m.content, 1, {limit}), m.created_at
FROM messages AS m
JOIN changed AS ch ON ch.provider = m.provider AND ch.conversation_id = m.conversation_id
ORDER BY m.provider, m.conversation_id, m.created_at, m.sequence, m.message_id
"""
_KNOWN: Final = (
    "LEFT JOIN conversation_insights AS i ON i.provider = c.provider AND i.conversation_id = c.conversation_id"
)
_CHANGED: Final = (
    "(i.conversation_id IS NULL OR i.message_count <> n.message_count "
    "OR i.last_message_at IS DISTINCT FROM n.last_message_at)"
)


@dataclass(frozen=True)
class Reader:
    """An open SQL client of the dataset, with its dialect and what its views leave out."""

    client: Any
    dialect: str
    dataset: str

    @functools.cached_property
    def live(self) -> frozenset[str]:
        """Tables read without deleted rows (asked of the warehouse once per reader)."""
        return live_tables(self.client)

    def sql(self, canonical: str) -> str:
        """Canonical SQL for this destination."""
        return transpile(canonical, self.dialect, self.dataset, live=self.live)

    def has(self, table: str) -> bool:
        """Whether ``table`` exists in the dataset."""
        return tables_exist(self.client, [table])

    def has_column(self, table: str, column: str) -> bool:
        """Whether ``table`` has ``column`` (a warehouse of an older version may not)."""
        return columns_exist(self.client, {table: column})


def provider_filter(providers: Iterable[str] | None, alias: str = "c") -> str:
    """``c.provider IN ('owlbot', …)`` for known provider keys (checked by the caller), or TRUE."""
    chosen = sorted(providers or ())
    if not chosen:
        return "TRUE"
    return f"{alias}.provider IN (" + ", ".join(exp.Literal.string(p).sql() for p in chosen) + ")"


def changed_conversations_sql(
    dialect: str, dataset: str, live: frozenset[str], known: bool, providers: Iterable[str] | None, limit: int
) -> str:
    """The query of ``changed_conversations`` for one destination.

    Args:
        dialect: The destination's SQL dialect.
        dataset: The dataset.
        live: Tables read without deleted rows.
        known: ``conversation_insights`` exists: read only conversations changed since their row.
        providers: Only these providers (None: all).
        limit: Characters of each message read.

    Returns:
        SQL: one row per message, in conversation order.
    """
    where = " AND ".join([provider_filter(providers), _CHANGED if known else "TRUE"])
    sql = _COUNTED.format(known=_KNOWN if known else "", where=where, limit=int(limit))
    return transpile(sql, dialect, dataset, live=live)


def topic_daily_statements(dialect: str, dataset: str) -> list[str]:
    """Statements that (re)create the ``topic_daily`` view (Postgres: dropped first, its columns may change)."""
    name = exp.table_(TOPIC_DAILY, db=dataset, quoted=True).sql(dialect=dialect)
    select = transpile(view_sql(TOPIC_DAILY), dialect, dataset)
    if dialect == "postgres":
        return [f"DROP VIEW IF EXISTS {name}", f"CREATE VIEW {name} AS\n{select}"]
    return [f"CREATE OR REPLACE VIEW {name} AS\n{select}"]


ConversationMessages = tuple[tuple[str, str | None, str], bool, list[Message]]


def changed_conversations(
    reader: Reader, providers: Iterable[str] | None, limit: int, everything: bool
) -> Iterator[ConversationMessages]:
    """Each conversation that is new or changed since its insights row, with its messages in order.

    Args:
        reader: The open warehouse.
        providers: Only these providers (None: all).
        limit: Characters of each message read.
        everything: Every conversation, changed or not.

    Yields:
        ``((provider, bot_id, conversation_id), provider's handoff flag, messages)``.
    """
    known = reader.has(CONVERSATION_INSIGHTS) and not everything
    sql = changed_conversations_sql(reader.dialect, reader.dataset, reader.live, known, providers, limit)
    key: tuple[str, str | None, str] | None = None
    flagged, messages = False, list[Message]()
    with reader.client.execute_query(sql) as cursor:
        while rows := cursor.fetchmany(FETCH_ROWS):
            for provider, bot_id, conversation_id, handoff, role, content, created_at in rows:
                this = (str(provider), None if bot_id is None else str(bot_id), str(conversation_id))
                if this != key:
                    if key is not None:
                        yield key, flagged, messages
                    key, flagged, messages = this, bool(handoff), []
                messages.append(Message(str(role), content, _utc(created_at)))
    if key is not None:
        yield key, flagged, messages


def _utc(value: Any) -> datetime | None:
    return value if isinstance(value, datetime) or value is None else None


def stored_insights(reader: Reader, columns: tuple[str, ...]) -> list[dict[str, Any]]:
    """Every stored insights row, as ``{column: value}`` (columns a warehouse of an older version lacks: None)."""
    if not reader.has(CONVERSATION_INSIGHTS):
        return []
    present = tuple(c for c in columns if c not in ADDED_COLUMNS or reader.has_column(CONVERSATION_INSIGHTS, c))
    selected = list(present)
    if reader.has_column(CONVERSATION_INSIGHTS, "question_vector"):  # whether it has one, not the vector
        selected.append("question_vector IS NOT NULL")
        present = (*present, "vector_stored")
    sql = f"SELECT {', '.join(selected)} FROM conversation_insights"
    rows = reader.client.execute_sql(reader.sql(sql)) or []
    return [dict(zip(present, row, strict=True)) for row in rows]


def stored_vectors(
    reader: Reader, fingerprints: Iterable[str] | None = None, conversations: Iterable[str] | None = None
) -> dict[tuple[str, str], str]:
    """Stored question vectors: every one, or those of rows with these reply fingerprints or conversation ids.

    Args:
        reader: The open warehouse.
        fingerprints: Only rows whose first reply has one of these fingerprints.
        conversations: Only rows of these conversation ids (any provider).

    Returns:
        ``{(provider, conversation_id): packed vector}``.
    """
    where = ["question_vector IS NOT NULL"]
    for column, values in (("reply_fingerprint", fingerprints), ("conversation_id", conversations)):
        if values is not None:
            chosen = sorted(set(values))
            if not chosen:
                return {}
            where.append(f"{column} IN (" + ", ".join(exp.Literal.string(v).sql() for v in chosen) + ")")
    sql = f"SELECT provider, conversation_id, question_vector FROM conversation_insights WHERE {' AND '.join(where)}"
    found: dict[tuple[str, str], str] = {}
    with reader.client.execute_query(reader.sql(sql)) as cursor:
        while rows := cursor.fetchmany(FETCH_ROWS):
            found.update({(str(p), str(c)): str(v) for p, c, v in rows})
    return found


def stored_model(reader: Reader) -> TopicModel:
    """The topic model: multilingual centroids and language means, lexical topics, and what it was fitted on.

    A model written before one topic space (per-language ids, no vectors) comes back with its ids
    only: ``TopicModel.legacy`` says so, and the refresh refits.
    """
    model = TopicModel()
    if not reader.has(TOPIC_MODEL):
        return model
    vector = "vector" if reader.has_column(TOPIC_MODEL, "vector") else "NULL"
    sql = f"SELECT topic_id, language, representation, {vector}, fitted_conversations FROM topic_model"
    for topic, language, representation, packed, count in reader.client.execute_sql(reader.sql(sql)) or []:
        model.fitted = max(model.fitted, int(count))
        if representation == "centroid" and packed is not None:
            model.centroids[str(topic)] = unpack(packed)
        elif representation == "language_mean" and packed is not None:
            model.means[str(language)] = unpack(packed, unit=False)  # a mean is shorter than 1: kept so
        else:  # a lexical topic, or one of a per-language model of an older version (its id has a dash)
            model.lexical[str(topic)] = str(language)
    return model


def stored_labels(reader: Reader) -> dict[str, tuple[str, str | None, int]]:
    """The generated label, keywords and size of each topic as the last refresh left them."""
    if not reader.has(TOPICS) or not reader.has_column(TOPICS, "generated_label"):
        return {}
    sql = "SELECT topic_id, generated_label, keywords, conversations FROM topics"
    return {
        str(topic): (str(label), None if words is None else str(words), int(count))
        for topic, label, words, count in reader.client.execute_sql(reader.sql(sql)) or []
        if label is not None
    }


def stored_exemplars(reader: Reader) -> dict[str, list[str]]:
    """The exemplar questions of topics of languages the multilingual model does not cover, by topic."""
    found: dict[str, list[str]] = {}
    if not reader.has(TOPIC_MODEL):
        return found
    sql = f"SELECT topic_id, exemplar FROM topic_model WHERE representation = '{LEXICAL}'"
    for topic, exemplar in reader.client.execute_sql(reader.sql(sql)) or []:
        found.setdefault(str(topic), []).append(str(exemplar))
    return found


def stored_edits(reader: Reader) -> dict[str, tuple[str | None, str | None]]:
    """What people set with ``chatsync topics``: ``{topic_id: (name, merged into)}`` (rows reset are left out)."""
    if not reader.has(TOPIC_EDITS):
        return {}
    sql = "SELECT topic_id, name, merged_into FROM topic_edits"
    return {
        str(topic): (None if name is None else str(name), None if into is None else str(into))
        for topic, name, into in reader.client.execute_sql(reader.sql(sql)) or []
        if name is not None or into is not None
    }


def delete_stale(reader: Reader) -> None:
    """Removes insights rows of conversations the warehouse no longer holds (forgotten, dropped, deleted)."""
    if not reader.has(CONVERSATION_INSIGHTS):
        return
    table = reader.client.make_qualified_table_name(CONVERSATION_INSIGHTS)
    live = reader.sql("SELECT provider, conversation_id FROM conversations")
    reader.client.execute_sql(
        f"DELETE FROM {table} WHERE NOT EXISTS (SELECT 1 FROM ({live}) AS c "
        f"WHERE c.provider = {table}.provider AND c.conversation_id = {table}.conversation_id)"
    )


def create_topic_daily(reader: Reader) -> None:
    """(Re)creates the ``topic_daily`` view over ``conversation_insights``."""
    for statement in topic_daily_statements(reader.dialect, reader.dataset):
        reader.client.execute_sql(statement)
