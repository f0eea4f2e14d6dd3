"""The canonical warehouse tables every provider loads into: ``conversations`` and ``messages``.

Both are merged on their keys, so no rerun, retry or overlap ever duplicates a row, and one SQL
query spans every provider.
"""

from __future__ import annotations

import functools
import inspect
import logging
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

import dlt
import orjson
import pyarrow as pa
from dlt.common.configuration import resolve_configuration
from dlt.common.schema.typing import TColumnSchema, TTableSchemaColumns
from dlt.extract.items import DataItemWithMeta
from dlt.normalize.configuration import ItemsNormalizerConfiguration

from .privacy import PrivacyPolicy
from .timeutil import to_plain_utc

CONVERSATIONS: Final = "conversations"
MESSAGES: Final = "messages"
SYNC_ERRORS: Final = "sync_errors"
KNOWLEDGE_CITATIONS: Final = "knowledge_citations"
SUPPRESSIONS: Final = "suppressions"
OWNERS: Final = "_conversation_owners"  # not a table: see ``as_owners``
CONVERSATION_KEY: Final = ("provider", "conversation_id")
MESSAGE_KEY: Final = ("provider", "conversation_id", "message_id")
SYNC_ERROR_KEY: Final = ("provider", "conversation_id")
SUPPRESSION_KEY: Final = ("provider", "kind", "key_hash")
CITATION_KEY: Final = ("provider", "conversation_id", "message_id", "knowledge_id")
ROLES: Final = frozenset({"user", "assistant", "system", "agent", "unknown"})


def _text(nullable: bool = True) -> TColumnSchema:
    return {"data_type": "text", "nullable": nullable}


def _timestamp(nullable: bool = True) -> TColumnSchema:
    return {"data_type": "timestamp", "timezone": True, "nullable": nullable}


CONVERSATION_COLUMNS: Final[TTableSchemaColumns] = {
    "provider": _text(False),
    "bot_id": _text(),
    "conversation_id": _text(False),
    "started_at": _timestamp(),
    "user_id": _text(),
    "reported_message_count": {"data_type": "bigint", "nullable": True},
    # signals for chatbot analytics; NULL where the provider sends none
    "handed_off": {"data_type": "bool", "nullable": True},  # the provider's own handoff flag
    "country": _text(),  # under the privacy policy's geo treatment
    "device_type": _text(),  # mobile, tablet, desktop, bot or other; under the user_agent treatment
    "raw": {"data_type": "json", "nullable": True},
}

MESSAGE_COLUMNS: Final[TTableSchemaColumns] = {
    "provider": _text(False),
    "bot_id": _text(),
    "conversation_id": _text(False),
    "message_id": _text(False),
    "role": _text(False),
    "content": _text(),
    "created_at": _timestamp(),
    "sender_id": _text(),
    "sequence": {"data_type": "bigint", "nullable": True},
    "created_at_observed": {"data_type": "bool", "nullable": True},
    "model": _text(),  # the model that wrote an assistant message, where the provider says
    "latency_ms": {"data_type": "bigint", "nullable": True},  # its generation time, where the provider says
    "raw": {"data_type": "json", "nullable": True},
}

# One row per knowledge-base id an assistant message cites (OwlBot's ``doc_vector_id``).
CITATION_COLUMNS: Final[TTableSchemaColumns] = {
    "provider": _text(False),
    "bot_id": _text(),
    "conversation_id": _text(False),
    "message_id": _text(False),
    "knowledge_id": _text(False),
    "cited_at": _timestamp(),
}

SYNC_ERROR_COLUMNS: Final[TTableSchemaColumns] = {
    "provider": _text(False),
    "bot_id": _text(),
    "conversation_id": _text(False),
    "error": _text(False),
    "first_seen": _timestamp(False),
    "last_seen": _timestamp(False),
    "failure_count": {"data_type": "bigint", "nullable": False},
    "resolved_at": _timestamp(),
}

