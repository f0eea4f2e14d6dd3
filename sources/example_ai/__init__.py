"""example-ai: ``GET /chat/history``, newest first, paged backwards by a timestamp cursor.

Incremental by conversation: state keeps, per configured conversation, the newest loaded second
and the ids loaded at that second. A run reads each conversation newest first and stops at that
second, so already-loaded history costs one page per conversation, not a re-read. The API has no
conversation listing, so the ids come from configuration.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import dlt
from dlt.sources import DltResource
from dlt.sources.helpers.rest_client.auth import BearerTokenAuth

from ..common.canonical import TableRows, as_conversations, as_messages, emits_canonical_rows
from ..common.errors import ConfigurationError, NotFoundError, ProviderError
from ..common.fanout import fan_out
from ..common.http import ProviderHttp
from ..common.observer import RunObserver
from ..common.timeutil import Window, parse_timestamp
from .helpers import ConversationRead, Progress, read_conversation, to_conversation_row, to_message_rows
from .settings import DEFAULT_BASE_URL, DEFAULT_BOT_LABEL, DEFAULT_WORKERS, MAX_PAGE_SIZE, PROVIDER


@dlt.source(name=PROVIDER, max_table_nesting=0)
def example_ai(
    conversation_ids: Sequence[str] = dlt.config.value,
    api_key: str = dlt.secrets.value,
    base_url: str = DEFAULT_BASE_URL,
    start_date: str | None = None,
    bot_id: str = DEFAULT_BOT_LABEL,
    page_size: int = MAX_PAGE_SIZE,
    include_meta: bool = False,
    max_workers: int = DEFAULT_WORKERS,
    backfill_since: str | None = None,
    backfill_until: str | None = None,
    observer: Any = None,
) -> DltResource:
    """The example-ai chat history of the configured conversations.

    Args:
        conversation_ids: Conversations to sync (the API cannot list them).
        api_key: Sent as ``Authorization: Bearer <key>``.
        base_url: API root; point it at your deployment.
        start_date: The first load reads back only to this date (ISO-8601).
        bot_id: Label stored in ``bot_id``; the API has no notion of bots.
        page_size: Messages per request, at most 100.
        include_meta: Ask for extended metadata, kept in ``raw``.
        max_workers: Conversations read concurrently.
        backfill_since: With ``backfill_until``, re-read only this window and leave cursors alone.
        backfill_until: End (exclusive) of the backfill window; open when omitted.
        observer: A ``RunObserver`` receiving progress and warnings.

    Returns:
        The ``messages`` resource, which also fills ``conversations``.
    """
    if not conversation_ids:
        raise ConfigurationError(f"{PROVIDER}: no conversation_ids configured ([sources.{PROVIDER}])")
    watcher = observer if isinstance(observer, RunObserver) else RunObserver(PROVIDER)
    http = ProviderHttp(PROVIDER, base_url, BearerTokenAuth(api_key), observer=watcher)
    backfill = Window.between(backfill_since, backfill_until)
    return messages(
        http,
        list(dict.fromkeys(conversation_ids)),
        watcher,
        start_date,
        bot_id,
        page_size,
        include_meta,
        max_workers,
        backfill,
    )


def _time(value: str | None) -> Any:
    return parse_timestamp(value) if value else None


@dlt.resource(name="chat_history")
@emits_canonical_rows
def messages(
    http: ProviderHttp,
    conversation_ids: list[str],
    observer: RunObserver,
    start_date: str | None,
    bot_id: str,
    page_size: int,
    include_meta: bool,
    max_workers: int,
    backfill: Window | None,
) -> Iterator[TableRows]:
    """Messages of every configured conversation, and their ``conversations`` rows."""
    state: dict[str, Any] = dlt.current.resource_state().setdefault("conversations", {})
    floor = _time(start_date)

    def read(conversation_id: str) -> ConversationRead:
        progress = Progress.from_state(state.get(conversation_id))
        if backfill is not None:
            return read_conversation(
                http,
                conversation_id,
                floor=backfill.since,
                skip_ids=frozenset(),
                window=backfill,
                page_size=page_size,
                include_meta=include_meta,
            )
        return read_conversation(
            http,
            conversation_id,
            floor=progress.newest if progress else floor,
            skip_ids=frozenset(progress.newest_ids) if progress else frozenset(),
            window=Window(),
            page_size=page_size,
            include_meta=include_meta,
        )

    for conversation_id, outcome in fan_out(conversation_ids, read, max_workers, tolerate=(NotFoundError,)):
        if isinstance(outcome, ProviderError):  # only NotFoundError is tolerated
            observer.warn(f"conversation {conversation_id} not found; skipped")
            continue
        yield from _emit(outcome, state, observer, bot_id, move_cursor=backfill is None)
    if backfill is None:
        for stale in set(state) - set(conversation_ids):  # keeps state bounded by the config
            del state[stale]


def _emit(
    read: ConversationRead, state: dict[str, Any], observer: RunObserver, bot_id: str, move_cursor: bool
) -> Iterator[Any]:
    if not read.records:
        return
    previous = Progress.from_state(state.get(read.conversation_id))
    progress = read.progress(previous, move_cursor=move_cursor)
    rows, unknown = to_message_rows(read, bot_id)
    if unknown:
        observer.count("messages with an undocumented sender_type", unknown)
    observer.on_rows("messages", len(rows))
    yield as_messages(rows)
    head = progress or read.progress(None)
    if head is not None:
        observer.on_rows("conversations", 1)
        yield as_conversations([to_conversation_row(read.conversation_id, head, bot_id)])
    if progress is not None:
        state[read.conversation_id] = progress.to_state()
