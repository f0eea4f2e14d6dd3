"""example-ai's side of ``chatsync audit``: each conversation's newest message; the whole history when asked."""

from __future__ import annotations

from typing import Any

import dlt
from dlt.common.configuration import with_config

from ..common.audit import Census, Choose, Held, every
from ..common.errors import NotFoundError, ProviderError
from ..common.fanout import fan_out
from ..common.http import ProviderHttp
from ..common.isolation import CONVERSATION_ERRORS, NotFoundTally, cause_of
from ..common.observer import RunObserver
from ..common.payload import record_id
from ..common.settings import id_list
from ..common.timeutil import Window
from .helpers import ConversationRead, connect, read_conversation, to_message_rows
from .settings import (
    DEFAULT_BASE_URL,
    DEFAULT_BOT_LABEL,
    DEFAULT_WORKERS,
    HISTORY_PATH,
    MAX_PAGE_SIZE,
    MESSAGES_SELECTOR,
    PROVIDER,
)


def newest_message_id(http: ProviderHttp, conversation_id: str) -> str | None:
    """One ``limit=1`` request: the id of the conversation's newest message (None when it has none)."""
    for page in http.paginate(
        HISTORY_PATH, params={"conversation_id": conversation_id, "limit": 1}, data_selector=MESSAGES_SELECTOR
    ):
        return next((record_id(r.get("id")) for r in page if isinstance(r, dict)), None)
    return None


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

    def read(cid: str) -> ConversationRead | str | None:
        if not full:
            return newest_message_id(http, cid)
        window = Window()
        return read_conversation(
            http, cid, floor=None, skip_ids=frozenset(), window=window, page_size=MAX_PAGE_SIZE, include_meta=True
        )

    tally = NotFoundTally(http, "conversation")
    for cid, outcome in fan_out(found.chosen if full else ids, read, max_workers, tolerate=CONVERSATION_ERRORS):
        if isinstance(outcome, NotFoundError):
            tally.add(cid, outcome)
        elif isinstance(outcome, ProviderError):
            found.held[cid] = Held(bot_id, error=cause_of(outcome))
        elif isinstance(outcome, ConversationRead):
            found.held[cid] = Held(bot_id, rows=to_message_rows(outcome, bot_id)[0])
        else:
            found.held[cid] = Held(bot_id, newest_id=outcome)
    found.gone = set(tally.settle(len(found.chosen if full else ids)))
    return found
