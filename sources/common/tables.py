"""The canonical warehouse tables every provider loads into: names, keys, columns and their hints.

``conversations``, ``messages``, ``knowledge_citations`` and ``sync_errors`` are merged on their
keys, so no rerun, retry or overlap ever duplicates a row, and one SQL query spans every provider.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any, Final

import dlt
from dlt.common.schema.typing import TColumnSchema, TTableSchemaColumns

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

MERGE: Final = {"disposition": "merge", "strategy": "delete-insert"}

TABLES: Final = {
    MESSAGES: (MESSAGE_KEY, MESSAGE_COLUMNS),
    CONVERSATIONS: (CONVERSATION_KEY, CONVERSATION_COLUMNS),
    SYNC_ERRORS: (SYNC_ERROR_KEY, SYNC_ERROR_COLUMNS),
    KNOWLEDGE_CITATIONS: (CITATION_KEY, CITATION_COLUMNS),
}

# Every canonical table's columns, by table name.
CANONICAL_COLUMNS: Final[Mapping[str, TTableSchemaColumns]] = {table: cols for table, (_, cols) in TABLES.items()}

# Written by ``chatsync forget``, read by every run (see ``Suppressed``).
SUPPRESSION_COLUMNS: Final[TTableSchemaColumns] = {
    "provider": _text(False),
    "kind": _text(False),  # "user" or "conversation"
    "key_hash": _text(False),
    "created_at": _timestamp(False),
}

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

    _, columns = TABLES[table]
    probe = dlt.resource([], name=table, columns={name: column.copy() for name, column in columns.items()})
    bigquery_adapter(probe, **BIGQUERY_LAYOUT.get(table, {}))
    schema = probe.compute_table_schema()
    return schema["columns"], {key: value for key, value in schema.items() if key.startswith("x-bigquery")}
