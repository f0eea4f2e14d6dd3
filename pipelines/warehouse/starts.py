"""Every conversation has a start: ``started_at`` from its first message where the provider sends none.

A provider that sends no start (Feedloop), or a warehouse loaded before chatsync derived one, leaves
``started_at`` NULL; the views, the explorer and any SQL user sort and filter conversations by it.
After each provider's load the NULLs are filled with the earliest ``messages.created_at`` (a message
the provider sent without a time carries when chatsync first saw it), so an existing warehouse is
complete after its next run, without a reload. A conversation with no message yet keeps NULL until
its first message loads.
"""

from __future__ import annotations

from typing import Final

import dlt

from sources.common.tables import CONVERSATIONS, MESSAGES

from .queries import query_table

_FILL: Final = (
    "UPDATE {table} SET started_at = (SELECT MIN(m.created_at) FROM %(messages)s AS m "
    "WHERE m.provider = {table}.provider AND m.conversation_id = {table}.conversation_id) "
    "WHERE provider = %%s AND started_at IS NULL"
)


def fill_missing_starts(pipeline: dlt.Pipeline, provider: str) -> int:
    """Sets each of ``provider``'s conversations without ``started_at`` to its first message's time.

    Args:
        pipeline: The loading pipeline.
        provider: The provider just loaded.

    Returns:
        How many conversations lacked a start before (0 when none: then nothing is written).
    """
    with pipeline.sql_client() as client:
        counted = query_table(
            client, CONVERSATIONS, "SELECT COUNT(*) FROM {table} WHERE provider = %s AND started_at IS NULL", provider
        )
        missing = int(counted[0][0]) if counted else 0
        if missing:
            sql = _FILL % {"messages": client.make_qualified_table_name(MESSAGES)}
            query_table(client, CONVERSATIONS, sql, provider)
    return missing
