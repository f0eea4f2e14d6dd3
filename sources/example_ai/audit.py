"""example-ai's side of ``chatsync audit``: each conversation's newest message; the whole history when asked."""

from __future__ import annotations

from typing import Any

import dlt
from dlt.common.configuration import with_config

from ..common.audit import Census, Choose, Held, every, read_configured
from ..common.observer import RunObserver
from ..common.settings import id_list
from ..common.timeutil import Window
from .helpers import connect, newest_message_id, read_conversation, to_message_rows
from .settings import (
    DEFAULT_BASE_URL,
    DEFAULT_BOT_LABEL,
    DEFAULT_WORKERS,
    MAX_PAGE_SIZE,
    PROVIDER,
)


@with_config(sections=("sources", PROVIDER))
def census(
    full: bool = False,
    choose: Choose = every,
    observer: RunObserver | None = None,
    conversation_ids: Any = dlt.config.value,
    api_key: str = dlt.secrets.value,
    base_url: str = DEFAULT_BASE_URL,
    bot_id: str = DEFAULT_BOT_LABEL,
    max_workers: int = DEFAULT_WORKERS,
) -> Census:
    """Quick: one ``limit=1`` request per configured conversation. Full: the chosen conversations whole.

    Returns:
        The census (example-ai has no listing: only configured conversations are seen).
    """
    http = connect(api_key, base_url, observer)
    ids = id_list(conversation_ids, PROVIDER, "conversation_ids")
    found = Census(PROVIDER)
    found.chosen = choose(ids) if full else []

    def read(cid: str) -> Held:
        if not full:
            return Held(bot_id, newest_id=newest_message_id(http, cid))
        whole = read_conversation(
            http, cid, floor=None, skip_ids=frozenset(), window=Window(), page_size=MAX_PAGE_SIZE, include_meta=True
        )
        return Held(bot_id, rows=to_message_rows(whole, bot_id)[0])

    read_configured(found, http, found.chosen if full else ids, read, max_workers, bot_id)
    return found
