"""Reading one example-ai conversation, and the per-conversation progress kept in state."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

from dlt.sources.helpers.rest_client.auth import BearerTokenAuth

from ..common.errors import MalformedResponseError, NotFoundError
from ..common.http import ProviderHttp
from ..common.observer import RunObserver
from ..common.paging import OverlappingTimeCursorPaginator
from ..common.payload import record_id, text_or_none
from ..common.rows import conversation_row, message_row
from ..common.settings import base_url as checked_url
from ..common.timeutil import FutureGuard, Window, format_z_seconds, parse_timestamp, required_timestamp
from .settings import HISTORY_PATH, MAX_PAGE_SIZE, MESSAGES_SELECTOR, NOT_FOUND_MESSAGE, PROVIDER, ROLES

DUPLICATES: Final = "duplicate message ids within one response (first copy kept)"
UNKNOWN_ROLE: Final = "messages with an undocumented sender_type (loaded as unknown)"
NOT_TEXT: Final = "messages whose text is not a string (content null, raw kept)"


@dataclass(frozen=True)
class Progress:
    """How far one conversation has been loaded. A few dozen bytes in state per conversation.

    Attributes:
        newest: Timestamp of the newest loaded message; the next run reads from this second on.
        newest_ids: Ids loaded at that second, so a rerun does not load them again.
        oldest: Timestamp of the oldest loaded message (the conversation's ``started_at``).
        user_id: The first user's sender id.
    """

    newest: datetime
    newest_ids: tuple[str, ...]
    oldest: datetime
    user_id: str | None

    def to_state(self) -> dict[str, Any]:
        """The JSON-able form kept in dlt state."""
        return {
            "newest": format_z_seconds(self.newest),
            "newest_ids": list(self.newest_ids),
            "oldest": format_z_seconds(self.oldest),
            "user_id": self.user_id,
        }

    @classmethod
    def from_state(cls, value: dict[str, Any] | None) -> Progress | None:
        """Reads the form written by ``to_state``."""
        if not value:
            return None
        return cls(
            newest=parse_timestamp(value["newest"]),
            newest_ids=tuple(value.get("newest_ids", ())),
            oldest=parse_timestamp(value["oldest"]),
            user_id=value.get("user_id"),
        )


@dataclass
class ConversationRead:
    """What one read of a conversation found that is not loaded yet."""

    conversation_id: str
    records: list[dict[str, Any]] = field(default_factory=list)
    stamps: list[datetime] = field(default_factory=list)  # each record's created_at, parsed once
    duplicates: int = 0

    def add(self, record: dict[str, Any], stamp: datetime) -> None:
        """Keeps a record with its parsed timestamp."""
        self.records.append(record)
        self.stamps.append(stamp)

    def progress(
        self, previous: Progress | None, move_cursor: bool = True, guard: FutureGuard | None = None
    ) -> Progress | None:
        """The progress after loading these records on top of ``previous``.

        Args:
            previous: Progress before this read.
            move_cursor: False for backfills: only ``oldest``/``user_id`` may change.
            guard: Keeps timestamps from the future out of the cursor.

        Returns:
            The new progress; None when there is nothing to record.
        """
        if not self.records:
            return previous
        stamps = self.stamps
        where = f"conversation {self.conversation_id}"
        latest = guard.latest(stamps, where) if guard else max(stamps)
        if previous is None:
            if not move_cursor or latest is None:
                return None
            return Progress(latest, self._ids_at(latest, stamps), min(stamps), self._first_user(stamps))
        newest, newest_ids = previous.newest, previous.newest_ids
        if move_cursor and latest is not None and latest > newest:
            newest, newest_ids = latest, self._ids_at(latest, stamps)
        elif move_cursor and latest == newest:
            newest_ids = tuple(sorted({*newest_ids, *self._ids_at(newest, stamps)}))
        if min(stamps) < previous.oldest:
            return Progress(newest, newest_ids, min(stamps), self._first_user(stamps) or previous.user_id)
        return Progress(newest, newest_ids, previous.oldest, previous.user_id or self._first_user(stamps))

    def _ids_at(self, moment: datetime, stamps: list[datetime]) -> tuple[str, ...]:
        return tuple(sorted(str(r["id"]) for r, s in zip(self.records, stamps, strict=True) if s == moment))

    def _first_user(self, stamps: list[datetime]) -> str | None:
        users = [(s, r) for r, s in zip(self.records, stamps, strict=True) if r.get("sender_type") == "user"]
        return record_id(min(users, key=lambda pair: pair[0])[1].get("sender_id")) if users else None


def read_conversation(
    http: ProviderHttp,
    conversation_id: str,
    *,
    floor: datetime | None,
    skip_ids: frozenset[str],
    window: Window,
    page_size: int,
    include_meta: bool,
) -> ConversationRead:
    """Reads a conversation newest first, down to ``floor`` (inclusive).

    Args:
        http: The provider client.
        conversation_id: Which conversation.
        floor: Stop once older messages are reached; None reads the whole history.
        skip_ids: Ids already loaded at the floor's second.
        window: Only messages inside it are kept; its ``until`` is where reading starts.
        page_size: Messages per request (at most 100).
        include_meta: Ask for extended metadata, which lands in ``raw``.

    Returns:
        The records not loaded yet, de-duplicated, newest first.
    """
    params: dict[str, Any] = {"conversation_id": conversation_id, "limit": min(page_size, MAX_PAGE_SIZE)}
    if include_meta:
        params["include_meta"] = "true"
    if window.until is not None:
        params["before"] = format_z_seconds(window.until)
    read = ConversationRead(conversation_id)
    seen: set[str] = set()
    page_size = min(page_size, MAX_PAGE_SIZE)
    pages = http.paginate(
        HISTORY_PATH,
        params=params,
        paginator=OverlappingTimeCursorPaginator(PROVIDER, page_size, max_limit=MAX_PAGE_SIZE),
        data_selector=MESSAGES_SELECTOR,
    )
    for page in pages:
        reached_floor = False
        on_page: set[str] = set()
        for record in page:
            identity, stamp = _checked(record, conversation_id)
            if identity in on_page:
                read.duplicates += 1  # the first copy in the response is kept
                continue
            on_page.add(identity)
            if floor is not None and stamp < floor:
                reached_floor = True
                continue
            if identity in seen or identity in skip_ids or not window.admits(stamp):
                continue
            seen.add(identity)
            read.add(record, stamp)
        if reached_floor:
            break
    return read


def _checked(record: Any, conversation_id: str) -> tuple[str, datetime]:
    identity = record_id(record.get("id")) if isinstance(record, dict) else None
    if identity is None:
        raise MalformedResponseError(PROVIDER, f"conversation {conversation_id}: a message without a usable id")
    return identity, required_timestamp(PROVIDER, record, f"conversation {conversation_id}")


def to_message_rows(read: ConversationRead, bot_id: str) -> tuple[list[dict[str, Any]], Counter[str]]:
    """Canonical message rows, plus counts of what had to be normalised (undocumented role, text)."""
    rows, anomalies = [], Counter[str]()
    for record, stamp in zip(read.records, read.stamps, strict=True):
        role = ROLES.get(str(record.get("sender_type", "")), "unknown")
        anomalies[UNKNOWN_ROLE] += role == "unknown"
        text, dropped = text_or_none(record.get("text"))
        anomalies[NOT_TEXT] += dropped
        model, latency_ms = generation_metadata(record) if role == "assistant" else (None, None)
        rows.append(
            message_row(
                provider=PROVIDER,
                bot_id=bot_id,
                conversation_id=read.conversation_id,
                message_id=str(record_id(record["id"])),
                role=role,
                content=text,
                created_at=stamp,
                sender_id=record_id(record.get("sender_id")),
                raw=record,
                model=model,
                latency_ms=latency_ms,
            )
        )
    return rows, anomalies


def generation_metadata(record: dict[str, Any]) -> tuple[str | None, int | None]:
    """``metadata.model`` and ``metadata.latency_ms`` of an AI message (``include_meta=true``), where valid."""
    metadata = record.get("metadata")
    if not isinstance(metadata, dict):
        return None, None
    model, latency = metadata.get("model"), metadata.get("latency_ms")
    latency_ms = None
    if isinstance(latency, int | float) and not isinstance(latency, bool) and 0 <= latency < 2**53:
        latency_ms = round(latency)
    return (model.strip() or None) if isinstance(model, str) else None, latency_ms


def to_conversation_row(conversation_id: str, progress: Progress, bot_id: str) -> dict[str, Any]:
    """The canonical conversation row; example-ai has no conversation record of its own."""
    return conversation_row(
        provider=PROVIDER,
        bot_id=bot_id,
        conversation_id=conversation_id,
        started_at=progress.oldest,
        user_id=progress.user_id,
        reported_message_count=None,
        raw={"conversation_id": conversation_id},
    )


def newest_message_id(http: ProviderHttp, conversation_id: str) -> str | None:
    """One ``limit=1`` request: the id of the conversation's newest message (None when it has none)."""
    for page in http.paginate(
        HISTORY_PATH, params={"conversation_id": conversation_id, "limit": 1}, data_selector=MESSAGES_SELECTOR
    ):
        return next((record_id(r.get("id")) for r in page if isinstance(r, dict)), None)
    return None


def probe_conversation(http: ProviderHttp, conversation_id: str) -> NotFoundError | None:
    """One one-message request: the 404 when the conversation does not exist, else None."""
    try:
        newest_message_id(http, conversation_id)
    except NotFoundError as missing:
        return missing
    return None


def connect(api_key: str, base_url: str, observer: RunObserver | None = None) -> ProviderHttp:
    """The provider's HTTP client: the base URL checked, Authorization: Bearer <key>.

    Raises:
        ConfigurationError: ``base_url`` is not an http(s) URL.
    """
    auth = BearerTokenAuth(api_key)
    url = checked_url(base_url, PROVIDER)
    return ProviderHttp(PROVIDER, url, auth, observer=observer, not_found=(NOT_FOUND_MESSAGE,))