_MERGE: Final = {"disposition": "merge", "strategy": "delete-insert"}


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
) -> dict[str, Any]:
    """One ``conversations`` row (arguments as the columns; the last three only where the provider says)."""
    return {
        "provider": provider,
        "bot_id": bot_id,
        "conversation_id": conversation_id,
        "started_at": to_plain_utc(started_at) if started_at else None,
        "user_id": user_id,
        "reported_message_count": reported_message_count,
        "handed_off": handed_off,
        "country": country,
        "device_type": device_type,
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


_TABLES: Final = {
    MESSAGES: (MESSAGE_KEY, MESSAGE_COLUMNS),
    CONVERSATIONS: (CONVERSATION_KEY, CONVERSATION_COLUMNS),
    SYNC_ERRORS: (SYNC_ERROR_KEY, SYNC_ERROR_COLUMNS),
    KNOWLEDGE_CITATIONS: (CITATION_KEY, CITATION_COLUMNS),
}
# Every canonical table's columns, by table name.
CANONICAL_COLUMNS: Final[Mapping[str, TTableSchemaColumns]] = {table: cols for table, (_, cols) in _TABLES.items()}
# Written by ``chatsync forget``, read by every run (see ``Suppressed``).
SUPPRESSION_COLUMNS: Final[TTableSchemaColumns] = {
    "provider": _text(False),
    "kind": _text(False),  # "user" or "conversation"
    "key_hash": _text(False),
    "created_at": _timestamp(False),
}


_ARROW_TYPES: Final = {
    "text": pa.string(),
    "timestamp": pa.timestamp("us", tz="UTC"),
    "bigint": pa.int64(),
    "bool": pa.bool_(),
    "json": pa.string(),  # the JSON text; the column hint makes it JSON in the warehouse
}
# Destinations that load Arrow as parquet and read a JSON column from its text faithfully. Elsewhere
# rows stay dicts: BigQuery, for one, would load that text as a JSON string instead of an object.
ARROW_DESTINATIONS: Final = frozenset({"duckdb"})


def arrow_table(table: str, rows: list[dict[str, Any]]) -> pa.Table:
    """Canonical rows as one Arrow table of the table's columns; ``raw`` becomes JSON text.

    dlt writes an Arrow table to parquet as it is, which costs a fraction of normalizing the same
    rows as dicts (measured with ``make bench``).
    """
    _, columns = _TABLES[table]
    fields, arrays = [], []
    for name, column in columns.items():
        values = [row.get(name) for row in rows]
        if column["data_type"] == "json":
            values = [None if value is None else orjson.dumps(value).decode() for value in values]
        kind = _ARROW_TYPES[str(column["data_type"])]
        fields.append(pa.field(name, kind, nullable=column.get("nullable", True)))
        arrays.append(pa.array(values, type=kind))
    return pa.Table.from_arrays(arrays, schema=pa.schema(fields))


class _JsonAsTextNotice(logging.Filter):
    """Drops dlt's warning that an Arrow column's type differs from its hint.

    ``arrow_table`` builds its columns from the same definitions as the hints, so the one
    difference is ``raw``: JSON text in Arrow, ``json`` by its hint, which is what is wanted.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        return "when merging arrow schema with dlt schema" not in record.getMessage()


logging.getLogger("dlt").addFilter(_JsonAsTextNotice())


def current_destination() -> str | None:
    """The destination of the pipeline extracting now (``duckdb``, ``postgres``, ``bigquery``), if any."""
    try:
        destination = dlt.current.pipeline().destination
    except Exception:  # no active pipeline: a plain iteration of the resource
        return None
    return None if destination is None else str(destination.destination_name)


def loads_arrow(destination: str | None) -> bool:
    """Whether canonical rows go to ``destination`` (see ``current_destination``) as Arrow tables.

    Only into ``ARROW_DESTINATIONS``, and only when dlt adds ``_dlt_load_id`` and ``_dlt_id`` to
    Arrow items (``[normalize.parquet_normalizer]``, chatsync's default): without them an Arrow
    load would not fit a table that dict items created.
    """
    if destination not in ARROW_DESTINATIONS:
        return False
    dlt_columns = resolve_configuration(ItemsNormalizerConfiguration(), sections=("normalize", "parquet_normalizer"))
    return bool(dlt_columns.add_dlt_load_id and dlt_columns.add_dlt_id)


# BigQuery at scale: messages partitioned by day of created_at (date-range queries read only their
# days) and clustered by the keys merges and queries filter on.
BIGQUERY_LAYOUT: Final[dict[str, dict[str, Any]]] = {
    MESSAGES: {"partition": "created_at", "cluster": ["provider", "conversation_id"]},
    CONVERSATIONS: {"cluster": ["provider", "bot_id"]},
    KNOWLEDGE_CITATIONS: {"cluster": ["provider", "bot_id"]},
}


@functools.cache
def bigquery_hints(table: str) -> tuple[TTableSchemaColumns, dict[str, Any]]:
    """A canonical table's columns and table hints for BigQuery, as dlt's ``bigquery_adapter`` sets them.

    The adapter works on a resource of one table; the canonical tables are per-item variants of
    each provider's resource, so its hints are taken from a probe resource and added to theirs.

    Args:
        table: A canonical table.

    Returns:
        The columns with their ``x-bigquery-*`` hints, and the table-level ``x-bigquery-*`` hints.
    """
    from dlt.destinations.adapters import bigquery_adapter

    _, columns = _TABLES[table]
    probe = dlt.resource([], name=table, columns={name: column.copy() for name, column in columns.items()})
    bigquery_adapter(probe, **BIGQUERY_LAYOUT.get(table, {}))
    schema = probe.compute_table_schema()
    return schema["columns"], {key: value for key, value in schema.items() if key.startswith("x-bigquery")}


def _with_hints(
    table: str, rows: list[dict[str, Any]], as_arrow: bool = False, destination: str | None = None
) -> DataItemWithMeta:
    # Per-item table hints: one resource fills both tables, each with only its own columns
    key, columns = _TABLES[table]
    table_hints: dict[str, Any] = {"x-stage-data-deduplicated": True}  # see ``UniqueRows``
    if destination == "bigquery":
        columns, layout = bigquery_hints(table)
        table_hints |= layout
    hints = dlt.mark.make_hints(
        table_name=table,
        write_disposition=dict(_MERGE),  # type: ignore[arg-type]
        primary_key=list(key),
        columns={name: column.copy() for name, column in columns.items()},
        additional_table_hints=table_hints,
    )
    item = arrow_table(table, rows) if as_arrow and table != SYNC_ERRORS else rows
    return dlt.mark.with_hints(item, hints, create_table_variant=True)


class Suppressed:
    """Conversations and end users erased with ``chatsync forget``: never loaded again.

    Holds keyed hashes only, as recorded in ``suppressions``; a row is suppressed when the hash of
    its conversation id, or of its user or sender id, is among them. A conversation whose row names
    a suppressed user is remembered, so its messages (which may carry no user id) go too.
    """

    def __init__(self, hashes: dict[tuple[str, str], set[str]], privacy: PrivacyPolicy) -> None:
        self._hashes = hashes
        self._privacy = privacy
        self.conversations: set[tuple[str, str]] = set()

    def __bool__(self) -> bool:
        return bool(self._hashes)

    def _has(self, provider: str, kind: str, value: Any) -> bool:
        hashes = self._hashes.get((provider, kind), set())
        return bool(hashes) and value is not None and self._privacy.hash(value) in hashes

    def drops(self, table: str, row: dict[str, Any]) -> bool:
        """Whether ``row`` (raw, before the privacy policy) belongs to an erased conversation or user."""
        provider, conversation = row["provider"], row["conversation_id"]
        if (provider, conversation) in self.conversations or self._has(provider, "conversation", conversation):
            return True
        user = row.get("user_id") if table == CONVERSATIONS else row.get("sender_id")
        if self._has(provider, "user", user):
            self.conversations.add((provider, conversation))
            return True
        return False


class UniqueRows:
    """Keeps each table's rows unique by key within one run, which is one load package.

    dlt would otherwise deduplicate the staged rows of every merge with a window over all of them
    (``ROW_NUMBER() OVER (PARTITION BY key)``), which costs DuckDB as much memory as the package
    and most of the load step. The tables' hints declare the rows deduplicated instead
    (``x-stage-data-deduplicated``), and this is what makes that true:

    - every provider yields a conversation's rows of one table in one piece per run, so a later
      piece for the same conversation (a listing that names a session twice) is a repeat, and
      the first copy is kept;
    - within a piece, the first row of each key is kept.

    Holds one key per conversation and table (about 10 MB for 100k conversations).
    """

    def __init__(self) -> None:
        self._conversations: dict[str, set[tuple[str, str]]] = {table: set() for table in _TABLES}

    def admit(self, table: str, rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
        """The rows of one piece that are not repeats."""
        key_columns, _ = _TABLES[table]
        earlier = self._conversations[table]
        kept: list[dict[str, Any]] = []
        keys: set[tuple[Any, ...]] = set()
        for row in rows:
            key = tuple(row[column] for column in key_columns)
            if key in keys or (row["provider"], row["conversation_id"]) in earlier:
                continue
            keys.add(key)
            kept.append(row)
        earlier.update((row["provider"], row["conversation_id"]) for row in kept)
        return kept


def batched(
    stream: Iterable[TableRows],
    privacy: PrivacyPolicy | None = None,
    suppressed: Suppressed | None = None,
    size: int = 10_000,
    as_arrow: bool = False,
    destination: str | None = None,
) -> Iterator[DataItemWithMeta]:
    """Gathers a resource's rows into large batches per table, ready for dlt, under the privacy policy.

    dlt validates the table hints of every item it is given (about 2 ms each), so one small item
    per conversation would dominate a run; a few large items cost nothing. Every row passes the
    personal-data policy and the erasures here, the one funnel of every provider, before dlt sees
    it, and repeats are dropped (``UniqueRows``). Buffers are not released when a ``conversations``
    piece comes in, so that the messages yielded just before it can still be dropped with it.

    Args:
        stream: Rows per table, in any number of small pieces.
        privacy: The personal-data policy; None leaves rows as they are.
        suppressed: Erased conversations and users.
        size: Rows per table to gather before releasing a batch.
        as_arrow: Release ``messages`` and ``conversations`` as Arrow tables (see ``arrow_table``).
        destination: Where the rows go; BigQuery's tables get partition and cluster hints.

    Yields:
        The rows with their table's hints.
    """
    pending: dict[str, list[dict[str, Any]]] = {table: [] for table in _TABLES}
    unique = UniqueRows()
    for piece in stream:
        if piece.table == OWNERS:
            if suppressed:
                _drop_owned_by_suppressed(piece.rows, suppressed, pending)
            continue
        if piece.table != CONVERSATIONS:
            for table, rows in pending.items():
                if len(rows) >= size:
                    yield _with_hints(table, rows, as_arrow, destination)
                    pending[table] = []
        rows = unique.admit(piece.table, piece.rows)
        if suppressed and piece.table != SYNC_ERRORS:
            rows = [row for row in rows if not suppressed.drops(piece.table, row)]
            if piece.table == CONVERSATIONS and suppressed.conversations:
                gone = suppressed.conversations
                for table in (MESSAGES, KNOWLEDGE_CITATIONS):
                    pending[table] = [r for r in pending[table] if (r["provider"], r["conversation_id"]) not in gone]
        if privacy is not None and piece.table != SYNC_ERRORS:
            rows = [privacy.apply(piece.table, row) for row in rows]
        pending[piece.table].extend(rows)
    for table, rows in pending.items():
        if rows:
            yield _with_hints(table, rows, as_arrow, destination)


def _drop_owned_by_suppressed(
    owners: Sequence[dict[str, Any]], suppressed: Suppressed, pending: dict[str, list[dict[str, Any]]]
) -> None:
    """Remembers conversations of suppressed users, and drops what is already gathered of them."""
    if not any([suppressed.drops(CONVERSATIONS, row) for row in owners]):
        return
    gone = suppressed.conversations
    for table in (MESSAGES, KNOWLEDGE_CITATIONS):
        pending[table] = [r for r in pending[table] if (r["provider"], r["conversation_id"]) not in gone]


def emits_canonical_rows(
    produce: Callable[..., Iterable[TableRows]],
) -> Callable[..., Iterator[DataItemWithMeta]]:
    """Decorates a resource body that yields ``TableRows`` so it hands dlt ``batched`` items.

    The resource is called with a ``privacy`` keyword (a ``PrivacyPolicy``), which goes to
    ``batched``, not to the body.

    Args:
        produce: The generator function; put ``@dlt.resource`` above this decorator.

    Returns:
        The generator function dlt runs.
    """

    @functools.wraps(produce)
    def resource_body(*args: Any, privacy: PrivacyPolicy | None = None, **kwargs: Any) -> Iterator[DataItemWithMeta]:
        from .ledger import Ledger  # the ledger reads these tables: imported here to avoid a cycle

        suppressed = None
        if privacy is not None:
            with Ledger() as ledger:
                suppressed = Suppressed(ledger.suppressions(), privacy)
        destination = current_destination()
        rows = produce(*args, **kwargs)
        yield from batched(rows, privacy, suppressed, as_arrow=loads_arrow(destination), destination=destination)

    signature = inspect.signature(produce)  # dlt binds arguments against it: add ``privacy``
    extra = inspect.Parameter("privacy", inspect.Parameter.KEYWORD_ONLY, default=None)
    resource_body.__signature__ = signature.replace(  # type: ignore[attr-defined]
        parameters=[*signature.parameters.values(), extra]
    )
    return resource_body
