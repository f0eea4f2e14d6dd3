"""OwlBot's side of ``chatsync audit``: the session listings' ``messagenbr``; whole sessions when asked."""

from __future__ import annotations

from typing import Any

import dlt
from dlt.common.configuration import with_config

from ..common.audit import Census, Choose, Held, every
from ..common.errors import NotFoundError, ProviderError
from ..common.fanout import fan_out
from ..common.isolation import CONVERSATION_ERRORS, cause_of
from ..common.observer import RunObserver
from ..common.payload import record_id
from ..common.settings import id_list
from .helpers import MessagesRead, connect, discover_bots, list_sessions, read_messages, to_message_rows
from .settings import DEFAULT_BASE_URL, DEFAULT_WORKERS, PROVIDER


@with_config(sections=("sources", PROVIDER))
def census(
    full: bool = False,
    choose: Choose = every,
    observer: RunObserver | None = None,
    api_key: str = dlt.secrets.value,
    base_url: str = DEFAULT_BASE_URL,
    chatbot_ids: Any = None,
    max_workers: int = DEFAULT_WORKERS,
) -> Census:
    """Every bot's session listing (one request per bot, as a run); with ``full``, the chosen sessions whole.

    Returns:
        The census; the listing is complete unless a session came without ``session_uuid``.
    """
    http = connect(api_key, base_url, observer)
    found = Census(PROVIDER, complete_listing=True)
    for bot in id_list(chatbot_ids, PROVIDER, "chatbot_ids", required=False) or discover_bots(http):
        listing = list_sessions(http, bot)
        found.complete_listing &= not listing.nameless
        for session in listing.sessions:
            owner = record_id(session.get("uuid"))
            found.held[session["session_uuid"]] = Held(bot, owner, user_messages=int(session["messagenbr"]))
        for bad in listing.rejected:
            found.held[bad.session_uuid] = Held(bot, error=bad.cause)
    if full:
        _read_whole(http, found, choose, max_workers)
    return found


def _read_whole(http: Any, found: Census, choose: Choose, max_workers: int) -> None:
    found.chosen = choose([sid for sid, held in found.held.items() if held.error is None])

    def read(session_uuid: str) -> MessagesRead:
        return read_messages(http, str(found.held[session_uuid].bot_id), session_uuid)

    for session_uuid, outcome in fan_out(found.chosen, read, max_workers, tolerate=CONVERSATION_ERRORS):
        held = found.held[session_uuid]
        if isinstance(outcome, NotFoundError):
            found.gone.add(session_uuid)
        elif isinstance(outcome, ProviderError):
            held.error = cause_of(outcome)
        else:
            held.rows = to_message_rows(str(held.bot_id), session_uuid, outcome.records, None)[0]
