"""ChatNode requests, record mapping, and the per-bot progress that drives the lookback."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from ..common.canonical import conversation_row, message_row
from ..common.errors import MalformedResponseError, RequestRejectedError
from ..common.http import ProviderHttp
from ..common.timeutil import parse_timestamp, required_timestamp
from .settings import CHATS_PATH, LEADS_PATH, PROVIDER, ROLES

VALIDATION_ERROR = 422


def list_leads(http: ProviderHttp, bot_id: str) -> list[dict[str, Any]]:
    """Every conversation ("lead") of one bot: ``POST /get-conversation-ids/{bot_id}``."""
    leads = [lead for page in http.paginate(LEADS_PATH.format(bot_id=bot_id), method="POST") for lead in page]
    for lead in leads:
        if not isinstance(lead, dict) or not lead.get("session_id"):
            raise MalformedResponseError(PROVIDER, f"bot {bot_id}: a conversation without session_id")
        required_timestamp(PROVIDER, lead, f"bot {bot_id}: conversation {lead['session_id']}")
    return leads


def fetch_chats(http: ProviderHttp, bot_id: str, session_ids: Sequence[str]) -> list[dict[str, Any]]:
    """The chats of some conversations: ``POST /get-chats/{bot_id}`` with their ids as the body.

    A 422 on a batch of several ids halves it and tries again, since the API documents no limit.
    Never sends ``[]``, which would mean "the k most recent conversations".
    """
    if not session_ids:
        return []
    try:
        pages = http.paginate(CHATS_PATH.format(bot_id=bot_id), method="POST", json=list(session_ids))
        chats = [chat for page in pages for chat in page]
    except RequestRejectedError as exc:
        if exc.status != VALIDATION_ERROR or len(session_ids) == 1:
            raise
        middle = len(session_ids) // 2
        return fetch_chats(http, bot_id, session_ids[:middle]) + fetch_chats(http, bot_id, session_ids[middle:])
    for chat in chats:
        if not isinstance(chat, dict) or not chat.get("id") or not chat.get("session_id"):
            raise MalformedResponseError(PROVIDER, f"bot {bot_id}: a chat without id or session_id")
        required_timestamp(PROVIDER, chat, f"bot {bot_id}: chat {chat['id']}")
    return chats


def ordered_by_conversation(chats: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Chats grouped by ``session_id``, in time order (the API's order breaks ties)."""
    grouped: dict[str, list[dict[str, Any]]] = {}
    for chat in chats:
        grouped.setdefault(str(chat["session_id"]), []).append(chat)
    return {sid: sorted(items, key=lambda c: parse_timestamp(c["created_at"])) for sid, items in grouped.items()}


def role_and_text(chat: dict[str, Any]) -> tuple[str, str | None]:
    """``human``→user, ``ai``→assistant, anything else ``unknown``; the text from ``message.data``."""
    message: dict[str, Any] = chat["message"] if isinstance(chat.get("message"), dict) else {}
    data: dict[str, Any] = message["data"] if isinstance(message.get("data"), dict) else {}
    kind = message.get("type") or data.get("type")
    content = data.get("content")
    return ROLES.get(str(kind), "unknown"), content if isinstance(content, str) else None


def to_message_row(bot_id: str, chat: dict[str, Any], sequence: int) -> dict[str, Any]:
    """One chat as a canonical ``messages`` row."""
    role, content = role_and_text(chat)
    return message_row(
        provider=PROVIDER,
        bot_id=bot_id,
        conversation_id=str(chat["session_id"]),
        message_id=str(chat["id"]),
        role=role,
        content=content,
        created_at=parse_timestamp(chat["created_at"]),
        sender_id=None,
        raw=chat,
        sequence=sequence,
    )


def to_conversation_row(bot_id: str, lead: dict[str, Any]) -> dict[str, Any]:
    """A lead as a ``conversations`` row; ``enduser_*`` stay in ``raw``."""
    return conversation_row(
        provider=PROVIDER,
        bot_id=bot_id,
        conversation_id=str(lead["session_id"]),
        started_at=parse_timestamp(lead["created_at"]),
        user_id=None,
        reported_message_count=None,
        raw=lead,
    )


@dataclass
class Frontier:
    """The newest loaded moment of a conversation and the chat ids loaded at it."""

    last: datetime
    ids: tuple[str, ...] = ()

    def is_new(self, chat: dict[str, Any]) -> bool:
        """Whether a chat is past the frontier (not loaded yet)."""
        moment = parse_timestamp(chat["created_at"])
        return moment > self.last or (moment == self.last and str(chat["id"]) not in self.ids)

    @classmethod
    def after(cls, chats: list[dict[str, Any]], fallback: datetime) -> Frontier:
        """The frontier once every chat of ``chats`` is loaded; ``fallback`` when there are none."""
        if not chats:
            return cls(fallback)
        last = max(parse_timestamp(c["created_at"]) for c in chats)
        return cls(last, tuple(sorted(str(c["id"]) for c in chats if parse_timestamp(c["created_at"]) == last)))


@dataclass
class BotProgress:
    """What one bot's next run must re-read: conversations active within the lookback.

    ``horizon`` is the newest timestamp seen for the bot: the lookback is measured on the
    provider's clock, so clock skew cannot open a gap. State holds only conversations active
    within the lookback, so it is bounded by recent activity, not by history.
    """

    horizon: datetime | None = None
    recent: dict[str, Frontier] = field(default_factory=dict)

    @classmethod
    def from_state(cls, value: dict[str, Any] | None) -> BotProgress:
        """Reads the form written by ``to_state``."""
        if not value:
            return cls()
        recent = {sid: Frontier(parse_timestamp(last), tuple(ids)) for sid, (last, ids) in value["recent"].items()}
        return cls(parse_timestamp(value["horizon"]) if value.get("horizon") else None, recent)

    def to_state(self) -> dict[str, Any]:
        """The JSON-able form kept in dlt state."""
        return {
            "horizon": self.horizon.isoformat() if self.horizon else None,
            "recent": {sid: [f.last.isoformat(), list(f.ids)] for sid, f in sorted(self.recent.items())},
        }

    def to_reread(self, leads: list[dict[str, Any]], lookback: timedelta) -> list[dict[str, Any]]:
        """Leads that are new, or were active within the lookback at the last load; nothing else."""
        if self.horizon is None:
            return leads
        cutoff = self.horizon - lookback
        # A lead seen before and started after the cutoff is still in ``recent``, so any other lead
        # started after the cutoff is new.
        return [
            lead for lead in leads if lead["session_id"] in self.recent or parse_timestamp(lead["created_at"]) >= cutoff
        ]

    def saw(self, moment: datetime) -> None:
        """Moves the data clock forward."""
        self.horizon = moment if self.horizon is None else max(self.horizon, moment)

    def pruned(self, lookback: timedelta) -> BotProgress:
        """Without conversations whose last activity is older than the lookback."""
        if self.horizon is None:
            return self
        cutoff = self.horizon - lookback
        return BotProgress(self.horizon, {sid: f for sid, f in self.recent.items() if f.last >= cutoff})
