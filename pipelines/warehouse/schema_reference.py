"""The schema reference (docs/schema-reference.md), made from the tables' dlt column hints."""

from __future__ import annotations

from collections.abc import Mapping

from dlt.common.schema.typing import TTableSchemaColumns

from sources.common.tables import (
    AUDIT_COLUMNS,
    AUDIT_RESULTS,
    CANONICAL_COLUMNS,
    CITATION_KEY,
    CONVERSATION_INSIGHT_COLUMNS,
    CONVERSATION_INSIGHTS,
    CONVERSATION_KEY,
    CONVERSATIONS,
    KNOWLEDGE_CITATIONS,
    KNOWLEDGE_GAP_COLUMNS,
    KNOWLEDGE_GAPS,
    MESSAGE_KEY,
    MESSAGES,
    SUPPRESSION_COLUMNS,
    SUPPRESSION_KEY,
    SUPPRESSIONS,
    SYNC_ERROR_KEY,
    SYNC_ERRORS,
    TOPIC_COLUMNS,
    TOPIC_MODEL,
    TOPIC_MODEL_COLUMNS,
    TOPICS,
)

TABLE_MEANINGS: dict[str, str] = {
    CONVERSATIONS: "one row per conversation of every provider",
    MESSAGES: "one row per message of every provider",
    KNOWLEDGE_CITATIONS: "one row per knowledge-base document an assistant message cites (OwlBot)",
    SYNC_ERRORS: "one row per conversation a run skipped, until it loads",
    SUPPRESSIONS: "what chatsync forget erased, as keyed hashes",
    AUDIT_RESULTS: "what each chatsync audit found: a summary per provider, a row per conversation not complete",
    CONVERSATION_INSIGHTS: "one row per conversation with messages: its topic, language, sentiment and outcome "
    "(chatsync insights, docs/insights.md)",
    TOPICS: "one row per topic: its label, size, outcomes and most asked questions; made anew by every insights run",
    KNOWLEDGE_GAPS: "one row per topic with failed conversations, ranked; made anew by every insights run",
    TOPIC_MODEL: "the topics' exemplar questions, which new conversations are assigned by; made anew by every run",
}
KEYS: dict[str, tuple[str, ...]] = {
    CONVERSATIONS: CONVERSATION_KEY,
    MESSAGES: MESSAGE_KEY,
    KNOWLEDGE_CITATIONS: CITATION_KEY,
    SYNC_ERRORS: SYNC_ERROR_KEY,
    SUPPRESSIONS: SUPPRESSION_KEY,
    AUDIT_RESULTS: (),
    CONVERSATION_INSIGHTS: CONVERSATION_KEY,
    TOPICS: (),
    KNOWLEDGE_GAPS: (),
    TOPIC_MODEL: (),
}
REPLACED = frozenset({TOPICS, KNOWLEDGE_GAPS, TOPIC_MODEL})
HEADER = """# Schema reference

<!-- Generated from the tables' dlt column hints (sources/common/tables.py) by `make docs-reference`;
tests/test_docs.py fails when this file and the hints differ. -->

Every table but `audit_results` and the three insights tables made anew on each run is merged
(delete-insert) on its key: a rerun, retry or overlapping backfill never duplicates a row. dlt
adds `_dlt_load_id` (the load that wrote the row) and `_dlt_id` (a row id) to each. Types are
dlt's; each destination maps them (e.g. `timestamp` is `TIMESTAMP WITH TIME ZONE` in DuckDB and
Postgres, `TIMESTAMP` in BigQuery, all UTC).
"""


def _table(name: str, columns: TTableSchemaColumns) -> str:
    key = KEYS[name]
    rows = [
        f"| `{column}` | {hint.get('data_type')} | {'yes' if column in key else ''} | "
        f"{'' if hint.get('nullable', True) else 'no'} | {hint.get('description', '')} |"
        for column, hint in columns.items()
    ]
    return "\n".join(
        [
            f"## `{name}`",
            "",
            f"{TABLE_MEANINGS[name].capitalize()}. " + (f"Key: `({', '.join(key)})`." if key else _unkeyed(name)),
            "",
            "| column | type | key | null | meaning |",
            "|---|---|---|---|---|",
            *rows,
        ]
    )


def _unkeyed(name: str) -> str:
    if name in REPLACED:
        return "Replaced whole on every insights run: no key."
    return "Appended to, never merged: every audit adds its rows."


def schema_reference(tables: Mapping[str, TTableSchemaColumns] | None = None) -> str:
    """The Markdown reference of every table chatsync writes: columns, types, keys and meanings.

    Args:
        tables: The tables' column hints; chatsync's own by default.

    Returns:
        The page.
    """
    tables = tables or {
        **CANONICAL_COLUMNS,
        SUPPRESSIONS: SUPPRESSION_COLUMNS,
        AUDIT_RESULTS: AUDIT_COLUMNS,
        CONVERSATION_INSIGHTS: CONVERSATION_INSIGHT_COLUMNS,
        TOPICS: TOPIC_COLUMNS,
        KNOWLEDGE_GAPS: KNOWLEDGE_GAP_COLUMNS,
        TOPIC_MODEL: TOPIC_MODEL_COLUMNS,
    }
    return HEADER + "\n" + "\n\n".join(_table(name, columns) for name, columns in tables.items()) + "\n"
