"""The explorer's queries: every value a parameter, never formatted into SQL.

Search is case- and accent-insensitive ("contrasena" finds "contraseña"): the query's terms are
folded in Python and each must occur, in any message of the conversation (terms are ANDed). On
DuckDB it is a scan, so it needs no extension (DuckDB's full-text extension is downloaded on first
use); on Postgres it is Postgres's own full-text search on the folded text.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from datetime import date
from typing import Any, Final
from urllib.parse import urlencode

from .warehouse import Warehouse

PAGE_SIZE: Final = 50
MAX_QUERY: Final = 200  # characters of a search; a longer one is refused (400)
MAX_TERMS: Final = 8
OUTCOMES: Final = ("answered", "unanswered", "handed_off", "abandoned")
MAX_PARAMETER: Final = 300

# Postgres has no accent folding without an extension: translate() maps the accented Latin letters.
_ACCENTED: Final = "".join(
    c for c in map(chr, range(0xC0, 0x250)) if c.islower() and unicodedata.normalize("NFKD", c)[0] != c
)
_PLAIN: Final = "".join(unicodedata.normalize("NFKD", c)[0] for c in _ACCENTED)


class BadRequest(ValueError):
    """A filter value the explorer cannot use: answered with 400 and the reason."""


def fold(text: str) -> str:
    """Lower case without accents, as the SQL side folds message contents."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def folded_column(column: str) -> str:
    """Postgres SQL that folds ``column`` the way ``fold`` folds a term (DuckDB matches by pattern instead)."""
    return f"translate(lower({column}), '{_ACCENTED}', '{_PLAIN}')"


def _hits(warehouse: Warehouse, terms: list[str]) -> tuple[str, list[Any]]:
    """The conversations holding every term, and the query's parameters.

    DuckDB: one scan of the text for any term, as a case-insensitive regular expression in which
    each letter also matches its accented forms ("contrasena" finds "contraseña"), then each term
    checked on the rows found. Postgres: its own full-text search (``simple`` configuration, no
    stemming) on the folded text, each term a whole word.
    """
    messages = warehouse.table("messages")
    if warehouse.dialect == "duckdb":
        patterns = [f"(?i){accent_pattern(term)}" for term in terms]  # RE2 folds case itself: no lower()
        having = " AND ".join("bool_or(regexp_matches(content, %s))" for _ in terms)
        sql = (
            f"SELECT provider, conversation_id FROM {messages} WHERE regexp_matches(content, %s) "
            f"GROUP BY provider, conversation_id HAVING {having}"
        )
        any_term = "(?i)(" + "|".join(accent_pattern(term) for term in terms) + ")"
        return sql, [any_term, *patterns]
    folded = folded_column("content")
    having = " AND ".join(f"bool_or(to_tsvector('simple', {folded}) @@ plainto_tsquery('simple', %s))" for _ in terms)
    sql = f"SELECT provider, conversation_id FROM {messages} GROUP BY provider, conversation_id HAVING {having}"
    return sql, list(terms)


# The letters that carry accents in the languages most often seen; the others stay literal, which
# lets the regular expression engine skip ahead on them (a class at every letter is slower).
_FOLDED_LETTERS: Final = "aeiouncyszg"
_VARIANTS: Final = {
    plain: "".join(sorted({plain, *(a for a, p in zip(_ACCENTED, _PLAIN, strict=True) if p == plain)}))
    for plain in _FOLDED_LETTERS
}


def accent_pattern(term: str) -> str:
    """A regular expression for a folded term that matches its accented spellings, nothing else."""
    return "".join(f"[{_VARIANTS[c]}]" if c in _VARIANTS else re.escape(c) for c in term)


@dataclass(frozen=True)
class Filters:
    """The query parameters shared by ``/conversations`` and ``/conversations.csv``."""

    q: str = ""
    provider: str = ""
    bot_id: str = ""
    outcome: str = ""
    topic: str = ""
    language: str = ""
    since: str = ""
    until: str = ""
    handed_off: str = ""
    deleted: str = ""
    min_messages: str = ""
    page: int = 1

    @classmethod
    def parse(cls, params: Mapping[str, str]) -> Filters:
        """The filters of a request; unknown parameters are ignored.

        Raises:
            BadRequest: A value that is too long, not a date, not a number or not a known outcome.
        """
        values: dict[str, Any] = {}
        for field in fields(cls):
            raw = params.get(field.name, "")
            if len(raw) > MAX_PARAMETER or "\x00" in raw:
                raise BadRequest(f"{field.name}: too long, or holds a NUL byte")
            values[field.name] = raw.strip()
        values["page"] = _whole(values["page"] or "1", "page", minimum=1)
        filters = cls(**values)
        filters.check()
        return filters

    def check(self) -> None:
        """Raises ``BadRequest`` for a value no query can use."""
        if len(self.q) > MAX_QUERY or len(self.q.split()) > MAX_TERMS:
            raise BadRequest(f"q: at most {MAX_QUERY} characters and {MAX_TERMS} words")
        if self.outcome and self.outcome not in OUTCOMES:
            raise BadRequest(f"outcome: one of {', '.join(OUTCOMES)}")
        for name in ("since", "until"):
            value = getattr(self, name)
            if value:
                try:
                    date.fromisoformat(value)
                except ValueError:
                    raise BadRequest(f"{name}: a date, YYYY-MM-DD") from None
        for name in ("handed_off", "deleted"):
            if getattr(self, name) not in ("", "yes", "no"):
                raise BadRequest(f"{name}: yes or no")
        if self.min_messages:
            _whole(self.min_messages, "min_messages", minimum=0)

    def link(self, **changes: Any) -> str:
        """The query string of these filters with ``changes`` (empty values left out)."""
        changed = replace(self, **changes)
        pairs = [(f.name, getattr(changed, f.name)) for f in fields(changed)]
        return urlencode([(k, v) for k, v in pairs if v not in ("", None) and not (k == "page" and v == 1)])

    @property
    def terms(self) -> list[str]:
        """The folded search terms."""
        return [fold(term) for term in self.q.split() if fold(term)]


