"""ChatNode's side of ``chatsync audit``: the leads listing; whole conversations' chats when asked."""

from __future__ import annotations

from typing import Any

import dlt
from dlt.common.configuration import with_config

from ..common.audit import Census, Choose, Held, every
from ..common.fanout import fan_out
from ..common.isolation import Breaker, cause_of
from ..common.observer import RunObserver
from ..common.settings import id_list
from .helpers import ChatBatch, connect, fetch_batch, list_leads, to_message_row
from .settings import DEFAULT_BASE_URL, DEFAULT_BATCH_SIZE, DEFAULT_WORKERS, PROVIDER


@with_config(sections=("sources", PROVIDER))
def census(
    full: bool = False,
    choose: Choose = every,
    observer: RunObserver | None = None,
    bot_ids: Any = dlt.config.value,
    api_key: str = dlt.secrets.value,
    base_url: str = DEFAULT_BASE_URL,
    batch_size: int = DEFAULT_BATCH_SIZE,
    max_workers: int = DEFAULT_WORKERS,
) -> Census:
    """Every bot's leads (one request per bot, as a run); with ``full``, the chosen conversations' chats.

    Returns:
        The census; the listing is complete unless a lead came without ``session_id``.
    """
    http = connect(api_key, base_url, observer)
    found = Census(PROVIDER, complete_listing=True)
    for bot in id_list(bot_ids, PROVIDER, "bot_ids"):
        listing = list_leads(http, bot)
        found.complete_listing &= not listing.nameless
        for lead in listing.leads:
            found.held[str(lead["session_id"])] = Held(bot)
        for session_id, cause in listing.rejected.items():
            found.held[session_id] = Held(bot, error=cause)
    if full:
        _read_whole(http, found, choose, batch_size, max_workers)
    return found


def _read_whole(http: Any, found: Census, choose: Choose, batch_size: int, max_workers: int) -> None:
    found.chosen = choose([sid for sid, held in found.held.items() if held.error is None])
    by_bot: dict[str, list[str]] = {}
    for session_id in found.chosen:
        by_bot.setdefault(str(found.held[session_id].bot_id), []).append(session_id)
    batches = [(bot, ids[i : i + batch_size]) for bot, ids in by_bot.items() for i in range(0, len(ids), batch_size)]

    def fetch(batch: tuple[str, list[str]]) -> ChatBatch:
        return fetch_batch(http, batch[0], batch[1], Breaker())

    for (bot, ids), outcome in fan_out(batches, fetch, max_workers):
        assert isinstance(outcome, ChatBatch)  # failures are isolated inside the batch
        for session_id in ids:
            held = found.held[session_id]
            if session_id in outcome.failed:
                held.error = cause_of(outcome.failed[session_id])
            else:
                chats = outcome.chats.get(session_id, [])
                held.rows = [to_message_row(bot, chat, n) for n, chat in enumerate(chats)]
