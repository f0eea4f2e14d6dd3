"""Feedloop's side of ``chatsync audit``: one GET per conversation, its item count or its items."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import dlt
from dlt.common.configuration import with_config

from ..common.audit import Census, Choose, Held, every, read_configured
from ..common.observer import RunObserver
from ..common.settings import id_list
from .helpers import connect, map_item, message_key, read_history, to_message_row
from .settings import DEFAULT_BASE_URL, DEFAULT_WORKERS, PROVIDER


def history_rows(convo_id: str, items: list[Any]) -> list[dict[str, Any]]:
    """A history as the canonical rows a run makes of it (first copy of a repeated key kept)."""
    now, rows, seen = datetime.now(UTC), [], set()
    for n, item in enumerate(items):
        mapped = map_item(item)
        key = message_key(convo_id, n, item, mapped)
        if key not in seen:
            seen.add(key)
            rows.append(to_message_row(convo_id, n, item, mapped, key, now))
    return rows


@with_config(sections=("sources", PROVIDER))
def census(
    full: bool = False,
    choose: Choose = every,
    observer: RunObserver | None = None,
    conversation_ids: Any = dlt.config.value,
    api_key: str = dlt.secrets.value,
    base_url: str = DEFAULT_BASE_URL,
    max_workers: int = DEFAULT_WORKERS,
) -> Census:
    """One GET per configured conversation (quick), or per chosen conversation (full).

    Returns:
        The census: item counts, and with ``full`` the items as canonical rows.
    """
    http = connect(api_key, base_url, observer)
    ids = id_list(conversation_ids, PROVIDER, "conversation_ids")
    found = Census(PROVIDER)
    found.chosen = choose(ids) if full else []

    def read(convo_id: str) -> Held:
        rows = history_rows(convo_id, read_history(http, convo_id))
        return Held(items=len(rows), rows=rows if full else None)

    read_configured(found, http, found.chosen if full else ids, read, max_workers)
    return found
