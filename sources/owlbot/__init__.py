"""OwlBot: bots (``POST /login/checkToken``), their sessions, then the messages of each session.

Incremental by session: nothing but ``messagenbr`` (the number of user messages) tells that a
session has grown, so a run lists every session of every bot (one request per bot) and reads the
messages only of sessions that are new or whose ``messagenbr`` differs from the one loaded. The
loaded ``messagenbr`` is read back from the ``conversations`` table, so dlt state does not grow
with history. One addition: a session whose last loaded message is the user's is re-read until a
reply arrives (for ``reply_wait_hours``), because a reply does not change ``messagenbr``.
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
from ..common.ledger import Ledger
from ..common.observer import RunObserver
from ..common.provider import Discovery, ProviderSpec, Signal
from ..common.rows import TableRows, as_citations, as_conversations, as_messages, as_owners
from ..common.settings import CheckResult, id_list, where_to_set
from ..common.source_run import SourceRun
from ..common.timeutil import DEFAULT_FUTURE_TOLERANCE_HOURS, FutureGuard, Window
from ..common.wording import counted
from .audit import census
from .helpers import (
    DUPLICATES,
    AwaitingReplies,
    MessagesRead,
    account_bots,
    connect,
    discover_bots,
    knowledge_citations,
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
    chatbot_ids: Any = None,
    max_workers: int = DEFAULT_WORKERS,
    reply_wait_hours: float = DEFAULT_REPLY_WAIT_HOURS,
    future_tolerance_hours: float = DEFAULT_FUTURE_TOLERANCE_HOURS,
    run_with: SourceRun | None = None,
) -> DltResource:
    """OwlBot sessions and their messages.

    Args:
        api_key: Sent as the raw ``Authorization`` header (no ``Bearer``).
        base_url: API root.
        chatbot_ids: Chatbot uuids; when absent, every bot of the account (``checkToken``).
        max_workers: Sessions read concurrently.
        reply_wait_hours: How long a session whose last message is the user's is re-read
            while waiting for the reply.
        future_tolerance_hours: Timestamps later than now plus this move no data clock.
        run_with: How the engine runs it (observer, privacy policy, warehouse ledger, backfill or repair).

    Returns:
        The resource filling ``conversations`` and ``messages``.
    """
    given = (run_with or SourceRun()).started(PROVIDER)
    bots = id_list(chatbot_ids, PROVIDER, "chatbot_ids", required=False)
    run = OwlbotRun(
        connect(api_key, base_url, given.observer),
        given.observer,
        max_workers,
        timedelta(hours=reply_wait_hours),
        FutureGuard.hours(future_tolerance_hours, given.observer.warn),
        given.window,
        given.repair,
    )
    return sessions(run, bots, extraction=given.extraction)


@dataclass(frozen=True)
class OwlbotRun:
    """What every step of one OwlBot run shares."""

    http: ProviderHttp
    observer: RunObserver
    max_workers: int
    reply_wait: timedelta
    guard: FutureGuard
    backfill: Window | None
    repair: frozenset[str] = frozenset()  # the whole of these sessions only
    bot_names: dict[str, str | None] = field(default_factory=dict)  # from checkToken, for conversations.bot_name


@dlt.resource(name="sessions")
@emits_canonical_rows
def sessions(run: OwlbotRun, chatbot_ids: list[str], *, extraction: Extraction) -> Iterator[TableRows]:
    """Sessions and messages of every bot, one bot after the other.

    A bot whose session list cannot be read fails alone; a session that fails is skipped and
    recorded in ``sync_errors``, and is read again next run (its change marker was not written).
    """
    state: dict[str, Any] = dlt.current.resource_state().setdefault("bots", {})
    breaker = Breaker()
    with extraction.ledger() as ledger:
        errors = SyncErrors(PROVIDER, run.observer, ledger)
        bots, missing = _bots(run, chatbot_ids, ledger), NotFoundTally(run.http, "chatbot")
        for chatbot_uuid in bots:
            if breaker.tripped:
                break
            yield from _bot_sessions(run, chatbot_uuid, state, ledger, errors, breaker, missing)
        for chatbot_uuid in missing.settle(len(bots)):
            run.observer.fail(f"chatbot {chatbot_uuid} not found; check {where_to_set(PROVIDER, 'chatbot_ids')}")
        yield errors.finish(breaker)
        yield from run.observer.deletions.tables()


def _bots(run: OwlbotRun, chatbot_ids: list[str], ledger: Ledger) -> list[str]:
    """The bots to read, their names noted in ``run``: ``checkToken`` lists both.

    Configured bots whose names the warehouse already holds cost no ``checkToken`` request; a bot
    new to it costs one, whose failure only leaves the names out (the sessions still load).
    """
    if not chatbot_ids:
        run.bot_names.update(account_bots(run.http))
        return list(run.bot_names)
    named = ledger.bot_names(PROVIDER)
    run.bot_names.update(named)
    if any(bot not in named for bot in chatbot_ids):
        try:
            run.bot_names.update(account_bots(run.http))
        except CONVERSATION_ERRORS as exc:
            run.observer.warn(f"the bots' names are left out: checkToken failed ({cause_of(exc)})")
    return chatbot_ids


def _bot_sessions(
    run: OwlbotRun,
    chatbot_uuid: str,
    state: dict[str, Any],
    ledger: Ledger,
    errors: SyncErrors,
    breaker: Breaker,
    missing: NotFoundTally,
) -> Iterator[Any]:
    """One bot: its listing, then the sessions to read. The listing is released before the next bot's."""
    try:
        listing = list_sessions(run.http, chatbot_uuid)
    except NotFoundError as error:
        missing.add(chatbot_uuid, error)
        return
    except CONVERSATION_ERRORS as exc:  # this bot only; a credentials error fails them all
        run.observer.fail(f"chatbot {chatbot_uuid}: {cause_of(exc)}")
        return
    if listing.nameless:
        run.observer.skip(
            f"chatbot {chatbot_uuid}", f"{counted(listing.nameless, 'listed session')} without session_uuid"
        )
    for bad in listing.rejected:
        errors.failed(chatbot_uuid, bad.session_uuid, bad.cause)
    awaiting = AwaitingReplies.from_state(state.get(chatbot_uuid), run.guard)
    if run.backfill is not None:
        chosen, recheck_only = _backfill_sessions(listing.sessions, run.backfill), set[str]()
        if run.repair:
            chosen = [s for s in chosen if s["session_uuid"] in run.repair]
    else:
        loaded = ledger.message_counts(PROVIDER, chatbot_uuid)
        chosen, recheck_only = _changed_sessions(listing.sessions, loaded, awaiting)
        if not listing.nameless:  # complete: a loaded session it leaves out is deleted
            listed = {s["session_uuid"] for s in listing.sessions} | {bad.session_uuid for bad in listing.rejected}
            flags = ledger.conversation_flags(PROVIDER, chatbot_uuid)
            compare_listing(run.observer.deletions, chatbot_uuid, flags, listed)
    yield from _load_sessions(run, chatbot_uuid, chosen, awaiting, recheck_only, errors, breaker)
    if run.backfill is None:
        awaiting.observe_listing(listing.sessions)
        state[chatbot_uuid] = awaiting.pruned(run.reply_wait).to_state()


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
    run: OwlbotRun,
    chatbot_uuid: str,
    chosen: list[dict[str, Any]],
    awaiting: AwaitingReplies,
    recheck_only: set[str],
    errors: SyncErrors,
    breaker: Breaker,
) -> Iterator[Any]:
    def read(session: dict[str, Any]) -> MessagesRead:
        return read_messages(run.http, chatbot_uuid, session["session_uuid"])

    reads = fan_out(chosen, read, run.max_workers, tolerate=CONVERSATION_ERRORS, breaker=breaker)
    for session, outcome in reads:
        session_uuid = session["session_uuid"]
        if isinstance(outcome, NotFoundError):  # deleted between listing and reading
            run.observer.warn(f"session {session_uuid} vanished before it was read; skipped")
            continue
        if isinstance(outcome, ProviderError):
            errors.failed(chatbot_uuid, session_uuid, outcome)
            continue
        errors.loaded(chatbot_uuid, session_uuid)
        if outcome.duplicates:
            run.observer.count(DUPLICATES, outcome.duplicates)
            run.observer.warn(f"session {session_uuid}: {counted(outcome.duplicates, 'duplicate id')} in one response")
        if session_uuid in recheck_only and awaiting.still_waiting(session_uuid, outcome.records):
            continue  # re-read for a reply that has not come: nothing to rewrite
        yield from _session_rows(run, chatbot_uuid, session, outcome.records, awaiting)


