"""Reading one example-ai conversation, and the per-conversation progress kept in state."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ..common.canonical import conversation_row, message_row
from ..common.errors import MalformedResponseError
from ..common.http import ProviderHttp
from ..common.paging import OverlappingTimeCursorPaginator
from ..common.timeutil import Window, format_z_seconds, parse_timestamp, required_timestamp
from .settings import HISTORY_PATH, MAX_PAGE_SIZE, MESSAGES_SELECTOR, PROVIDER, ROLES


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

    def progress(self, previous: Progress | None, move_cursor: bool = True) -> Progress | None:
        """The progress after loading these records on top of ``previous``.

        Args:
            previous: Progress before this read.
            move_cursor: False for backfills: only ``oldest``/``user_id`` may change.

        Returns:
            The new progress; None when there is nothing to record.
        """
        if not self.records:
            return previous
        stamps = [parse_timestamp(r["created_at"]) for r in self.records]
        if previous is None:
            if not move_cursor:
                return None
            newest = max(stamps)
            return Progress(newest, self._ids_at(newest, stamps), min(stamps), self._first_user(stamps))
        newest, newest_ids = previous.newest, previous.newest_ids
        if move_cursor and max(stamps) > newest:
            newest, newest_ids = max(stamps), self._ids_at(max(stamps), stamps)
        elif move_cursor and max(stamps) == newest:
            newest_ids = tuple(sorted({*newest_ids, *self._ids_at(newest, stamps)}))
        if min(stamps) < previous.oldest:
            return Progress(newest, newest_ids, min(stamps), self._first_user(stamps) or previous.user_id)
        return Progress(newest, newest_ids, previous.oldest, previous.user_id or self._first_user(stamps))

    def _ids_at(self, moment: datetime, stamps: list[datetime]) -> tuple[str, ...]:
        return tuple(sorted(str(r["id"]) for r, s in zip(self.records, stamps, strict=True) if s == moment))

    def _first_user(self, stamps: list[datetime]) -> str | None:
        users = [(s, r) for r, s in zip(self.records, stamps, strict=True) if r.get("sender_type") == "user"]
        return min(users, key=lambda pair: pair[0])[1].get("sender_id") if users else None


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
    pages = http.paginate(
        HISTORY_PATH,
        params=params,
        paginator=OverlappingTimeCursorPaginator(PROVIDER, max_limit=MAX_PAGE_SIZE),
        data_selector=MESSAGES_SELECTOR,
    )
    for page in pages:
        reached_floor = False
        for record in page:
            stamp = _checked_timestamp(record, conversation_id)
            if floor is not None and stamp < floor:
                reached_floor = True
                continue
            if record["id"] in seen or record["id"] in skip_ids or not window.admits(stamp):
                continue
            seen.add(record["id"])
            read.records.append(record)
        if reached_floor:
            break
    return read


def _checked_timestamp(record: Any, conversation_id: str) -> datetime:
    if not isinstance(record, dict) or not record.get("id"):
        raise MalformedResponseError(PROVIDER, f"conversation {conversation_id}: a message lacks id")
    return required_timestamp(PROVIDER, record, f"conversation {conversation_id}")


def to_message_rows(read: ConversationRead, bot_id: str) -> tuple[list[dict[str, Any]], int]:
    """Canonical message rows, plus how many had an undocumented ``sender_type``."""
    rows, unknown = [], 0
    for record in read.records:
        role = ROLES.get(record.get("sender_type", ""), "unknown")
        unknown += role == "unknown"
        rows.append(
            message_row(
                provider=PROVIDER,
                bot_id=bot_id,
                conversation_id=read.conversation_id,
                message_id=str(record["id"]),
                role=role,
                content=record.get("text"),
                created_at=parse_timestamp(record["created_at"]),
                sender_id=record.get("sender_id"),
                raw=record,
            )
        )
    return rows, unknown


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
