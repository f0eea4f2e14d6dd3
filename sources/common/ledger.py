"""What the warehouse already holds, read back while extracting.

Some change detection needs one fact per conversation for ever (OwlBot's ``messagenbr``). Kept in
dlt state, that would grow with history and be rewritten on every load, which is how dlt state
breaks production pipelines (dlt#2580, #4030). The warehouse already has the fact, committed in
the same load as the rows it describes, so it is exactly "as of the last successful load". dlt
finishes any pending load package before it extracts again, so a crash cannot leave it stale.
"""

from __future__ import annotations

from typing import Any

import dlt
from dlt.common.pipeline import SupportsPipeline
from dlt.destinations.exceptions import DatabaseUndefinedRelation

from .canonical import CONVERSATIONS, MESSAGES


def _query(table: str, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    """Runs ``sql`` with ``{table}`` qualified; no rows while the table does not exist yet."""
    pipeline: SupportsPipeline = dlt.current.pipeline()
    if getattr(pipeline, "destination", None) is None:
        return []
    try:
        with pipeline.sql_client() as client:  # type: ignore[attr-defined]
            qualified = client.make_qualified_table_name(table)
            return [tuple(row) for row in client.execute_sql(sql.format(table=qualified), *args) or []]
    except DatabaseUndefinedRelation:
        return []


def loaded_message_counts(provider: str, bot_id: str) -> dict[str, int | None]:
    """``reported_message_count`` of every loaded conversation of one bot.

    Args:
        provider: Provider key.
        bot_id: The bot.

    Returns:
        ``{conversation_id: reported_message_count}``.
    """
    rows = _query(
        CONVERSATIONS,
        "SELECT conversation_id, reported_message_count FROM {table} WHERE provider = %s AND bot_id = %s",
        provider,
        bot_id,
    )
    return {str(cid): (None if count is None else int(count)) for cid, count in rows}


def loaded_message_ids(provider: str, conversation_id: str) -> set[str]:
    """The ``message_id`` of every loaded message of one conversation.

    Args:
        provider: Provider key.
        conversation_id: The conversation.

    Returns:
        The ids.
    """
    rows = _query(
        MESSAGES,
        "SELECT message_id FROM {table} WHERE provider = %s AND conversation_id = %s",
        provider,
        conversation_id,
    )
    return {str(mid) for (mid,) in rows}
