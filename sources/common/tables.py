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

ROLES: Final = frozenset({"user", "assistant", "system", "agent", "note", "unknown"})  # note: internal (Intercom)


def _text(meaning: str, nullable: bool = True) -> TColumnSchema:
    return {"data_type": "text", "nullable": nullable, "description": meaning}


def _timestamp(meaning: str, nullable: bool = True) -> TColumnSchema:
    return {"data_type": "timestamp", "timezone": True, "nullable": nullable, "description": meaning}


def _typed(data_type: str, meaning: str, nullable: bool = True) -> TColumnSchema:
    return {"data_type": data_type, "nullable": nullable, "description": meaning}  # type: ignore[typeddict-item]


# Each column's meaning is its dlt ``description``: the schema reference (docs/schema.md) is made from these.
PROVIDER_COLUMN: Final = "the provider key: example_ai, owlbot, chatnode, feedloop or intercom"
BOT_COLUMN: Final = "the bot (OwlBot's chatbot uuid, ChatNode's bot id; example-ai's configured label; Feedloop: NULL)"
CONVERSATION_COLUMN: Final = "the conversation: a session uuid, a lead's session_id or a configured conversation id"
RAW_COLUMN: Final = "the record as received, as JSON, under the privacy policy (hashes, coarsened values)"

CONVERSATION_COLUMNS: Final[TTableSchemaColumns] = {
    "provider": _text(PROVIDER_COLUMN, False),
    "bot_id": _text(BOT_COLUMN),
    "bot_name": _text("the bot's name where the provider gives one (OwlBot's bot_title); NULL elsewhere"),
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
    "provider_verdict": _text(
        "the provider's own verdict on how the conversation ended (Intercom Fin's resolution_state), as sent; "
        "beside chatsync's outcome, never in place of it"
    ),
    "test_conversation": _typed("bool", "a test by the workspace's admins (Intercom's Fin previews); NULL elsewhere"),
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
        "summary, incomplete, capped (longer than the API returns; all it returns loaded), deleted (at the provider) "
        "or unreadable (the provider answered an error)",
        False,
    ),
    "mode": _text("quick, full, sample or repair", False),
    "checked": _typed("bigint", "summary: conversations checked"),
    "complete": _typed("bigint", "summary: conversations complete"),
    "incomplete": _typed("bigint", "summary: conversations incomplete"),
    "capped": _typed("bigint", "summary: conversations longer than the provider's API returns, all it returns loaded"),
    "deleted": _typed("bigint", "summary: conversations deleted at the provider"),
    "provider_count": _typed("bigint", "messages the provider holds (or counts)"),
    "warehouse_count": _typed("bigint", "live messages the warehouse holds"),
    "missing": _typed("bigint", "messages missing in the warehouse"),
    "gone": _typed("bigint", "messages gone at the provider"),
    "changed": _typed("bigint", "messages whose content differs"),
    "requests": _typed("bigint", "summary: requests the audit made"),
    "detail": _text("what differs, one line"),
}

# Written by ``chatsync insights`` (``pipelines.insights``); docs/insights.md says how each is computed.
CONVERSATION_INSIGHTS: Final = "conversation_insights"
TOPICS: Final = "topics"
KNOWLEDGE_GAPS: Final = "knowledge_gaps"
TOPIC_MODEL: Final = "topic_model"
TOPIC_EDITS: Final = "topic_edits"
TOPIC_ALIASES: Final = "topic_aliases"
INSIGHT_TABLES: Final = (CONVERSATION_INSIGHTS, TOPICS, KNOWLEDGE_GAPS, TOPIC_MODEL, TOPIC_EDITS, TOPIC_ALIASES)
TOPIC_COLUMN: Final = (
    "the topic, the same for every language: t and a number (t17), or other; kept across runs and refits"
)

CONVERSATION_INSIGHT_COLUMNS: Final[TTableSchemaColumns] = {
    "provider": _text(PROVIDER_COLUMN, False),
    "bot_id": _text(BOT_COLUMN),
    "conversation_id": _text(CONVERSATION_COLUMN, False),
    "topic_id": _text(TOPIC_COLUMN + "; NULL when the conversation has no question with words"),
    "model_topic_id": _text("the topic the model chose, before any merge made with chatsync topics merge"),
    "language": _text("ISO 639-1 code of the user's messages; NULL when undecidable"),
    "sentiment": _typed(
        "double",
        "the user's sentiment in [-1, 1], later messages weighing more; NULL where no model covers the language",
    ),
    "outcome": _text("answered, unanswered (the bot fell back), handed_off or abandoned (no reply to the user)", False),
    "question": _text("the user's opening question as stored in messages (cut at [insights] feature_chars)"),
    "first_message_at": _timestamp("the conversation's first message"),
    "last_message_at": _timestamp("its last message"),
    "user_messages": _typed("bigint", "messages of the user", False),
    "assistant_messages": _typed("bigint", "messages of the bot", False),
    "message_count": _typed("bigint", "live messages when computed; a change makes the next run recompute it", False),
    "fallback": _text("why the first reply counts as a fallback: phrase, empty or canned; NULL when it answers"),
    "reply_fingerprint": _text("a hash of the first reply's folded text: given to far-apart questions, it is canned"),
    "question_vector": _text("the question's multilingual sentence vector (512 signed bytes, base64); NULL if none"),
    "computed_at": _timestamp("when this row was written", False),
}

