"""Intercom (and its AI agent, Fin): the conversations a search finds changed, each read whole.

Incremental by ``updated_at``: state keeps the newest second read (the cursor). A run searches the
conversations updated from that second on (Intercom's ``>`` includes it, so the cursor's own second
is read again: many conversations share a second, and a part written in the second of the one before
does not move ``updated_at``). Each one found is read whole (``GET /conversations/{id}``) unless the
warehouse already holds it at that second with as many parts; every part is written (merged on its
id, so a rerun duplicates nothing and a redaction reaches the warehouse). A window holding more than
``MAX_WINDOW_RESULTS`` conversations is split in two, and so on. Conversations that failed in an
earlier run (``sync_errors``) are read again. Deleted conversations cannot be seen by a search:
``chatsync audit`` lists every id and finds them.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Final

import dlt
from dlt.common.configuration import with_config
from dlt.sources import DltResource

from ..common.batching import Extraction, emits_canonical_rows
from ..common.errors import NotFoundError, ProviderError
from ..common.fanout import fan_out
from ..common.http import ProviderHttp
from ..common.isolation import CONVERSATION_ERRORS, Breaker, SyncErrors
from ..common.ledger import Ledger
from ..common.observer import RunObserver
from ..common.provider import Discovery, ProviderSpec, Signal
from ..common.rows import TableRows, as_citations, as_conversations, as_messages
from ..common.settings import CheckResult
from ..common.source_run import SourceRun
from ..common.timeutil import Window
from ..common.wording import counted
from .audit import census
from .helpers import (
    CAPPED,
    PREVIEWS,
    Changed,
    ConversationRows,
    connect,
    contacts_by_email,
    list_conversations,
    read_conversation,
    search_changed,
    search_total,
    to_rows,
)
from .settings import (
    DEFAULT_API_VERSION,
    DEFAULT_BASE_URL,
    DEFAULT_BOT_LABEL,
    DEFAULT_WORKERS,
    MAX_WINDOW_RESULTS,
    PROVIDER,
)


@dlt.source(name=PROVIDER, max_table_nesting=0)
def intercom(
    api_key: str = dlt.secrets.value,
    base_url: str = DEFAULT_BASE_URL,
    api_version: str = DEFAULT_API_VERSION,
    bot_id: str = DEFAULT_BOT_LABEL,
    max_workers: int = DEFAULT_WORKERS,
    run_with: SourceRun | None = None,
) -> DltResource:
    """Intercom conversations and their parts.

    Args:
        api_key: The access token, sent as ``Authorization: Bearer``.
        base_url: API root: ``https://api.intercom.io``, or the EU or AU host.
        api_version: Sent as ``Intercom-Version`` (2.11 or later).
        bot_id: The label of this workspace in ``bot_id`` (Intercom has no bots).
        max_workers: Conversations read concurrently.
        run_with: How the engine runs it (observer, privacy policy, warehouse ledger, backfill or repair).

    Returns:
        The resource filling ``conversations``, ``messages`` and ``knowledge_citations``.
    """
    given = (run_with or SourceRun()).started(PROVIDER)
    run = IntercomRun(
        connect(api_key, base_url, api_version, given.observer), given.observer, bot_id, max_workers, given.window
    )
    return conversations(run, sorted(given.repair), extraction=given.extraction)


@dataclass(frozen=True)
class IntercomRun:
    """What every step of one Intercom run shares."""

    http: ProviderHttp
    observer: RunObserver
    bot_id: str
    max_workers: int
    backfill: Window | None


@dlt.resource(name="conversations")
@emits_canonical_rows
def conversations(run: IntercomRun, repair: list[str], *, extraction: Extraction) -> Iterator[TableRows]:
    """The conversations changed since the cursor (or those a repair names), each read whole."""
    state: dict[str, Any] = dlt.current.resource_state()
    breaker = Breaker()
    with extraction.ledger() as ledger:
        errors = SyncErrors(PROVIDER, run.observer, ledger)
        if repair:
            to_read, newest = repair, None
        else:
            to_read, newest = _changed(run, int(state.get("updated_at", 0)), ledger, errors)
        yield from _read(run, to_read, errors, breaker)
        if newest is not None and run.backfill is None and not breaker.tripped:
            state["updated_at"] = newest  # read again next run: a second is complete only once it is past
        yield errors.finish(breaker)
        yield from run.observer.deletions.tables()


def _changed(run: IntercomRun, cursor: int, ledger: Ledger, errors: SyncErrors) -> tuple[list[str], int | None]:
    """The conversations to read, and the newest ``updated_at`` seen (the next cursor).

    A backfill searches the conversations updated since its start and created before its end (those
    that can hold a message of the window); an incremental run everything from the cursor's second on,
    and skips the conversations of that second the warehouse holds with as many parts.
    """
    since, created_before = cursor, None
    if run.backfill is not None:
        since = int(run.backfill.since.timestamp()) if run.backfill.since else 0
        created_before = int(run.backfill.until.timestamp()) if run.backfill.until else None
    found: dict[str, Changed] = {}
    for changed in _windows(run.http, since, None, created_before):
        held = found.get(changed.conversation_id)
        if held is None or changed.updated_at >= held.updated_at:
            found[changed.conversation_id] = changed
    loaded = ledger.message_counts(PROVIDER, run.bot_id)
    fresh = [
        c.conversation_id
        for c in found.values()
        if run.backfill is not None or c.updated_at > cursor or loaded.get(c.conversation_id) != c.parts
    ]
    retried = [cid for cid in sorted(errors.unresolved) if cid not in found]
    newest = max((c.updated_at for c in found.values()), default=cursor)
    return fresh + retried, newest


def _windows(http: ProviderHttp, since: int, until: int | None, created_before: int | None) -> Iterator[Changed]:
    """Every conversation updated in ``[since, until]`` (``until`` None: open), a window too large for one
    search split in halves (the last half stays open: a provider's clock may run ahead of this one's)."""
    total = search_total(http, since, until, created_before)
    upper = until if until is not None else max(int(time.time()), since + 2)
    if total > MAX_WINDOW_RESULTS and upper - since > 1:
        middle = (since + upper) // 2
        yield from _windows(http, since, middle, created_before)
        yield from _windows(http, middle + 1, until, created_before)
        return
    yield from search_changed(http, since, until, created_before)


def _read(run: IntercomRun, ids: list[str], errors: SyncErrors, breaker: Breaker) -> Iterator[Any]:
    def read(conversation_id: str) -> dict[str, Any]:
        return read_conversation(run.http, conversation_id)

    capped, previews = [], 0
    for conversation_id, outcome in fan_out(ids, read, run.max_workers, tolerate=CONVERSATION_ERRORS, breaker=breaker):
        if isinstance(outcome, NotFoundError):  # deleted between the search and the read
            run.observer.warn(f"conversation {conversation_id} vanished before it was read; skipped")
            continue
        if isinstance(outcome, ProviderError):
            errors.failed(None, conversation_id, outcome)
            continue
        errors.loaded(None, conversation_id)
        rows = to_rows(outcome, run.bot_id)
        capped += [conversation_id] if rows.capped else []
        previews += rows.preview
        yield from _emit(run, rows)
    if capped:
        run.observer.count(CAPPED, len(capped))
        shown = ", ".join(capped[:10]) + (" …" if len(capped) > 10 else "")
        run.observer.warn(f"{counted(len(capped), 'conversation')} longer than the API returns (500 parts): {shown}")
    if previews:
        run.observer.count(PREVIEWS, previews)


def _emit(run: IntercomRun, rows: ConversationRows) -> Iterator[Any]:
    messages = rows.messages
    if run.backfill is not None and not run.backfill.whole:
        messages = [m for m in messages if run.backfill.admits(m["created_at"])]
    if messages:
        run.observer.on_rows("messages", len(messages))
        yield as_messages(messages)
    if rows.citations:
        run.observer.on_rows("knowledge_citations", len(rows.citations))
        yield as_citations(rows.citations)
    run.observer.on_rows("conversations", 1)
    yield as_conversations([rows.conversation])


@with_config(sections=("sources", PROVIDER))
def check(
    api_key: str = dlt.secrets.value, base_url: str = DEFAULT_BASE_URL, api_version: str = DEFAULT_API_VERSION
) -> CheckResult:
    """Proves the setup without loading: the token is accepted under the pinned version, conversations list.

    Returns:
        The base URL in use and what was found.
    """
    http = connect(api_key, base_url, api_version)
    listed = sum(1 for _ in _first_page(http))
    return CheckResult(
        http.base_url, f"token accepted (Intercom-Version {api_version}), conversations listed: {listed}"
    )


@with_config(sections=("sources", PROVIDER))
def find_users(
    email: str,
    api_key: str = dlt.secrets.value,
    base_url: str = DEFAULT_BASE_URL,
    api_version: str = DEFAULT_API_VERSION,
) -> list[str]:
    """The contact ids Intercom holds for an e-mail address, for ``chatsync forget --email``.

    Returns:
        Contact ids (none when no contact has it).
    """
    return contacts_by_email(connect(api_key, base_url, api_version), email)


def _first_page(http: ProviderHttp) -> Iterator[dict[str, Any]]:
    for n, record in enumerate(list_conversations(http)):
        if n >= 150:
            return
        yield record


SPEC: Final = ProviderSpec(
    name=PROVIDER,
    title="Intercom",
    source=intercom,
    check=check,
    census=census,
    discovery=Discovery.LISTED_CONVERSATIONS,
    ids_setting=None,
    end_user_ids=True,
    api="`POST /conversations/search` by `updated_at`, then `GET /conversations/{id}` (Fin's fields included)",
    signals=frozenset({Signal.HANDOFF, Signal.USER_IDS, Signal.KNOWLEDGE}),
    find_users=find_users,
)