def _whole(value: str, name: str, minimum: int) -> int:
    try:
        number = int(value)
    except ValueError:
        raise BadRequest(f"{name}: a whole number") from None
    if number < minimum or number > 10**9:
        raise BadRequest(f"{name}: a whole number from {minimum}")
    return number


LIST_COLUMNS: Final = (
    "provider",
    "bot_id",
    "conversation_id",
    "started_at",
    "messages",
    "topic_id",
    "outcome",
    "sentiment",
    "question",
    "language",
    "deleted_at",
)


def conversations_sql(
    warehouse: Warehouse, filters: Filters, insights: bool, limit: int | None
) -> tuple[str, list[Any]]:
    """The conversations the filters select, newest first: ``LIST_COLUMNS``.

    With ``limit``, the filters' page of that size plus one row (which tells that more follow);
    without, all of them.
    """
    conversations, messages = warehouse.table("conversations"), warehouse.table("messages")
    insight_columns = "i.topic_id, i.outcome, i.sentiment, i.question, i.language"
    joins = [
        f"JOIN (SELECT provider, conversation_id, COUNT(*) AS messages FROM {messages} "
        "GROUP BY provider, conversation_id) AS n ON n.provider = c.provider AND n.conversation_id = c.conversation_id"
    ]
    if insights:
        joins.append(
            f"LEFT JOIN {warehouse.table('conversation_insights')} AS i "
            "ON i.provider = c.provider AND i.conversation_id = c.conversation_id"
        )
    else:
        insight_columns = "NULL, NULL, NULL, NULL, NULL"
    params: list[Any] = []
    if filters.terms:
        hits, hit_params = _hits(warehouse, filters.terms)
        params += hit_params
        joins.append(f"JOIN ({hits}) AS hit ON hit.provider = c.provider AND hit.conversation_id = c.conversation_id")
    where, where_params = _where(filters, insights)
    params += where_params
    sql = (
        f"SELECT c.provider, c.bot_id, c.conversation_id, c.started_at, n.messages, {insight_columns}, c.deleted_at "
        f"FROM {conversations} AS c {' '.join(joins)} WHERE {where} "
        "ORDER BY c.started_at DESC NULLS LAST, c.provider, c.conversation_id"
    )
    if limit is not None:
        sql += " LIMIT %s OFFSET %s"
        params += [limit + 1, (filters.page - 1) * limit]
    return sql, params


def _where(filters: Filters, insights: bool) -> tuple[str, list[Any]]:
    clauses, params = ["TRUE"], list[Any]()
    for column, value in (("c.provider", filters.provider), ("c.bot_id", filters.bot_id)):
        if value:
            clauses.append(f"{column} = %s")
            params.append(value)
    by_insight = (("i.outcome", filters.outcome), ("i.topic_id", filters.topic), ("i.language", filters.language))
    for column, value in by_insight:
        if value:
            clauses.append(f"{column} = %s" if insights else "FALSE")
            params += [value] if insights else []
    if filters.since:
        clauses.append("c.started_at >= %s")
        params.append(date.fromisoformat(filters.since))
    if filters.until:
        clauses.append("c.started_at < %s")
        params.append(date.fromisoformat(filters.until))
    if filters.handed_off:
        handed = "(COALESCE(c.handed_off, FALSE)" + (" OR i.outcome = 'handed_off')" if insights else ")")
        clauses.append(handed if filters.handed_off == "yes" else f"NOT {handed}")
    if filters.deleted:
        clauses.append("c.deleted_at IS NOT NULL" if filters.deleted == "yes" else "c.deleted_at IS NULL")
    if filters.min_messages:
        clauses.append("n.messages >= %s")
        params.append(int(filters.min_messages))
    return " AND ".join(clauses), params


TRANSCRIPT_COLUMNS: Final = ("message_id", "role", "content", "created_at", "model", "latency_ms", "deleted_at")


def transcript_sql(warehouse: Warehouse) -> str:
    """Every message of one conversation, in order (``%s``: provider, conversation id)."""
    return (
        f"SELECT {', '.join(TRANSCRIPT_COLUMNS)} FROM {warehouse.table('messages')} "
        "WHERE provider = %s AND conversation_id = %s ORDER BY created_at, sequence, message_id"
    )


def shown_sql(sql: str, params: list[Any]) -> str:
    """The SQL with its values written in, for reading on a page (never run)."""
    shown = sql
    for value in params:
        literal = "'" + str(value).replace("'", "''") + "'" if isinstance(value, str | date) else str(value)
        shown = shown.replace("%s", literal, 1)
    return shown
