"""OwlBot: bots (``POST /login/checkToken``), their sessions, then the messages of each session.

Incremental by session: nothing but ``messagenbr`` (the number of user messages) tells that a
session has grown, so a run lists every session of every bot (one request per bot) and reads the
messages only of sessions that are new or whose ``messagenbr`` differs from the one loaded. The
loaded ``messagenbr`` is read back from the ``conversations`` table, so dlt state does not grow
with history. One addition: a session whose last loaded message is the user's is re-read until a
reply arrives (for ``reply_wait_hours``), because a reply does not change ``messagenbr``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import timedelta
from typing import Any

import dlt
from dlt.sources import DltResource
from dlt.sources.helpers.rest_client.auth import APIKeyAuth

from ..common.canonical import TableRows, as_conversations, as_messages, emits_canonical_rows
from ..common.errors import NotFoundError, ProviderError
from ..common.fanout import fan_out
from ..common.http import ProviderHttp
from ..common.ledger import Ledger
from ..common.observer import RunObserver
from ..common.timeutil import Window
from .helpers import (
    AwaitingReplies,
    classify_owlbot_error,
    discover_bots,
    list_sessions,
    read_messages,
    session_started,
    to_conversation_row,
    to_message_rows,
)
from .settings import DEFAULT_BASE_URL, DEFAULT_WORKERS, PROVIDER

DEFAULT_REPLY_WAIT_HOURS = 24.0


@dlt.source(name=PROVIDER, max_table_nesting=0)
def owlbot(
    api_key: str = dlt.secrets.value,
    base_url: str = DEFAULT_BASE_URL,
    chatbot_ids: Sequence[str] | None = None,
    max_workers: int = DEFAULT_WORKERS,
    reply_wait_hours: float = DEFAULT_REPLY_WAIT_HOURS,
    backfill_since: str | None = None,
    backfill_until: str | None = None,
    observer: Any = None,
) -> DltResource:
    """OwlBot sessions and their messages.

    Args:
        api_key: Sent as the raw ``Authorization`` header (no ``Bearer``).
        base_url: API root.
        chatbot_ids: Chatbot uuids; when absent, every bot of the account (``checkToken``).
        max_workers: Sessions read concurrently.
        reply_wait_hours: How long a session whose last message is the user's is re-read
            while waiting for the reply.
        backfill_since: With ``backfill_until``, re-read only messages in this window and leave
            change detection alone.
        backfill_until: End (exclusive) of the backfill window; open when omitted.
        observer: A ``RunObserver`` receiving progress and warnings.

    Returns:
        The resource filling ``conversations`` and ``messages``.
    """
    watcher = observer if isinstance(observer, RunObserver) else RunObserver(PROVIDER)
    auth = APIKeyAuth(name="Authorization", api_key=api_key, location="header")
    http = ProviderHttp(PROVIDER, base_url, auth, classify=classify_owlbot_error, observer=watcher)
    wait = timedelta(hours=reply_wait_hours)
    return sessions(
        http, list(chatbot_ids or []), watcher, max_workers, wait, Window.between(backfill_since, backfill_until)
    )


@dlt.resource(name="sessions")
@emits_canonical_rows
def sessions(
    http: ProviderHttp,
    chatbot_ids: list[str],
    observer: RunObserver,
    max_workers: int,
    reply_wait: timedelta,
    backfill: Window | None,
) -> Iterator[TableRows]:
    """Sessions and messages of every bot, one bot after the other."""
    state: dict[str, Any] = dlt.current.resource_state().setdefault("bots", {})
    with Ledger() as ledger:
        for chatbot_uuid in chatbot_ids or discover_bots(http):
            try:
                listing = list_sessions(http, chatbot_uuid)
            except NotFoundError:
                observer.fail(f"chatbot {chatbot_uuid} not found (check chatbot_ids)")
                continue
            awaiting = AwaitingReplies.from_state(state.get(chatbot_uuid))
            if backfill is not None:
                chosen, recheck_only = _backfill_sessions(listing, backfill), set[str]()
            else:
                chosen, recheck_only = _changed_sessions(
                    listing, ledger.message_counts(PROVIDER, chatbot_uuid), awaiting
                )
            yield from _load_sessions(
                http, chatbot_uuid, chosen, observer, max_workers, backfill, awaiting, recheck_only
            )
            if backfill is None:
                awaiting.observe_listing(listing)
                state[chatbot_uuid] = awaiting.pruned(reply_wait).to_state()


def _changed_sessions(
    listing: list[dict[str, Any]], loaded: dict[str, int | None], awaiting: AwaitingReplies
) -> tuple[list[dict[str, Any]], set[str]]:
    """Sessions to read, and which of them are read only because they await a reply."""
    changed = {s["session_uuid"] for s in listing if loaded.get(s["session_uuid"], -1) != s["messagenbr"]}
    recheck_only = {s["session_uuid"] for s in listing if s["session_uuid"] in awaiting.since} - changed
    to_read = changed | recheck_only
    return [s for s in listing if s["session_uuid"] in to_read], recheck_only


def _backfill_sessions(listing: list[dict[str, Any]], window: Window) -> list[dict[str, Any]]:
    # a session started before the window may have messages inside it; one started after may not
    return [
        s for s in listing if window.until is None or (started := session_started(s)) is None or started < window.until
    ]


def _load_sessions(
    http: ProviderHttp,
    chatbot_uuid: str,
    chosen: list[dict[str, Any]],
    observer: RunObserver,
    max_workers: int,
    backfill: Window | None,
    awaiting: AwaitingReplies,
    recheck_only: set[str],
) -> Iterator[Any]:
    def read(session: dict[str, Any]) -> list[dict[str, Any]]:
        return read_messages(http, chatbot_uuid, session["session_uuid"])

    for session, outcome in fan_out(chosen, read, max_workers, tolerate=(NotFoundError,)):
        if isinstance(outcome, ProviderError):  # deleted between listing and reading
            observer.warn(f"session {session['session_uuid']} vanished before it was read; skipped")
            continue
        if session["session_uuid"] in recheck_only and awaiting.still_waiting(session["session_uuid"], outcome):
            continue  # re-read for a reply that has not come: nothing to rewrite
        rows, unknown = to_message_rows(chatbot_uuid, session["session_uuid"], outcome, backfill)
        if unknown:
            observer.count("messages with an undocumented role", unknown)
        if rows:
            observer.on_rows("messages", len(rows))
            yield as_messages(rows)
        if backfill is None:  # the row carries messagenbr, the change marker: only after a full read
            awaiting.observe_messages(session["session_uuid"], outcome)
            observer.on_rows("conversations", 1)
            yield as_conversations([to_conversation_row(chatbot_uuid, session)])
