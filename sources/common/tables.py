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

AUDIT_RESULTS: Final = "audit_results"

OWNERS: Final = "_conversation_owners"  # not a table: see ``as_owners``

CONVERSATION_KEY: Final = ("provider", "conversation_id")

MESSAGE_KEY: Final = ("provider", "conversation_id", "message_id")

SYNC_ERROR_KEY: Final = ("provider", "conversation_id")

SUPPRESSION_KEY: Final = ("provider", "kind", "key_hash")

CITATION_KEY: Final = ("provider", "conversation_id", "message_id", "knowledge_id")

ROLES: Final = frozenset({"user", "assistant", "system", "agent", "unknown"})


def _text(meaning: str, nullable: bool = True) -> TColumnSchema:
    return {"data_type": "text", "nullable": nullable, "description": meaning}


def _timestamp(meaning: str, nullable: bool = True) -> TColumnSchema:
    return {"data_type": "timestamp", "timezone": True, "nullable": nullable, "description": meaning}


def _typed(data_type: str, meaning: str, nullable: bool = True) -> TColumnSchema:
    return {"data_type": data_type, "nullable": nullable, "description": meaning}  # type: ignore[typeddict-item]


# Each column's meaning is its dlt ``description``: the schema reference (docs/schema.md) is made from these.
PROVIDER_COLUMN: Final = "the provider key: example_ai, owlbot, chatnode or feedloop"
BOT_COLUMN: Final = "the bot (OwlBot's chatbot uuid, ChatNode's bot id; example-ai's configured label; Feedloop: NULL)"
CONVERSATION_COLUMN: Final = "the conversation: a session uuid, a lead's session_id or a configured conversation id"
RAW_COLUMN: Final = "the record as received, as JSON, under the privacy policy (hashes, coarsened values)"

CONVERSATION_COLUMNS: Final[TTableSchemaColumns] = {
    "provider": _text(PROVIDER_COLUMN, False),
    "bot_id": _text(BOT_COLUMN),
    "conversation_id": _text(CONVERSATION_COLUMN, False),
    "started_at": _timestamp("when the conversation started (UTC)"),
    "user_id": _text("the end user's id, where the provider sends one, under the privacy policy's user_id treatment"),
    "reported_message_count": _typed(
        "bigint", "the count the provider reports (OwlBot's messagenbr: user messages only); OwlBot's change marker"
    ),
    # signals for chatbot analytics; NULL where the provider sends none
    "handed_off": _typed("bool", "the provider's own handoff flag (ChatNode's for_agent)"),
    "country": _text("the end user's country (OwlBot's geo), under the privacy policy's geo treatment"),
    "device_type": _text("mobile, tablet, desktop, bot or other (OwlBot's user agent), under the user_agent treatment"),
    "visibility": _typed("bigint", "OwlBot's session visibility (0, 1 or 2), as sent; its meaning is not documented"),
    "deleted_at": _timestamp(
        "when a run first saw the provider report the conversation gone (absent from a complete listing, or "
        "its documented not-found answer); NULL while it exists"
    ),
    "raw": _typed("json", RAW_COLUMN),
}

MESSAGE_COLUMNS: Final[TTableSchemaColumns] = {
    "provider": _text(PROVIDER_COLUMN, False),
    "bot_id": _text(BOT_COLUMN),
    "conversation_id": _text(CONVERSATION_COLUMN, False),
    "message_id": _text("the provider's message id, or a stable key derived from the message if none", False),
    "role": _text("user, assistant, system or agent; unknown when a provider sends something undocumented", False),
    "content": _text("the message text (masked where redact_content is on); NULL when it is not text"),
    "created_at": _timestamp("when the message was written (UTC)"),
    "sender_id": _text("who sent it, where the provider says (example-ai's sender_id), under the user_id treatment"),
    "sequence": _typed("bigint", "the provider's order within the conversation; breaks ties in created_at"),
    "created_at_observed": _typed(
        "bool", "true when the provider sent no timestamp and created_at is when chatsync first saw the message"
    ),
    "model": _text("the model that wrote an assistant message, where the provider says (example-ai's metadata)"),
    "latency_ms": _typed("bigint", "its generation time in milliseconds, where the provider says"),
    "deleted_at": _timestamp("when a full read (Feedloop's, or chatsync audit --full) found it gone at the provider"),
    "raw": _typed("json", RAW_COLUMN),
}

# One row per knowledge-base id an assistant message cites (OwlBot's ``doc_vector_id``).
CITATION_COLUMNS: Final[TTableSchemaColumns] = {
    "provider": _text(PROVIDER_COLUMN, False),
    "bot_id": _text(BOT_COLUMN),
    "conversation_id": _text(CONVERSATION_COLUMN, False),
    "message_id": _text("the citing assistant message", False),
    "knowledge_id": _text("the cited knowledge-base document (OwlBot's doc_vector_id)", False),
    "cited_at": _timestamp("when the citing message was written (UTC)"),
}

SYNC_ERROR_COLUMNS: Final[TTableSchemaColumns] = {
    "provider": _text(PROVIDER_COLUMN, False),
    "bot_id": _text(BOT_COLUMN),
    "conversation_id": _text("the conversation a run skipped", False),
    "error": _text("the cause, one line", False),
    "first_seen": _timestamp("the first run it failed in", False),
    "last_seen": _timestamp("the last run it failed in", False),
    "failure_count": _typed("bigint", "how many runs it failed in", False),
    "resolved_at": _timestamp("when it loaded at last; NULL while it still fails"),
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
    "provider": _text(PROVIDER_COLUMN, False),
    "kind": _text("user or conversation", False),
    "key_hash": _text("the keyed hash (HMAC with pii_key) of the erased id; never the id itself", False),
    "created_at": _timestamp("when chatsync forget recorded it", False),
}

# Appended by ``chatsync audit`` (``pipelines.audit.results``): completeness over time.
AUDIT_COLUMNS: Final[TTableSchemaColumns] = {
    "audited_at": _timestamp("when the audit ran", False),
    "provider": _text(PROVIDER_COLUMN, False),
    "bot_id": _text(BOT_COLUMN),
    "conversation_id": _text("the conversation; NULL on summary rows"),
    "kind": _text(
        "summary, incomplete, deleted (at the provider) or unreadable (the provider answered an error)", False
    ),
    "mode": _text("quick, full, sample or repair", False),
    "checked": _typed("bigint", "summary: conversations checked"),
    "complete": _typed("bigint", "summary: conversations complete"),
    "incomplete": _typed("bigint", "summary: conversations incomplete"),
    "deleted": _typed("bigint", "summary: conversations deleted at the provider"),
    "provider_count": _typed("bigint", "messages the provider holds (or counts)"),
    "warehouse_count": _typed("bigint", "live messages the warehouse holds"),
    "missing": _typed("bigint", "messages missing in the warehouse"),
    "gone": _typed("bigint", "messages gone at the provider"),
    "changed": _typed("bigint", "messages whose content differs"),
    "requests": _typed("bigint", "summary: requests the audit made"),
    "detail": _text("what differs, one line"),
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
