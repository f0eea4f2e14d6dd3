"""Intercom's side of ``chatsync audit``: every conversation id with its parts count; whole ones when asked."""

from __future__ import annotations

import dlt
from dlt.common.configuration import with_config

from ..common.audit import Census, Choose, Held, every
from ..common.errors import NotFoundError, ProviderError
from ..common.fanout import fan_out
from ..common.isolation import CONVERSATION_ERRORS, cause_of
from ..common.observer import RunObserver
from .helpers import connect, list_conversations, read_conversation, to_rows
from .settings import (
    DEFAULT_API_VERSION,
    DEFAULT_BASE_URL,
    DEFAULT_BOT_LABEL,
    DEFAULT_WORKERS,
    PART_CAP,
    PROVIDER,
)


@with_config(sections=("sources", PROVIDER))
def census(
    full: bool = False,
    choose: Choose = every,
    observer: RunObserver | None = None,
    api_key: str = dlt.secrets.value,
    base_url: str = DEFAULT_BASE_URL,
    api_version: str = DEFAULT_API_VERSION,
    bot_id: str = DEFAULT_BOT_LABEL,
    max_workers: int = DEFAULT_WORKERS,
    max_parts: int = PART_CAP,
) -> Census:
    """Every conversation (``GET /conversations``): its ``count_conversation_parts``, which counts the opening
    message too, so it is the number of messages a whole read loads; a search cannot see a deleted
    conversation, this listing can. With ``full``, the chosen conversations read whole. A conversation
    with more than ``max_parts`` parts (Intercom's documented cap, 500) is capped: the API cannot return it whole.

    Returns:
        The census; the listing is complete.
    """
    http = connect(api_key, base_url, api_version, observer)
    found = Census(PROVIDER, complete_listing=True)
    for record in list_conversations(http):
        statistics, contacts = record.get("statistics") or {}, record.get("contacts") or {}
        parts = statistics.get("count_conversation_parts") if isinstance(statistics, dict) else None
        listed = contacts.get("contacts") if isinstance(contacts, dict) else None
        owner = str(listed[0]["id"]) if isinstance(listed, list) and listed and isinstance(listed[0], dict) else None
        items = parts if isinstance(parts, int) else None
        found.held[str(record["id"])] = Held(bot_id, owner, items=items, readable=max_parts + 1)
    if full:
        found.chosen = choose([cid for cid, held in found.held.items() if held.error is None])

        def read(conversation_id: str) -> dict[str, object]:
            return read_conversation(http, conversation_id)

        for cid, outcome in fan_out(found.chosen, read, max_workers, tolerate=CONVERSATION_ERRORS):
            if isinstance(outcome, NotFoundError):
                found.gone.add(cid)
            elif isinstance(outcome, ProviderError):
                found.held[cid].error = cause_of(outcome)
            else:
                found.held[cid].rows = to_rows(dict(outcome), bot_id).messages
    return found
