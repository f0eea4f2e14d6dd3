"""ChatNode: conversations ("leads") per bot, then their chats, fetched by batches of session ids.

Incremental by lookback: the API has no "updated since", so a conversation that gains messages
later can only be caught by re-reading it. A run lists every lead of every configured bot (one
request per bot) and re-reads the chats of conversations that are new, or whose last activity
falls within ``lookback_days`` of the newest activity seen for that bot, and nothing else. Only
chats past each conversation's loaded frontier are written, so a rerun rewrites nothing.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import timedelta
from typing import Any

import dlt
from dlt.sources import DltResource
from dlt.sources.helpers.rest_client.auth import BearerTokenAuth

from ..common.canonical import TableRows, as_conversations, as_messages, emits_canonical_rows
from ..common.errors import AccessDeniedError, ConfigurationError, NotFoundError
from ..common.fanout import fan_out
from ..common.http import ProviderHttp
from ..common.observer import RunObserver
from ..common.timeutil import Window, parse_timestamp
from .helpers import (
    BotProgress,
    Frontier,
    fetch_chats,
    list_leads,
    ordered_by_conversation,
    to_conversation_row,
    to_message_row,
)
from .settings import DEFAULT_BASE_URL, DEFAULT_BATCH_SIZE, DEFAULT_LOOKBACK_DAYS, DEFAULT_WORKERS, PROVIDER


@dlt.source(name=PROVIDER, max_table_nesting=0)
def chatnode(
    bot_ids: Sequence[str] = dlt.config.value,
    api_key: str = dlt.secrets.value,
    base_url: str = DEFAULT_BASE_URL,
    lookback_days: float = DEFAULT_LOOKBACK_DAYS,
    batch_size: int = DEFAULT_BATCH_SIZE,
    max_workers: int = DEFAULT_WORKERS,
    backfill_since: str | None = None,
    backfill_until: str | None = None,
    observer: Any = None,
) -> DltResource:
    """ChatNode conversations and chats of the configured bots.

    Args:
        bot_ids: Bots to sync (the API cannot list them).
        api_key: Sent as ``Authorization: Bearer <key>``.
        base_url: API root.
        lookback_days: Conversations active this recently are re-read for new chats.
        batch_size: Session ids per ``get-chats`` request.
        max_workers: ``get-chats`` requests in flight at once.
        backfill_since: With ``backfill_until``, re-read only chats in this window; state untouched.
        backfill_until: End (exclusive) of the backfill window; open when omitted.
        observer: A ``RunObserver`` receiving progress and warnings.

    Returns:
        The resource filling ``conversations`` and ``messages``.
    """
    if not bot_ids:
        raise ConfigurationError(f"{PROVIDER}: no bot_ids configured ([sources.{PROVIDER}])")
    if batch_size < 1 or lookback_days < 0:
        raise ConfigurationError(f"{PROVIDER}: batch_size must be ≥ 1 and lookback_days ≥ 0")
    watcher = observer if isinstance(observer, RunObserver) else RunObserver(PROVIDER)
    http = ProviderHttp(PROVIDER, base_url, BearerTokenAuth(api_key), observer=watcher)
    window = Window.between(backfill_since, backfill_until)
    return leads_and_chats(
        http, list(dict.fromkeys(bot_ids)), watcher, timedelta(days=lookback_days), batch_size, max_workers, window
    )


@dlt.resource(name="conversations")
@emits_canonical_rows
def leads_and_chats(
    http: ProviderHttp,
    bot_ids: list[str],
    observer: RunObserver,
    lookback: timedelta,
    batch_size: int,
    max_workers: int,
    backfill: Window | None,
) -> Iterator[TableRows]:
    """Leads and chats of every bot; a 403 or 404 on one bot fails that bot, not the others."""
    state: dict[str, Any] = dlt.current.resource_state().setdefault("bots", {})
    for bot_id in bot_ids:
        try:
            leads = list_leads(http, bot_id)
        except (AccessDeniedError, NotFoundError) as exc:
            observer.fail(f"bot {bot_id}: {str(exc).removeprefix(f'{PROVIDER}: ')}")
            continue
        progress = BotProgress.from_state(state.get(bot_id))
        if backfill is not None:
            yield from _backfill(http, bot_id, leads, backfill, observer, batch_size, max_workers)
            continue
        yield from _incremental(http, bot_id, leads, progress, lookback, observer, batch_size, max_workers)
        state[bot_id] = progress.pruned(lookback).to_state()
    for stale in set(state) - set(bot_ids):  # keeps state bounded by the config
        del state[stale]


def _chats_by_conversation(
    http: ProviderHttp, bot_id: str, leads: list[dict[str, Any]], batch_size: int, max_workers: int
) -> Iterator[tuple[dict[str, Any], list[dict[str, Any]]]]:
    """Each lead with its chats, fetched in concurrent batches."""
    batches = [leads[i : i + batch_size] for i in range(0, len(leads), batch_size)]

    def fetch(batch: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
        return ordered_by_conversation(fetch_chats(http, bot_id, [str(lead["session_id"]) for lead in batch]))

    for batch, by_conversation in fan_out(batches, fetch, max_workers):
        assert isinstance(by_conversation, dict)  # no error type is tolerated
        for lead in batch:
            yield lead, by_conversation.get(str(lead["session_id"]), [])


def _incremental(
    http: ProviderHttp,
    bot_id: str,
    leads: list[dict[str, Any]],
    progress: BotProgress,
    lookback: timedelta,
    observer: RunObserver,
    batch_size: int,
    max_workers: int,
) -> Iterator[Any]:
    chosen = progress.to_reread(leads, lookback)  # measured from the last load's horizon
    for lead in leads:
        progress.saw(parse_timestamp(lead["created_at"]))
    for lead, chats in _chats_by_conversation(http, bot_id, chosen, batch_size, max_workers):
        session_id = str(lead["session_id"])
        frontier = progress.recent.get(session_id)
        rows = [to_message_row(bot_id, c, n) for n, c in enumerate(chats) if frontier is None or frontier.is_new(c)]
        if rows:
            observer.on_rows("messages", len(rows))
            yield as_messages(rows)
        if frontier is None or rows:
            observer.on_rows("conversations", 1)
            yield as_conversations([to_conversation_row(bot_id, lead)])
        progress.recent[session_id] = Frontier.after(chats, fallback=parse_timestamp(lead["created_at"]))
        progress.saw(progress.recent[session_id].last)


def _backfill(
    http: ProviderHttp,
    bot_id: str,
    leads: list[dict[str, Any]],
    window: Window,
    observer: RunObserver,
    batch_size: int,
    max_workers: int,
) -> Iterator[Any]:
    # a conversation started before the window may have chats inside it; one started after may not
    chosen = [lead for lead in leads if window.until is None or parse_timestamp(lead["created_at"]) < window.until]
    for lead, chats in _chats_by_conversation(http, bot_id, chosen, batch_size, max_workers):
        rows = [
            to_message_row(bot_id, c, n) for n, c in enumerate(chats) if window.admits(parse_timestamp(c["created_at"]))
        ]
        if rows:
            observer.on_rows("messages", len(rows))
            observer.on_rows("conversations", 1)
            yield as_messages(rows)
            yield as_conversations([to_conversation_row(bot_id, lead)])
