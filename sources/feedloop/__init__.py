"""Feedloop: ``GET /widget/{convo_id}/chats`` returns a conversation's whole history in one response.

Not incremental on the wire: the API has no paging and no "since", so every run reads each
configured conversation once. It is incremental in the warehouse: state keeps, per conversation,
how many items are loaded and a fingerprint of their keys, and only items past that prefix are
written. So a rerun rewrites nothing, and the time a timestamp-less message was first seen, which
stands in for its ``created_at``, is never rewritten. If a history stops being an extension of
what was loaded, the items whose keys the warehouse does not hold are loaded, with a warning.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
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
from ..common.ledger import Ledger
from ..common.observer import RunObserver
from ..common.provider import Discovery, ProviderSpec
from ..common.rows import TableRows, as_conversations, as_messages, conversation_row
from ..common.settings import CheckResult, id_list, missing_ids_warning
from ..common.source_run import SourceRun
from ..common.timeutil import Window
from ..common.wording import counted
from .audit import census
from .helpers import MappedItem, connect, history_digest, map_item, message_key, read_history, to_message_row
from .settings import DEFAULT_BASE_URL, DEFAULT_WORKERS, PROVIDER

UNRECOGNISED = "items in an unrecognised shape (loaded with role unknown, raw kept)"
UNKNOWN_ROLE = "messages with an unrecognised role (loaded as unknown)"
NO_TIME = "messages without a timestamp (created_at = first seen)"
DUPLICATES = "duplicate message ids within one history (first copy kept)"


@dlt.source(name=PROVIDER, max_table_nesting=0)
def feedloop(
    conversation_ids: Any = dlt.config.value,
    api_key: str = dlt.secrets.value,
    base_url: str = DEFAULT_BASE_URL,
    max_workers: int = DEFAULT_WORKERS,
    run_with: SourceRun | None = None,
) -> DltResource:
    """Feedloop histories of the configured conversations.

    Args:
        conversation_ids: Conversations to sync (the API cannot list them).
        api_key: The app token, sent as the ``Token`` header.
        base_url: API root.
        max_workers: Conversations read concurrently.
        run_with: How the engine runs it (observer, privacy policy, warehouse ledger, backfill or repair).

    Returns:
        The resource filling ``conversations`` and ``messages``.
    """
    run = (run_with or SourceRun()).started(PROVIDER)
    ids = sorted(run.repair) or id_list(conversation_ids, PROVIDER, "conversation_ids")
    http = connect(api_key, base_url, run.observer)
    return histories(http, ids, run.observer, max_workers, run.window, extraction=run.extraction)


@dlt.resource(name="chats")
@emits_canonical_rows
def histories(
    http: ProviderHttp,
    conversation_ids: list[str],
    observer: RunObserver,
    max_workers: int,
    backfill: Window | None,
    *,
    extraction: Extraction,
) -> Iterator[TableRows]:
    """Items of every configured conversation not loaded yet, and new conversations' rows."""
    state: dict[str, Any] = dlt.current.resource_state().setdefault("conversations", {})
    first_seen = datetime.now(UTC)

    def read(convo_id: str) -> list[Any]:
        return read_history(http, convo_id)

    breaker = Breaker()
    with extraction.ledger() as ledger:
        errors = SyncErrors(PROVIDER, observer, ledger)
        missing, answered = NotFoundTally(http, "conversation"), list[str]()
        loaded = ledger.conversation_flags(PROVIDER)
        reads = fan_out(conversation_ids, read, max_workers, tolerate=CONVERSATION_ERRORS, breaker=breaker)
        yield from _sync(
            _as_new_when_absent(reads, state, absent={cid for cid in state if cid not in loaded}),
            state,
            ledger,
            errors,
            missing,
            observer,
            first_seen,
            backfill,
            answered,
        )
        gone = missing.settle(len(conversation_ids))
        for convo_id in classify_not_found(observer.deletions, gone, loaded, known=state.keys()):
            observer.warn(f"conversation {convo_id} not found; skipped (never loaded: a typo, or deleted)")
        note_returned(observer.deletions, answered, loaded)
        yield errors.finish(breaker)
        yield from observer.deletions.tables()


def _as_new_when_absent(
    reads: Iterator[tuple[str, list[Any] | ProviderError]], state: dict[str, Any], absent: set[str]
) -> Iterator[tuple[str, list[Any] | ProviderError]]:
    """Forgets the progress of conversations that answer but are not in the warehouse, so they load whole.

    Such a conversation was dropped (``deletes = "drop"``) and restored by the provider, or its
    rows were removed by hand. While it answers 404, its progress stays: it was loaded, not a typo.
    """
    for convo_id, outcome in reads:
        if convo_id in absent and not isinstance(outcome, ProviderError):
            state.pop(convo_id, None)
        yield convo_id, outcome