TOPIC_COLUMNS: Final[TTableSchemaColumns] = {
    "topic_id": _text(TOPIC_COLUMN, False),
    "language": _text("the language most of its conversations are in (und: undecidable)", False),
    "label": _text("what every surface shows: the name a person gave it, else generated_label", False),
    "name": _text("the name a person gave it (chatsync topics rename); NULL when none"),
    "generated_label": _text("its most distinctive words, in [insights] label_language where it has them"),
    "languages": _text("its conversations' languages and their shares, largest first (en 41%, es 22%)"),
    "keywords": _text("up to five distinctive words in the label's language, comma-separated"),
    "conversations": _typed("bigint", "conversations in the topic", False),
    "unanswered": _typed("bigint", "of which the bot fell back", False),
    "handed_off": _typed("bigint", "of which a human took over", False),
    "abandoned": _typed("bigint", "of which the user got no reply", False),
    "mean_sentiment": _typed("double", "mean sentiment where known"),
    "question_1": _text("the most asked question of the topic"),
    "question_2": _text("the second"),
    "question_3": _text("the third"),
    "examples": _text("JSON: its most asked questions in each language holding at least 5% of it"),
    "first_seen": _timestamp("its first conversation's first message"),
    "last_seen": _timestamp("its latest conversation's first message"),
    "computed_at": _timestamp("when this row was written", False),
}

KNOWLEDGE_GAP_COLUMNS: Final[TTableSchemaColumns] = {
    "rank": _typed("bigint", "1 is the gap to fill first: most failed conversations, then the largest share", False),
    "topic_id": _text(TOPIC_COLUMN, False),
    "label": _text("the topic's label", False),
    "conversations": _typed("bigint", "conversations in the topic", False),
    "unanswered": _typed("bigint", "of which the bot fell back", False),
    "handed_off": _typed("bigint", "of which a human took over", False),
    "failed_share": _typed("double", "(unanswered + handed_off) / conversations", False),
    "last_7_days": _typed("bigint", "failed conversations in the 7 days up to the newest conversation", False),
    "previous_7_days": _typed("bigint", "failed conversations in the 7 days before those", False),
    "change": _typed("bigint", "last_7_days - previous_7_days", False),
    **{
        f"example_{n}_{part}": _text(meaning)
        for n in (1, 2, 3)
        for part, meaning in (
            ("question", f"example {n}: a failed conversation's question"),
            ("provider", f"example {n}: its provider"),
            ("conversation_id", f"example {n}: its conversation id"),
        )
    },
    "computed_at": _timestamp("when this row was written", False),
}

TOPIC_MODEL_COLUMNS: Final[TTableSchemaColumns] = {
    "topic_id": _text(TOPIC_COLUMN, False),
    "language": _text("the language of a lexical topic or a language mean; * for a multilingual centroid", False),
    "representation": _text(
        "centroid (a topic's multilingual centroid), language_mean (what centring subtracts; topic_id *) "
        "or lexical (a topic of a language the multilingual model does not cover: one exemplar a row)",
        False,
    ),
    "exemplar": _text("lexical rows: a question of the topic; new conversations join the nearest topic", False),
    "vector": _text("the centroid or mean (512 signed bytes, base64); NULL on lexical rows"),
    "fitted_conversations": _typed("bigint", "conversations when the topics were last fitted", False),
    "computed_at": _timestamp("when this row was written", False),
}

TOPIC_EDIT_COLUMNS: Final[TTableSchemaColumns] = {
    "topic_id": _text("the topic edited", False),
    "name": _text("the name every surface shows (chatsync topics rename); NULL: the generated label"),
    "merged_into": _text("the topic its conversations join (chatsync topics merge); NULL: not merged"),
    "edited_at": _timestamp("when the edit was made", False),
}

TOPIC_ALIAS_COLUMNS: Final[TTableSchemaColumns] = {
    "old_topic_id": _text("a topic id of an earlier version (per language, such as en-3)", False),
    "topic_id": _text("the topic now holding most of its conversations", False),
    "conversations": _typed("bigint", "its conversations that are now in that topic", False),
    "mapped_at": _timestamp("when the upgrade mapped it", False),
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
