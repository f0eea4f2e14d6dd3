"""example-ai: ``GET /chat/history``, newest first, paged backwards by a timestamp cursor.

Incremental by conversation: state keeps, per configured conversation, the newest loaded second
and the ids loaded at that second. A run reads each conversation newest first and stops at that
second, so already-loaded history costs one page per conversation, not a re-read. The API has no
conversation listing, so the ids come from configuration.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Final

import dlt
from dlt.common.configuration import with_config
from dlt.sources import DltResource

from ..common.batching import Extraction, emits_canonical_rows
from ..common.deletions import classify_not_found, note_returned
from ..common.errors import NotFoundError, ProviderError
from ..common.fanout import fan_out
from ..common.http import ProviderHttp
from ..common.isolation import CONVERSATION_ERRORS, Breaker, NotFoundTally, SyncErrors
from ..common.observer import RunObserver
from ..common.provider import Discovery, ProviderSpec, Signal
from ..common.rows import TableRows, as_conversations, as_messages
from ..common.settings import CheckResult, id_list, missing_ids_warning
from ..common.source_run import SourceRun
from ..common.timeutil import DEFAULT_FUTURE_TOLERANCE_HOURS, FutureGuard, Window, parse_timestamp
from ..common.wording import counted
from .audit import census
from .helpers import (
    DUPLICATES,
    ConversationRead,
    Progress,
    connect,
    probe_conversation,
    read_conversation,
    to_conversation_row,
    to_message_rows,
)
from .settings import DEFAULT_BASE_URL, DEFAULT_BOT_LABEL, DEFAULT_WORKERS, MAX_PAGE_SIZE, PROVIDER


@dlt.source(name=PROVIDER, max_table_nesting=0)
def example_ai(
    conversation_ids: Any = dlt.config.value,
    api_key: str = dlt.secrets.value,
    base_url: str = DEFAULT_BASE_URL,
    start_date: str | None = None,
    bot_id: str = DEFAULT_BOT_LABEL,
    page_size: int = MAX_PAGE_SIZE,
    include_meta: bool = True,
    max_workers: int = DEFAULT_WORKERS,
    future_tolerance_hours: float = DEFAULT_FUTURE_TOLERANCE_HOURS,
    run_with: SourceRun | None = None,
) -> DltResource:
    """The example-ai chat history of the configured conversations.

    Args:
        conversation_ids: Conversations to sync (the API cannot list them).
        api_key: Sent as ``Authorization: Bearer <key>``.
        base_url: API root; point it at your deployment.
        start_date: The first load reads back only to this date (ISO-8601).
        bot_id: Label stored in ``bot_id``; the API has no notion of bots.
        page_size: Messages per request, at most 100.
        include_meta: Ask for extended metadata (no extra request): ``model`` and ``latency_ms`` of
            AI messages become columns; the rest stays in ``raw``.
        max_workers: Conversations read concurrently.
        future_tolerance_hours: Timestamps later than now plus this are loaded but move no cursor.
        run_with: How the engine runs it (observer, privacy policy, warehouse ledger, backfill or repair).

    Returns:
        The ``messages`` resource, which also fills ``conversations``.
    """
    run = (run_with or SourceRun()).started(PROVIDER)
    watcher = run.observer
    ids = sorted(run.repair) or id_list(conversation_ids, PROVIDER, "conversation_ids")
    http = connect(api_key, base_url, watcher)
    backfill = run.window
    options = ReadOptions(start_date, bot_id, page_size, include_meta, max_workers)
    guard = FutureGuard.hours(future_tolerance_hours, watcher.warn)
    return messages(http, ids, watcher, options, guard, backfill, extraction=run.extraction)


@dataclass(frozen=True)
class ReadOptions:
    """How conversations are read and labelled."""

    start_date: str | None
    bot_id: str
    page_size: int
    include_meta: bool
    max_workers: int


def _time(value: str | None) -> Any:
    return parse_timestamp(value) if value else None


@dlt.resource(name="chat_history")
@emits_canonical_rows
def messages(
    http: ProviderHttp,
    conversation_ids: list[str],
    observer: RunObserver,
    options: ReadOptions,
    guard: FutureGuard,
    backfill: Window | None,
    *,
    extraction: Extraction,
) -> Iterator[TableRows]:
    """Messages of every configured conversation, and their ``conversations`` rows.

    A conversation that fails (bad payload, or unreachable after every retry) is skipped and
    recorded in ``sync_errors``; the others load and advance.
    """
    state: dict[str, Any] = dlt.current.resource_state().setdefault("conversations", {})
    floor = _time(options.start_date)

    absent: set[str] = set()  # in state, not in the warehouse: dropped, or state outlived its rows

    def read(conversation_id: str) -> ConversationRead:
        known = None if backfill or conversation_id in absent else state.get(conversation_id)
        progress = Progress.from_state(known) if known else None
        return read_conversation(
            http,
            conversation_id,
            floor=progress.newest if progress else (backfill.since if backfill else floor),
            skip_ids=frozenset(progress.newest_ids) if progress else frozenset(),
            window=backfill or Window(),
            page_size=options.page_size,
            include_meta=options.include_meta,
        )

    breaker = Breaker()
    with extraction.ledger() as ledger:
        errors = SyncErrors(PROVIDER, observer, ledger)
        missing = NotFoundTally(http, "conversation")
        loaded = ledger.conversation_flags(PROVIDER)
        absent.update(cid for cid in conversation_ids if cid in state and cid not in loaded)
        reads = fan_out(conversation_ids, read, options.max_workers, tolerate=CONVERSATION_ERRORS, breaker=breaker)
        answered = []
        for conversation_id, outcome in reads:
            if isinstance(outcome, NotFoundError):
                missing.add(conversation_id, outcome)
            elif isinstance(outcome, ProviderError):
                errors.failed(None, conversation_id, outcome)
            else:
                if conversation_id in absent:
                    state.pop(conversation_id, None)  # read whole: its old cursor must not hold back the rows
                yield from _emit(outcome, state, observer, options.bot_id, guard, move_cursor=backfill is None)
                errors.loaded(None, conversation_id)
                answered.append(conversation_id)
        gone = missing.settle(len(conversation_ids))
        for conversation_id in classify_not_found(observer.deletions, gone, loaded, known=state.keys()):
            observer.warn(f"conversation {conversation_id} not found; skipped (never loaded: a typo, or deleted)")
        note_returned(observer.deletions, answered, loaded)
        yield errors.finish(breaker)
        yield from observer.deletions.tables()


def _emit(
    read: ConversationRead,
    state: dict[str, Any],
    observer: RunObserver,
    bot_id: str,
    guard: FutureGuard,
    move_cursor: bool,
) -> Iterator[Any]:
    if read.duplicates:
        observer.count(DUPLICATES, read.duplicates)
        observer.warn(
            f"conversation {read.conversation_id}: {counted(read.duplicates, 'duplicate id')} in one response"
        )
    if not read.records:
        return
    previous = Progress.from_state(state.get(read.conversation_id))
    progress = read.progress(previous, move_cursor=move_cursor, guard=guard)
    rows, anomalies = to_message_rows(read, bot_id)
    for name, amount in anomalies.items():
        observer.count(name, amount)
    observer.on_rows("messages", len(rows))
    yield as_messages(rows)
    head = progress or read.progress(None)
    if head is not None:
        observer.on_rows("conversations", 1)
        yield as_conversations([to_conversation_row(read.conversation_id, head, bot_id)])
    if progress is not None:
        state[read.conversation_id] = progress.to_state()


@with_config(sections=("sources", PROVIDER))
def check(
    conversation_ids: Any = dlt.config.value, api_key: str = dlt.secrets.value, base_url: str = DEFAULT_BASE_URL
) -> CheckResult:
    """Proves the setup without loading: the URL answers, the key is accepted, the conversations exist.

    A conversation that does not exist is a warning, as in a run; none existing means a wrong URL.

    Returns:
        The base URL in use, what was found, and warnings.

    Raises:
        ProviderError: The endpoint or the key failed, or no configured conversation exists.
    """
    ids = id_list(conversation_ids, PROVIDER, "conversation_ids")
    http = connect(api_key, base_url)
    tally = NotFoundTally(http, "conversation")
    for cid in ids:
        if (error := probe_conversation(http, cid)) is not None:
            tally.add(cid, error)
    missing = tally.settle(len(ids))
    found = f"key accepted, {len(ids) - len(missing)} of {len(ids)} configured conversations exist"
    return CheckResult(http.base_url, found, missing_ids_warning(PROVIDER, "conversation_ids", ids, missing))


SPEC: Final = ProviderSpec(
    name=PROVIDER,
    title="example-ai",
    source=example_ai,
    check=check,
    census=census,
    discovery=Discovery.CONFIGURED_CONVERSATIONS,
    ids_setting="conversation_ids",
    end_user_ids=True,
    api="`GET /chat/history` per conversation, newest first, paged back by a timestamp cursor",
    signals=frozenset({Signal.USER_IDS, Signal.MODEL_LATENCY}),
)