def _sync(
    reads: Iterator[tuple[str, list[Any] | ProviderError]],
    state: dict[str, Any],
    ledger: Ledger,
    errors: SyncErrors,
    missing: NotFoundTally,
    observer: RunObserver,
    first_seen: datetime,
    backfill: Window | None,
    answered: list[str],
) -> Iterator[Any]:
    """Each conversation's new items; ``answered`` collects the conversations read."""
    for convo_id, outcome in reads:
        if isinstance(outcome, NotFoundError):
            missing.add(convo_id, outcome)
            continue
        if isinstance(outcome, ProviderError):
            errors.failed(None, convo_id, outcome)
            continue
        errors.loaded(None, convo_id)
        answered.append(convo_id)
        mapped = [map_item(item) for item in outcome]
        keys = [message_key(convo_id, n, item, m) for n, (item, m) in enumerate(zip(outcome, mapped, strict=True))]
        if backfill is not None and backfill.whole:  # a repair: what the warehouse lacks, timeless items too
            fresh = _not_loaded(convo_id, keys, None, ledger, observer)
        elif backfill is not None:
            fresh = [n for n, m in enumerate(mapped) if backfill.admits(m.created_at)]
            observer.count(
                "items without a timestamp, which no backfill window can select",
                sum(m.created_at is None for m in mapped),
            )
        else:
            fresh = _not_loaded(convo_id, keys, state.get(convo_id), ledger, observer)
        yield from _emit(convo_id, outcome, mapped, keys, fresh, first_seen, observer, new=convo_id not in state)
        if backfill is None:
            state[convo_id] = {"n": len(keys), "h": history_digest(keys)}


def _not_loaded(
    convo_id: str, keys: list[str], loaded: dict[str, Any] | None, ledger: Ledger, observer: RunObserver
) -> list[int]:
    """Positions of the items to write: past the loaded prefix, or absent from the warehouse."""
    if loaded and loaded["n"] <= len(keys) and history_digest(keys[: loaded["n"]]) == loaded["h"]:
        return list(range(loaded["n"], len(keys)))
    if loaded:
        observer.warn(f"conversation {convo_id}: history changed since the last load; loading the new items")
    present = ledger.message_ids(PROVIDER, convo_id)  # also covers state lost or reset
    observer.deletions.messages_gone(convo_id, present.difference(keys))  # the whole history was read
    return [n for n, key in enumerate(keys) if key not in present]


def _emit(
    convo_id: str,
    items: list[Any],
    mapped: list[MappedItem],
    keys: list[str],
    fresh: list[int],
    first_seen: datetime,
    observer: RunObserver,
    new: bool,
) -> Iterator[Any]:
    first_position: dict[str, int] = {}
    for n, key in enumerate(keys):
        first_position.setdefault(key, n)
    repeated = [n for n in fresh if first_position[keys[n]] != n]
    if repeated:
        observer.count(DUPLICATES, len(repeated))
        observer.warn(f"conversation {convo_id}: {counted(len(repeated), 'duplicate id')} in one history")
        fresh = [n for n in fresh if first_position[keys[n]] == n]
    rows = [to_message_row(convo_id, n, items[n], mapped[n], keys[n], first_seen) for n in fresh]
    observer.count(UNRECOGNISED, sum(not mapped[n].recognised for n in fresh))
    observer.count(UNKNOWN_ROLE, sum(mapped[n].recognised and not mapped[n].role_known for n in fresh))
    observer.count(NO_TIME, sum(mapped[n].created_at is None for n in fresh))
    if rows:
        observer.on_rows("messages", len(rows))
        yield as_messages(rows)
    if new:
        observer.on_rows("conversations", 1)
        raw = {"convo_id": convo_id}
        # Feedloop sends no start: a new conversation's whole history was read, so its first message is.
        times = [row["created_at"] for row in rows if row["created_at"] is not None]
        yield as_conversations(
            [
                conversation_row(
                    provider=PROVIDER,
                    bot_id=None,
                    conversation_id=convo_id,
                    started_at=min(times) if times else first_seen,
                    user_id=None,
                    reported_message_count=None,
                    raw=raw,
                )
            ]
        )


@with_config(sections=("sources", PROVIDER))
def check(
    conversation_ids: Any = dlt.config.value, api_key: str = dlt.secrets.value, base_url: str = DEFAULT_BASE_URL
) -> CheckResult:
    """Proves the setup without loading: the token is accepted and the conversations exist.

    A conversation that does not exist is a warning, as in a run; none existing means a wrong URL.

    Returns:
        The base URL in use, what was found, and warnings.
    """
    ids = id_list(conversation_ids, PROVIDER, "conversation_ids")
    http = connect(api_key, base_url)
    tally, items = NotFoundTally(http, "conversation"), 0
    for convo_id in ids:
        try:
            items += len(read_history(http, convo_id))
        except NotFoundError as error:
            tally.add(convo_id, error)
    missing = tally.settle(len(ids))
    exist = len(ids) - len(missing)
    found = f"token accepted, {exist} of {len(ids)} configured conversations exist ({items:,} messages)"
    return CheckResult(http.base_url, found, missing_ids_warning(PROVIDER, "conversation_ids", ids, missing))


SPEC: Final = ProviderSpec(
    name=PROVIDER,
    title="Feedloop",
    source=feedloop,
    check=check,
    census=census,
    discovery=Discovery.CONFIGURED_CONVERSATIONS,
    ids_setting="conversation_ids",
    end_user_ids=False,
    api="one `GET` per configured conversation: its whole history, message shape undocumented",
)
