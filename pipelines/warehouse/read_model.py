"""The read model: every figure and list the report, the explorer and the commands show, as named queries.

One place for each: the queries are written once, in DuckDB's dialect over unqualified tables, and
transpiled for each warehouse as the views are (``analytics.transpile``), with the views' rule for
what the provider deleted (``[chatsync] views_include_deleted``): left out unless configured. The
report (``report.data``), the explorer's pages, ``chatsync topics``, ``chatsync insights --json``
and ``chatsync status`` read through it, so the same question gets the same number everywhere.

Definitions shown to users:

- *conversations*: conversations with at least one message (a bot's are those its messages name);
- *outcome*: ``OUTCOMES`` as ``chatsync insights`` judged them; *failed*: unanswered or handed off;
- *last 7 days*: whole UTC days up to the newest day with a conversation (``windows.week_back``).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Any, Final, Protocol

import dlt

from sources.common.tables import SYNC_ERRORS

from .analytics import DELETABLE, OPTIONAL_TABLES, TESTS, destination_dialect, live_rule, transpile
from .search import Search
from .windows import as_date, weekly

OUTCOMES: Final = ("answered", "unanswered", "handed_off", "abandoned")
FAILED: Final = ("unanswered", "handed_off")
OUTCOME_CHOICES: Final = (*OUTCOMES, "failed")  # what a filter by outcome accepts
OUTCOME_NAMES: Final = {
    "answered": "answered",
    "unanswered": "unanswered",
    "handed_off": "handed off",
    "abandoned": "abandoned",
    "failed": "failed (unanswered or handed off)",
}
INSIGHTS: Final = "conversation_insights"
SNIPPET_SOURCE: Final = 1_000
SENTIMENT_BINS: Final = (
    ("very negative", -1.01, -0.5),
    ("negative", -0.5, -0.05),
    ("neutral", -0.05, 0.05),
    ("positive", 0.05, 0.5),
    ("very positive", 0.5, 1.01),
)
NO_SENTIMENT: Final = "no model (language)"


def sentiment_word(value: float | None) -> str:
    """The sentiment as a word (``SENTIMENT_BINS``); ``NO_SENTIMENT`` where no model covers the language."""
    if value is None:
        return NO_SENTIMENT
    return next(
        name for name, low, high in SENTIMENT_BINS if low < value <= high or (name == "neutral" and value == low)
    )


def bot_label(names: dict[tuple[str, str], str], provider: str, bot_id: str | None) -> str:
    """``Support (977cdc75)`` for a named bot (its name, then the start of its id), else the id, else ``—``."""
    if bot_id is None:
        return "—"
    name = names.get((provider, bot_id))
    return f"{name} ({bot_id[:8]})" if name else bot_id


# --- the named queries: DuckDB dialect, unqualified tables, ``?`` for each value ----------------------------

QUERIES: Final[dict[str, str]] = {
    # per bot: conversations (with a message), messages, first and last message
    "bots": """
        SELECT provider, bot_id, COUNT(DISTINCT conversation_id) AS conversations, COUNT(*) AS messages,
               MIN(created_at) AS first_message, MAX(created_at) AS last_message
        FROM messages GROUP BY provider, bot_id ORDER BY provider, bot_id
    """,
    "bot_names": """
        SELECT provider, bot_id, MAX(bot_name) FROM conversations WHERE bot_name IS NOT NULL
        GROUP BY provider, bot_id
    """,
    "sync_errors": f"SELECT provider, COUNT(*) FROM {SYNC_ERRORS} WHERE resolved_at IS NULL GROUP BY provider",
    "last_load": "SELECT MAX(inserted_at) FROM _dlt_loads WHERE status = 0",
    "outcomes_by_bot": f"""
        SELECT i.provider, i.bot_id, i.outcome, COUNT(*) FROM {INSIGHTS} AS i
        JOIN conversations AS c ON c.provider = i.provider AND c.conversation_id = i.conversation_id
        GROUP BY i.provider, i.bot_id, i.outcome ORDER BY i.provider, i.bot_id, i.outcome
    """,
    # the provider's own verdict (Intercom Fin's resolution_state) beside chatsync's outcome
    "verdicts": f"""
        SELECT c.provider, c.provider_verdict, i.outcome, COUNT(*) FROM conversations AS c
        JOIN {INSIGHTS} AS i ON i.provider = c.provider AND i.conversation_id = c.conversation_id
        WHERE c.provider_verdict IS NOT NULL
        GROUP BY c.provider, c.provider_verdict, i.outcome ORDER BY c.provider, c.provider_verdict, i.outcome
    """,
    "sentiments": f"""
        SELECT i.sentiment FROM {INSIGHTS} AS i
        JOIN conversations AS c ON c.provider = i.provider AND c.conversation_id = i.conversation_id
    """,
    "topic_daily": """
        SELECT topic_id, day, conversations, unanswered, handed_off FROM topic_daily ORDER BY topic_id, day
    """,
    "gaps": """
        SELECT rank, topic_id, label, conversations, unanswered, handed_off, failed_share, last_7_days,
               previous_7_days, change,
               example_1_question, example_1_provider, example_1_conversation_id,
               example_2_question, example_2_provider, example_2_conversation_id,
               example_3_question, example_3_provider, example_3_conversation_id
        FROM knowledge_gaps ORDER BY rank
    """,
    "languages": f"SELECT language, COUNT(*) FROM {INSIGHTS} WHERE language IS NOT NULL GROUP BY language",
    "conversation": """
        SELECT bot_id, started_at, user_id, handed_off, deleted_at FROM conversations
        WHERE provider = ? AND conversation_id = ?
    """,
    "transcript": """
        SELECT message_id, role, content, created_at, model, latency_ms, deleted_at FROM messages
        WHERE provider = ? AND conversation_id = ? ORDER BY created_at, sequence, message_id
    """,
    "citations": """
        SELECT message_id, knowledge_id FROM knowledge_citations
        WHERE provider = ? AND conversation_id = ? ORDER BY message_id, knowledge_id
    """,
    "insight": f"""
        SELECT topic_id, language, sentiment, outcome, fallback, question FROM {INSIGHTS}
        WHERE provider = ? AND conversation_id = ?
    """,
}
TOPIC_COLUMNS: Final = (
    "topic_id",
    "label",
    "name",
    "conversations",
    "unanswered",
    "handed_off",
    "question_1",
    "question_2",
    "question_3",
    "languages",
    "examples",
)
TRANSCRIPT_COLUMNS: Final = ("message_id", "role", "content", "created_at", "model", "latency_ms", "deleted_at")
LIST_COLUMNS: Final = (
    "provider",
    "bot_id",
    "conversation_id",
    "started_at",
    "messages",
    "topic_id",
    "topic",
    "outcome",
    "sentiment",
    "question",
    "language",
    "deleted_at",
    "matches",
    "matched",
)


class Reader(Protocol):
    """Where the read model runs its SQL: a connection on one warehouse and dataset."""

    @property
    def dialect(self) -> str:
        """``duckdb``, ``postgres`` or ``bigquery``."""
        ...

    @property
    def dataset(self) -> str:
        """The dataset (schema)."""
        ...

    def execute(self, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        """Rows of ``sql`` (``%s`` or ``?`` placeholders, as the dialect's driver takes them)."""
        ...

    def tables(self) -> frozenset[str]:
        """The tables and views of the dataset."""
        ...

    def columns(self, table: str) -> frozenset[str]:
        """The columns of one table of the dataset."""
        ...


class DltReader:
    """A ``Reader`` on an open dlt SQL client (the report, the commands)."""

    def __init__(self, client: Any, dialect: str, dataset: str) -> None:
        self.client, self.dialect, self.dataset = client, dialect, dataset

    def execute(self, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        """Runs ``sql`` through dlt (transpiled for DuckDB it holds ``?``, which dlt's DuckDB client passes on)."""
        return [tuple(row) for row in self.client.execute_sql(sql, *params) or []]

    def tables(self) -> frozenset[str]:
        """The dataset's tables, asked of the warehouse."""
        if not self.client.has_dataset():
            return frozenset()
        sql = "SELECT table_name FROM information_schema.tables WHERE table_schema = %s"
        return frozenset(str(name) for (name,) in self.client.execute_sql(sql, self.dataset) or [])

    def columns(self, table: str) -> frozenset[str]:
        """One table's columns, asked of the warehouse."""
        sql = "SELECT column_name FROM information_schema.columns WHERE table_schema = %s AND table_name = %s"
        return frozenset(str(name) for (name,) in self.client.execute_sql(sql, self.dataset, table) or [])


@contextmanager
def pipeline_read_model(pipeline: dlt.Pipeline) -> Iterator[ReadModel]:
    """The read model on a pipeline's dataset, through its SQL client."""
    with pipeline.sql_client() as client:
        yield ReadModel(DltReader(client, destination_dialect(pipeline), pipeline.dataset_name))


@lru_cache(maxsize=512)
def _transpiled(sql: str, dialect: str, dataset: str, missing: frozenset[str], live: frozenset[str]) -> str:
    return transpile(sql, dialect, dataset, missing, live)


@dataclass(frozen=True)
class ConversationQuery:
    """Which conversations a list shows: each field a filter, empty for none."""

    search: Search = field(default_factory=lambda: Search(()))
    provider: str = ""
    bot_id: str = ""
    outcome: str = ""  # one of OUTCOME_CHOICES
    topic: str = ""
    language: str = ""
    since: date | None = None
    until: date | None = None  # exclusive
    deleted: bool | None = None
    min_messages: int = 0
    sort: str = "newest"  # or "relevance" (with a search)


@dataclass
class ConversationPage:
    """One page of a conversation list, the total, and the SQL that selected it."""

    rows: list[dict[str, Any]]
    total: int
    sql: str


class ReadModel:
    """The named queries on one warehouse, transpiled for it, with its rule for deleted rows."""

    def __init__(self, reader: Reader, include_deleted: bool = False) -> None:
        """The read model on ``reader``; ``include_deleted`` reads deleted rows too, whatever the rule says."""
        self.reader = reader
        self._tables: frozenset[str] | None = None
        self._live: frozenset[str] | None = frozenset() if include_deleted else None

    # --- plumbing ---------------------------------------------------------------------------------------

    @property
    def tables(self) -> frozenset[str]:
        """The dataset's tables and views (asked once)."""
        if self._tables is None:
            self._tables = self.reader.tables()
        return self._tables

    def has(self, *tables: str) -> bool:
        """Whether every table exists."""
        return all(t in self.tables for t in tables)

    @property
    def live(self) -> frozenset[str]:
        """The tables read without what the provider deleted (``analytics.live_tables``'s rule)."""
        if self._live is None:
            deletions = all("deleted_at" in self.reader.columns(t) for t in DELETABLE)
            self._live = live_rule(deletions, TESTS in self.reader.columns("conversations"))
        return self._live

    @property
    def includes_deleted(self) -> bool:
        """Whether conversations the provider deleted are shown (``views_include_deleted``)."""
        return not self.live

    def sql(self, canonical: str) -> str:
        """Canonical SQL for this warehouse: qualified, live rows only, its dialect's spelling."""
        missing = frozenset(t for t in OPTIONAL_TABLES if t not in self.tables)
        return _transpiled(canonical, self.reader.dialect, self.reader.dataset, missing, self.live)

    def run(self, canonical: str, *params: Any) -> list[tuple[Any, ...]]:
        """The rows of canonical SQL."""
        return self.reader.execute(self.sql(canonical), list(params))

    def named(self, name: str, *params: Any) -> list[tuple[Any, ...]]:
        """The rows of one of ``QUERIES``."""
        return self.run(QUERIES[name], *params)

    def fingerprint(self) -> tuple[Any, ...]:
        """What changes whenever the warehouse does: a load of any pipeline of the dataset (data, insights,
        topic edits), or rows deleted or flagged outside a load (``forget``, deletions)."""
        parts = []
        if self.has("_dlt_loads"):
            parts.append("(SELECT MAX(inserted_at) FROM _dlt_loads)")
        for table in ("conversations", "messages"):
            if self.has(table):
                parts.append(f"(SELECT COUNT(*) FROM {table})")
                if "deleted_at" in self.reader.columns(table):
                    parts.append(f"(SELECT MAX(deleted_at) FROM {table})")
        if not parts:
            return ()
        everything = ReadModel(self.reader, include_deleted=True)  # raw counts: a deletion flag changes a max
        return tuple(everything.run(f"SELECT {', '.join(parts)}")[0])

    # --- figures ----------------------------------------------------------------------------------------

    def bots(self) -> list[dict[str, Any]]:
        """Per provider and bot: conversations, messages, first and last message, and its name where known."""
        if not self.has("messages", "conversations"):
            return []
        names = self.bot_names()
        columns = ("provider", "bot_id", "conversations", "messages", "first_message", "last_message")
        found = [dict(zip(columns, row, strict=True)) for row in self.named("bots")]
        for bot in found:
            bot["name"] = names.get((bot["provider"], bot["bot_id"]))
        return found

    def bot_names(self) -> dict[tuple[str, str], str]:
        """``(provider, bot_id) → name`` where the provider names its bots (OwlBot's ``bot_title``)."""
        if "bot_name" not in self.reader.columns("conversations"):  # warehouses loaded before it have none
            return {}
        return {(str(p), str(b)): str(n) for p, b, n in self.named("bot_names")}

    def providers(self) -> dict[str, dict[str, Any]]:
        """Per provider: conversations, messages, oldest and newest message, open sync errors."""
        found: dict[str, dict[str, Any]] = {}
        for bot in self.bots():
            entry = found.setdefault(
                bot["provider"], {"conversations": 0, "messages": 0, "oldest": None, "newest": None, "errors": 0}
            )
            entry["conversations"] += int(bot["conversations"])
            entry["messages"] += int(bot["messages"])
            entry["oldest"] = min(filter(None, (entry["oldest"], bot["first_message"])), default=None)
            entry["newest"] = max(filter(None, (entry["newest"], bot["last_message"])), default=None)
        if self.has(SYNC_ERRORS):
            for provider, count in self.named("sync_errors"):
                found.setdefault(
                    str(provider), {"conversations": 0, "messages": 0, "oldest": None, "newest": None, "errors": 0}
                )["errors"] = int(count)
        return found

    def last_load(self) -> datetime | None:
        """When the last successful load finished."""
        if not self.has("_dlt_loads"):
            return None
        rows = self.named("last_load")
        return rows[0][0] if rows else None

    @property
    def has_insights(self) -> bool:
        """Whether ``chatsync insights`` ran on this warehouse."""
        return self.has(INSIGHTS, "topics", "knowledge_gaps", "topic_daily", "conversations")

    def outcomes_by_bot(self) -> dict[tuple[str, str | None], dict[str, int]]:
        """Per bot: conversations of each outcome."""
        if not self.has_insights:
            return {}
        mix: dict[tuple[str, str | None], dict[str, int]] = {}
        for provider, bot, outcome, count in self.named("outcomes_by_bot"):
            mix.setdefault((provider, bot), {})[str(outcome)] = int(count)
        return mix

    def verdicts(self) -> dict[tuple[str, str], dict[str, int]]:
        """``(provider, its verdict) → {chatsync's outcome: conversations}``, where a provider judges its own."""
        if not self.has_insights or "provider_verdict" not in self.reader.columns("conversations"):
            return {}
        found: dict[tuple[str, str], dict[str, int]] = {}
        for provider, verdict, outcome, count in self.named("verdicts"):
            found.setdefault((str(provider), str(verdict)), {})[str(outcome)] = int(count)
        return found

    def sentiments(self) -> list[float | None]:
        """Each conversation's sentiment (None where no model covers its language)."""
        return [None if v is None else float(v) for (v,) in self.named("sentiments")] if self.has_insights else []

    def topics(self) -> list[dict[str, Any]]:
        """Every topic, most conversations first, with its failed share and its last 7 days against the 7 before."""
        if not self.has_insights:
            return []
        present = self.reader.columns("topics")
        select = ", ".join(c if c in present else f"NULL AS {c}" for c in TOPIC_COLUMNS)
        rows = self.run(f"SELECT {select} FROM topics ORDER BY conversations DESC, topic_id")
        found = [dict(zip(TOPIC_COLUMNS, row, strict=True)) for row in rows]
        counts = weekly((t, d, n) for t, d, n, _, _ in self.named("topic_daily"))
        for topic in found:
            topic["examples"] = json.loads(topic["examples"]) if topic["examples"] else {}
            topic["failed"] = int(topic["unanswered"]) + int(topic["handed_off"])
            topic["failed_share"] = topic["failed"] / topic["conversations"] if topic["conversations"] else 0.0
            topic["last_7"], topic["previous_7"] = counts.get(topic["topic_id"], (0, 0))
        return found

    def topic_days(self, topic_id: str) -> list[tuple[date, int, int]]:
        """One topic's ``(day, conversations, failed)`` for every UTC day from its first to its last, oldest first."""
        if not self.has_insights:
            return []
        sql = "SELECT day, conversations, unanswered + handed_off FROM topic_daily WHERE topic_id = ? ORDER BY day"
        found = {as_date(day): (int(n), int(f)) for day, n, f in self.run(sql, topic_id)}
        if not found:
            return []
        first, last = min(found), max(found)
        days = (first + timedelta(days=n) for n in range((last - first).days + 1))
        return [(day, *found.get(day, (0, 0))) for day in days]

    def gaps(self) -> list[dict[str, Any]]:
        """Knowledge gaps, the one to fill first first, each with ``failed`` and its example conversations."""
        if not self.has_insights:
            return []
        columns = (
            "rank",
            "topic_id",
            "label",
            "conversations",
            "unanswered",
            "handed_off",
            "failed_share",
            "last_7_days",
            "previous_7_days",
            "change",
            *(f"example_{n}_{part}" for n in (1, 2, 3) for part in ("question", "provider", "conversation_id")),
        )
        found = [dict(zip(columns, row, strict=True)) for row in self.named("gaps")]
        for gap in found:
            gap["failed"] = int(gap["unanswered"]) + int(gap["handed_off"])
            gap["examples"] = [
                (gap[f"example_{n}_provider"], gap[f"example_{n}_conversation_id"], gap[f"example_{n}_question"])
                for n in (1, 2, 3)
                if gap[f"example_{n}_conversation_id"]
            ]
        return found

    def languages(self) -> list[str]:
        """The languages insights found, most conversations first."""
        if not self.has_insights:
            return []
        return [str(lang) for lang, _ in sorted(self.named("languages"), key=lambda r: (-int(r[1]), str(r[0])))]

    # --- lists and transcripts --------------------------------------------------------------------------

    def conversations(self, query: ConversationQuery, limit: int | None, offset: int = 0) -> ConversationPage:
        """The conversations ``query`` selects, newest first (or most matching messages first), and their total.

        Args:
            query: The filters.
            limit: Rows of one page; None for all of them.
            offset: Rows skipped (a page's start).
        """
        if not self.has("messages", "conversations"):
            return ConversationPage([], 0, "")
        base, params = self._selected(query)
        # the total beside each row: one pass over the messages for the page and its count
        sql = f"SELECT *, COUNT(*) OVER () AS total FROM ({base}) AS s ORDER BY {_order(query)}"
        page_params = list(params)
        if limit is not None:
            sql += " LIMIT ? OFFSET ?"
            page_params += [limit, offset]
        found = self.run(sql, *page_params)
        rows = [dict(zip(LIST_COLUMNS, row[:-1], strict=True)) for row in found]
        for row in rows:
            matched = row.pop("matched")
            row["snippet"] = query.search.snippet(str(matched)) if matched else None
        # a page beyond the end has no row to carry the total: it is counted alone
        total = int(found[0][-1]) if found else (self._count(base, params) if offset else 0)
        return ConversationPage(rows, total, _shown(self.sql(sql), page_params))

    def _count(self, base: str, params: list[Any]) -> int:
        rows = self.run(f"SELECT COUNT(*) FROM ({base}) AS selected", *params)
        return int(rows[0][0]) if rows else 0

    def _selected(self, query: ConversationQuery) -> tuple[str, list[Any]]:
        insights = self.has_insights
        topic = "COALESCE(t.label, i.topic_id)" if insights else "NULL"
        columns = (
            "c.provider, c.bot_id, c.conversation_id, c.started_at, n.messages, "
            + (f"i.topic_id, {topic}, i.outcome, i.sentiment, i.question, i.language" if insights else "NULL, " * 6)
        ).rstrip(", ")
        joins = [
            "JOIN (SELECT provider, conversation_id, COUNT(*) AS messages FROM messages "
            "GROUP BY provider, conversation_id) AS n "
            "ON n.provider = c.provider AND n.conversation_id = c.conversation_id"
        ]
        if insights:
            joins.append(
                f"LEFT JOIN {INSIGHTS} AS i ON i.provider = c.provider AND i.conversation_id = c.conversation_id"
            )
            joins.append("LEFT JOIN topics AS t ON t.topic_id = i.topic_id")
        params: list[Any] = []
        if query.search.words:
            hits, hit_params = _hits(query.search)
            on = "hit.provider = c.provider AND hit.conversation_id = c.conversation_id"
            joins.append(f"JOIN ({hits}) AS hit ON {on}")
            params += hit_params
        where, where_params = _where(query, insights)
        matches = "hit.matches, hit.matched" if query.search.words else "0, NULL"
        sql = f"SELECT {columns}, c.deleted_at, {matches} FROM conversations AS c {' '.join(joins)} WHERE {where}"
        return sql, params + where_params

    def neighbours(
        self, query: ConversationQuery, provider: str, conversation_id: str
    ) -> tuple[tuple[str, str] | None, tuple[str, str] | None, int | None]:
        """The conversations before and after one in the list ``query`` selects, and its position (from 1)."""
        base, params = self._selected(query)
        order = _order(query)
        sql = (
            "SELECT previous_provider, previous_id, next_provider, next_id, position FROM ("
            f"SELECT provider, conversation_id, LAG(provider) OVER (ORDER BY {order}) AS previous_provider, "
            f"LAG(conversation_id) OVER (ORDER BY {order}) AS previous_id, "
            f"LEAD(provider) OVER (ORDER BY {order}) AS next_provider, "
            f"LEAD(conversation_id) OVER (ORDER BY {order}) AS next_id, "
            f"ROW_NUMBER() OVER (ORDER BY {order}) AS position FROM ({base}) AS s"
            ") AS around WHERE provider = ? AND conversation_id = ?"
        )
        rows = self.run(sql, *params, provider, conversation_id)
        if not rows:
            return None, None, None
        pp, pc, np_, nc, position = rows[0]
        return (pp, pc) if pc is not None else None, (np_, nc) if nc is not None else None, int(position)

    def transcript(self, provider: str, conversation_id: str) -> dict[str, Any] | None:
        """One conversation (deleted ones too, marked): its row, messages with citations, insights; None if unknown."""
        everything = ReadModel(self.reader, include_deleted=True)  # a link to a deleted conversation still opens it
        found = everything.named("conversation", provider, conversation_id)
        if not found:
            return None
        messages = [
            dict(zip(TRANSCRIPT_COLUMNS, row, strict=True))
            for row in everything.named("transcript", provider, conversation_id)
        ]
        citations: dict[str, list[str]] = {}
        if self.has("knowledge_citations"):
            for message_id, knowledge_id in everything.named("citations", provider, conversation_id):
                citations.setdefault(str(message_id), []).append(str(knowledge_id))
        for message in messages:
            message["citations"] = citations.get(str(message["message_id"]), [])
        insight = None
        if self.has(INSIGHTS):
            rows = everything.named("insight", provider, conversation_id)
            names = ("topic_id", "language", "sentiment", "outcome", "fallback", "question")
            insight = dict(zip(names, rows[0], strict=True)) if rows else None
        bot_id, started_at, user_id, handed_off, deleted_at = found[0]
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
            "sql": _shown(self.sql(QUERIES["transcript"]), [provider, conversation_id]),
        }


def _order(query: ConversationQuery) -> str:
    """The list's order over its selected columns: newest first, or most matching messages first."""
    newest = "started_at DESC NULLS LAST, provider, conversation_id"
    return f"matches DESC, {newest}" if query.sort == "relevance" and query.search.words else newest


def _hits(search: Search) -> tuple[str, list[Any]]:
    """Conversations holding every word (each somewhere in its messages), how many messages match any, and one.

    The one shown (``matched``, the snippet's source: its first ``SNIPPET_SOURCE`` characters) is the first
    in text order, not in time: no second pass over the messages (aggregating whole texts doubles a search).
    """
    having = " AND ".join("bool_or(regexp_matches(content, ?))" for _ in search.words)
    sql = (
        f"SELECT provider, conversation_id, COUNT(*) AS matches, MIN(LEFT(content, {SNIPPET_SOURCE})) AS matched "
        "FROM messages WHERE regexp_matches(content, ?) "
        f"GROUP BY provider, conversation_id HAVING {having}"
    )
    return sql, [search.any_word, *search.patterns]


def _where(query: ConversationQuery, insights: bool) -> tuple[str, list[Any]]:
    clauses, params = ["TRUE"], list[Any]()
    for column, value in (("c.provider", query.provider), ("c.bot_id", query.bot_id)):
        if value:
            clauses.append(f"{column} = ?")
            params.append(value)
    if query.outcome == "failed":
        clauses.append("i.outcome IN ('unanswered', 'handed_off')" if insights else "FALSE")
    elif query.outcome:
        clauses.append("i.outcome = ?" if insights else "FALSE")
        params += [query.outcome] if insights else []
    for column, value in (("i.topic_id", query.topic), ("i.language", query.language)):
        if value:
            clauses.append(f"{column} = ?" if insights else "FALSE")
            params += [value] if insights else []
    if query.since:
        clauses.append("c.started_at >= ?")
        params.append(query.since)
    if query.until:
        clauses.append("c.started_at < ?")
        params.append(query.until)
    if query.deleted is not None:
        clauses.append("c.deleted_at IS NOT NULL" if query.deleted else "c.deleted_at IS NULL")
    if query.min_messages:
        clauses.append("n.messages >= ?")
        params.append(query.min_messages)
    return " AND ".join(clauses), params


def _shown(sql: str, params: Sequence[Any]) -> str:
    """The SQL with its values written in, for reading on a page (never run)."""
    shown = sql
    for value in params:
        literal = "'" + str(value).replace("'", "''") + "'" if isinstance(value, str | date) else str(value)
        shown = shown.replace("%s", literal, 1) if "%s" in shown else shown.replace("?", literal, 1)
    return shown