def _session_rows(
    run: OwlbotRun,
    chatbot_uuid: str,
    session: dict[str, Any],
    records: list[dict[str, Any]],
    awaiting: AwaitingReplies,
) -> Iterator[Any]:
    if run.backfill is not None:  # no conversations row below: name the end user for the erasure filter
        owner = to_conversation_row(chatbot_uuid, session)
        yield as_owners([{key: owner[key] for key in ("provider", "conversation_id", "user_id")}])
    rows, anomalies = to_message_rows(chatbot_uuid, session["session_uuid"], records, run.backfill)
    for name, amount in anomalies.items():
        run.observer.count(name, amount)
    if rows:
        run.observer.on_rows("messages", len(rows))
        yield as_messages(rows)
        citations = knowledge_citations(rows)
        if citations:
            run.observer.on_rows("knowledge_citations", len(citations))
            yield as_citations(citations)
    if run.backfill is None or run.repair:  # the row carries messagenbr, the change marker: only after a full read
        awaiting.observe_messages(session["session_uuid"], records)
        run.observer.on_rows("conversations", 1)
        yield as_conversations([to_conversation_row(chatbot_uuid, session, run.bot_names.get(chatbot_uuid))])


@with_config(sections=("sources", PROVIDER))
def check(api_key: str = dlt.secrets.value, base_url: str = DEFAULT_BASE_URL, chatbot_ids: Any = None) -> CheckResult:
    """Proves the setup without loading: the key is accepted, the bots exist, their sessions list.

    Returns:
        The base URL in use and what was found.
    """
    http = connect(api_key, base_url)
    account = discover_bots(http)
    wanted = id_list(chatbot_ids, PROVIDER, "chatbot_ids", required=False) or account
    unknown = [bot for bot in wanted if bot not in account]
    if unknown:
        raise ConfigurationError(
            f"{PROVIDER}: chatbot {', '.join(unknown)} not found in this account; "
            f"check {where_to_set(PROVIDER, 'chatbot_ids')}"
        )
    sessions = sum(len(list_sessions(http, bot).sessions) for bot in wanted)
    return CheckResult(http.base_url, f"key accepted, {len(wanted)} bots, {sessions:,} sessions")


SPEC: Final = ProviderSpec(
    name=PROVIDER,
    title="OwlBot",
    source=owlbot,
    check=check,
    census=census,
    discovery=Discovery.LISTED_BOTS,
    ids_setting="chatbot_ids",
    end_user_ids=True,
    api="`checkToken` lists the bots, then sessions per bot and messages per session",
    signals=frozenset({Signal.HANDOFF, Signal.USER_IDS, Signal.KNOWLEDGE, Signal.AUDIENCE}),
)
