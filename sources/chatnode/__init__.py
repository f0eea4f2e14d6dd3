"""ChatNode: conversations ("leads") per bot, then their chats, fetched by batches of session ids.

Incremental by lookback: the API has no "updated since", so a conversation that gains messages
later can only be caught by re-reading it. A run lists every lead of every configured bot (one
request per bot) and re-reads the chats of conversations that are new, or whose last activity
falls within ``lookback_days`` of the newest activity seen for that bot, and nothing else. Only
chats past each conversation's loaded frontier are written, so a rerun rewrites nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Final

import dlt
from dlt.common.configuration import with_config
from dlt.sources import DltResource

from ..common.batching import Extraction, emits_canonical_rows
from ..common.deletions import compare_listing
from ..common.errors import ConfigurationError, NotFoundError, ProviderError
from ..common.fanout import fan_out
from ..common.http import ProviderHttp
from ..common.isolation import CONVERSATION_ERRORS, Breaker, NotFoundTally, SyncErrors, cause_of
from ..common.observer import RunObserver
from ..common.provider import Discovery, ProviderSpec, Signal
from ..common.rows import TableRows, as_conversations, as_messages
from ..common.settings import CheckResult, id_list, where_to_set
from ..common.source_run import SourceRun
from ..common.timeutil import DEFAULT_FUTURE_TOLERANCE_HOURS, FutureGuard, Window, parse_timestamp
from ..common.wording import counted
from .audit import census
from .helpers import (
    DUPLICATES,
    BotProgress,
    ChatBatch,
    Frontier,
    connect,
    fetch_batch,
    list_leads,
    to_conversation_row,
    to_message_row,
)
from .settings import DEFAULT_BASE_URL, DEFAULT_BATCH_SIZE, DEFAULT_LOOKBACK_DAYS, DEFAULT_WORKERS, PROVIDER


@dlt.source(name=PROVIDER, max_table_nesting=0)
def chatnode(
    bot_ids: Any = dlt.config.value,
    api_key: str = dlt.secrets.value,
    base_url: str = DEFAULT_BASE_URL,
    lookback_days: float = DEFAULT_LOOKBACK_DAYS,
    batch_size: int = DEFAULT_BATCH_SIZE,
    max_workers: int = DEFAULT_WORKERS,
    future_tolerance_hours: float = DEFAULT_FUTURE_TOLERANCE_HOURS,
    run_with: SourceRun | None = None,
) -> DltResource:
    """ChatNode conversations and chats of the configured bots.

    Args:
        bot_ids: Bots to sync (the API cannot list them).
        api_key: Sent as ``Authorization: Bearer <key>``.
        base_url: API root.
        lookback_days: Conversations active this recently are re-read for new chats.
        batch_size: Session ids per ``get-chats`` request.
        max_workers: ``get-chats`` requests in flight at once.
        future_tolerance_hours: Timestamps later than now plus this move no frontier or data clock.
        run_with: How the engine runs it (observer, privacy policy, warehouse ledger, backfill or repair).

    Returns:
        The resource filling ``conversations`` and ``messages``.
    """
    ids = id_list(bot_ids, PROVIDER, "bot_ids")
    if batch_size < 1 or lookback_days < 0:
        raise ConfigurationError(
            f"{PROVIDER}: batch_size must be ≥ 1 and lookback_days ≥ 0; set {where_to_set(PROVIDER, 'batch_size')} "
            f"and {where_to_set(PROVIDER, 'lookback_days')}"
        )
    given = (run_with or SourceRun()).started(PROVIDER)
    run = ChatnodeRun(
        connect(api_key, base_url, given.observer),
        given.observer,
        timedelta(days=lookback_days),
        batch_size,
        max_workers,
        FutureGuard.hours(future_tolerance_hours, given.observer.warn),
        given.window,
        given.repair,
    )
    return leads_and_chats(run, ids, extraction=given.extraction)


@dataclass
class ChatnodeRun:
    """What every step of one ChatNode run shares."""

    http: ProviderHttp
    observer: RunObserver
    lookback: timedelta
    batch_size: int
    max_workers: int
    guard: FutureGuard
    backfill: Window | None
    repair: frozenset[str] = frozenset()  # the whole of these conversations only
    breaker: Breaker = field(default_factory=Breaker)


@dlt.resource(name="conversations")
@emits_canonical_rows
def leads_and_chats(run: ChatnodeRun, bot_ids: list[str], *, extraction: Extraction) -> Iterator[TableRows]:
    """Leads and chats of every bot.

    A bot that cannot be listed (403, 404, down) fails alone; a conversation that fails is
    skipped, recorded in ``sync_errors`` and re-read on every run until it loads.
    """
    state: dict[str, Any] = dlt.current.resource_state().setdefault("bots", {})
    with extraction.ledger() as ledger:
        errors = SyncErrors(PROVIDER, run.observer, ledger)
        missing = NotFoundTally(run.http, "bot")
        for bot_id in bot_ids:
            if run.breaker.tripped:
                break
            try:
                listing = list_leads(run.http, bot_id)
            except NotFoundError as error:
                missing.add(bot_id, error)
                continue
            except CONVERSATION_ERRORS as exc:  # this bot only; a credentials error fails them all
                run.observer.fail(f"bot {bot_id}: {cause_of(exc)}")
                continue
            if listing.nameless:
                run.observer.skip(
                    f"bot {bot_id}", f"{counted(listing.nameless, 'listed conversation')} without session_id"
                )
            for session_id, cause in listing.rejected.items():
                errors.failed(bot_id, session_id, cause)
            if run.backfill is not None:
                leads = [lead for lead in listing.leads if not run.repair or lead["session_id"] in run.repair]
                yield from _backfill(run, bot_id, leads, run.backfill)
                continue
            flags = ledger.conversation_flags(PROVIDER, bot_id)
            if not listing.nameless:  # complete: a loaded conversation it leaves out is deleted
                listed = {str(lead["session_id"]) for lead in listing.leads} | set(listing.rejected)
                compare_listing(run.observer.deletions, bot_id, flags, listed)
            progress = BotProgress.from_state(state.get(bot_id))
            absent = {str(lead["session_id"]) for lead in listing.leads} - flags.keys()
            yield from _incremental(run, bot_id, listing.leads, progress, errors, absent)
            state[bot_id] = progress.pruned(run.lookback).to_state()
        for bot_id in missing.settle(len(bot_ids)):
            run.observer.fail(unknown_bot(bot_id))
        yield errors.finish(run.breaker)
        yield from run.observer.deletions.tables()


def unknown_bot(bot_id: str) -> str:
    """The failure of a configured bot the API does not know (run and check say the same)."""
    return f"bot {bot_id}: not found; check {where_to_set(PROVIDER, 'bot_ids')}"


def _chats_by_conversation(
    run: ChatnodeRun, bot_id: str, leads: list[dict[str, Any]]
) -> Iterator[tuple[dict[str, Any], list[dict[str, Any]] | ProviderError]]:
    """Each lead with its chats (or why they could not be read), fetched in concurrent batches."""
    size = run.batch_size
    batches = [leads[i : i + size] for i in range(0, len(leads), size)]

    def fetch(batch: list[dict[str, Any]]) -> ChatBatch:
        return fetch_batch(run.http, bot_id, [str(lead["session_id"]) for lead in batch], run.breaker)

    for batch, outcome in fan_out(batches, fetch, run.max_workers, breaker=run.breaker):
        assert isinstance(outcome, ChatBatch)  # failures are isolated inside the batch
        if outcome.duplicates:
            run.observer.count(DUPLICATES, outcome.duplicates)
            run.observer.warn(f"bot {bot_id}: {counted(outcome.duplicates, 'duplicate chat id')} in one response")
        for lead in batch:
            session_id = str(lead["session_id"])
            if session_id in outcome.failed:
                yield lead, outcome.failed[session_id]
            elif session_id in outcome.chats or not run.breaker.tripped:
                yield lead, outcome.chats.get(session_id, [])


def _incremental(
    run: ChatnodeRun,
    bot_id: str,
    leads: list[dict[str, Any]],
    progress: BotProgress,
    errors: SyncErrors,
    absent: set[str],
) -> Iterator[Any]:
    """New and recently active leads, plus ``absent`` ones (listed, not in the warehouse), read whole.

    A lead absent from the warehouse was dropped (``deletes = "drop"``) and restored by the
    provider, or never loaded: its frontier no longer describes what the warehouse holds.
    """
    chosen = progress.to_reread(leads, run.lookback, also=errors.unresolved | absent)
    for lead in leads:
        progress.saw(parse_timestamp(lead["created_at"]), run.guard, f"conversation {lead['session_id']}")
    for lead, chats in _chats_by_conversation(run, bot_id, chosen):
        session_id = str(lead["session_id"])
        if isinstance(chats, ProviderError):
            errors.failed(bot_id, session_id, chats)
            continue
        errors.loaded(bot_id, session_id)
        frontier = None if session_id in absent else progress.recent.get(session_id)
        rows = [to_message_row(bot_id, c, n) for n, c in enumerate(chats) if frontier is None or frontier.is_new(c)]
        if rows:
            run.observer.on_rows("messages", len(rows))
            yield as_messages(rows)
        if frontier is None or rows:
            run.observer.on_rows("conversations", 1)
            yield as_conversations([to_conversation_row(bot_id, lead)])
        where = f"conversation {session_id}"
        progress.recent[session_id] = Frontier.after(chats, parse_timestamp(lead["created_at"]), run.guard, where)
        progress.saw(progress.recent[session_id].last, run.guard, where)


def _backfill(run: ChatnodeRun, bot_id: str, leads: list[dict[str, Any]], window: Window) -> Iterator[Any]:
    # a conversation started before the window may have chats inside it; one started after may not
    chosen = [lead for lead in leads if window.until is None or parse_timestamp(lead["created_at"]) < window.until]
    for lead, chats in _chats_by_conversation(run, bot_id, chosen):
        if isinstance(chats, ProviderError):
            run.observer.skip(f"bot {bot_id}, conversation {lead['session_id']}", cause_of(chats))
            continue
        rows = [
            to_message_row(bot_id, c, n) for n, c in enumerate(chats) if window.admits(parse_timestamp(c["created_at"]))
        ]
        if rows:
            run.observer.on_rows("messages", len(rows))
            run.observer.on_rows("conversations", 1)
            yield as_messages(rows)
            yield as_conversations([to_conversation_row(bot_id, lead)])


@with_config(sections=("sources", PROVIDER))
def check(
    bot_ids: Any = dlt.config.value, api_key: str = dlt.secrets.value, base_url: str = DEFAULT_BASE_URL
) -> CheckResult:
    """Proves the setup without loading: the key is accepted and every bot lists its conversations.

    Returns:
        The base URL in use and what was found.

    Raises:
        ProviderError: The key or the endpoint failed.
        ConfigurationError: A configured bot does not exist (a run fails that bot too).
    """
    ids = id_list(bot_ids, PROVIDER, "bot_ids")
    http = connect(api_key, base_url)
    tally, leads = NotFoundTally(http, "bot"), 0
    for bot in ids:
        try:
            leads += len(list_leads(http, bot).leads)
        except NotFoundError as error:
            tally.add(bot, error)
    unknown = tally.settle(len(ids))
    if unknown:
        raise ConfigurationError(f"{PROVIDER}: " + "; ".join(unknown_bot(bot) for bot in unknown))
    return CheckResult(http.base_url, f"key accepted, {len(ids)} bots, {leads:,} conversations")


SPEC: Final = ProviderSpec(
    name=PROVIDER,
    title="ChatNode",
    source=chatnode,
    check=check,
    census=census,
    discovery=Discovery.CONFIGURED_BOTS,
    ids_setting="bot_ids",
    end_user_ids=False,
    api="`POST` for a bot's conversation ids (leads), then `POST` for their chats in batches",
    signals=frozenset({Signal.HANDOFF}),
)
