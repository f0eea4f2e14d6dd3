"""ChatNode requests, record mapping, and the per-bot progress that drives the lookback."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from dlt.sources.helpers.rest_client.auth import BearerTokenAuth

from ..common.errors import MalformedResponseError, ProviderError
from ..common.http import ProviderHttp
from ..common.isolation import CONVERSATION_ERRORS, Breaker, cause_of
from ..common.observer import RunObserver
from ..common.payload import first_copies, record_id
from ..common.rows import conversation_row, message_row
from ..common.settings import base_url as checked_url
from ..common.timeutil import FutureGuard, parse_timestamp, required_timestamp
from .settings import CHATS_PATH, LEADS_PATH, PROVIDER, ROLES


@dataclass
class LeadListing:
    """One bot's leads: those fit to sync, and those rejected with a cause."""

    leads: list[dict[str, Any]] = field(default_factory=list)
    rejected: dict[str, str] = field(default_factory=dict)
    nameless: int = 0  # listed without a session_id: cannot be read or recorded


def list_leads(http: ProviderHttp, bot_id: str) -> LeadListing:
    """Every conversation ("lead") of one bot: ``POST /get-conversation-ids/{bot_id}``.

    A lead without ``session_id`` cannot be read or recorded: counted in ``nameless`` and left out. One
    without a usable ``created_at`` is rejected (and recorded by the caller).
    """
    listing = LeadListing()
    for lead in (lead for page in http.paginate(LEADS_PATH.format(bot_id=bot_id), method="POST") for lead in page):
        session_id = record_id(lead.get("session_id")) if isinstance(lead, dict) else None
        if session_id is None:
            listing.nameless += 1
            continue
        try:
            required_timestamp(PROVIDER, lead, f"conversation {session_id}")
        except MalformedResponseError as exc:
            listing.rejected[session_id] = cause_of(exc)
            continue
        lead["session_id"] = session_id  # in place: a listing holds every lead of the bot
        listing.leads.append(lead)
    return listing


@dataclass
class ChatBatch:
    """Chats of a batch of conversations, by conversation, and the conversations that failed."""

    chats: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    failed: dict[str, ProviderError] = field(default_factory=dict)
    duplicates: int = 0

    def merged(self, other: ChatBatch) -> ChatBatch:
        """Both halves of a split batch together."""
        duplicates = self.duplicates + other.duplicates
        return ChatBatch({**self.chats, **other.chats}, {**self.failed, **other.failed}, duplicates)


DUPLICATES = "duplicate chat ids within one response (first copy kept)"


def fetch_batch(http: ProviderHttp, bot_id: str, session_ids: Sequence[str], breaker: Breaker) -> ChatBatch:
    """The chats of some conversations, isolating the ones that fail.

    A batch that fails (a 422, a payload that cannot be attributed to one conversation, or errors
    after every retry) is halved until the culprit is alone; a chat that is broken but names its
    conversation fails that conversation only. Once ``breaker`` trips, failing halves are not split
    further and their conversations are simply not read this run.
    """
    if not session_ids or breaker.tripped:
        return ChatBatch()
    try:
        chats = fetch_chats(http, bot_id, session_ids)
    except CONVERSATION_ERRORS as exc:
        breaker.record(exc)
        if len(session_ids) == 1:
            return ChatBatch(failed={session_ids[0]: exc})
        middle = len(session_ids) // 2
        first = fetch_batch(http, bot_id, session_ids[:middle], breaker)
        return first.merged(fetch_batch(http, bot_id, session_ids[middle:], breaker))
    return _grouped(chats, session_ids)


def fetch_chats(http: ProviderHttp, bot_id: str, session_ids: Sequence[str]) -> list[dict[str, Any]]:
    """``POST /get-chats/{bot_id}`` with the ids as the body; every chat must name its conversation.

    Never sends ``[]``, which would mean "the k most recent conversations".
    """
    pages = http.paginate(CHATS_PATH.format(bot_id=bot_id), method="POST", json=list(session_ids))
    chats = [chat for page in pages for chat in page]
    for chat in chats:
        if not isinstance(chat, dict) or record_id(chat.get("session_id")) is None:
            raise MalformedResponseError(PROVIDER, f"bot {bot_id}: a chat without session_id")
    return chats


def _grouped(chats: list[dict[str, Any]], session_ids: Sequence[str]) -> ChatBatch:
    asked = set(session_ids)
    unique, duplicates = first_copies(chats, lambda c: f"{c.get('session_id')}\x1f{c.get('id')}")
    batch = ChatBatch(duplicates=duplicates)
    for chat in unique:
        session_id = str(record_id(chat["session_id"]))
        if session_id not in asked or session_id in batch.failed:
            continue
        problem = _chat_problem(chat)
        if problem is not None:
            batch.failed[session_id] = problem
            batch.chats.pop(session_id, None)
            continue
        batch.chats.setdefault(session_id, []).append(chat)
    for items in batch.chats.values():
        items.sort(key=lambda c: parse_timestamp(c["created_at"]))
    return batch


def _chat_problem(chat: dict[str, Any]) -> ProviderError | None:
    if record_id(chat.get("id")) is None:
        return MalformedResponseError(PROVIDER, "a chat without a usable id")
    try:
        required_timestamp(PROVIDER, chat, f"chat {chat['id']}")
    except MalformedResponseError as exc:
        return exc
    return None


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
        conversation_id=str(record_id(chat["session_id"])),
        message_id=str(record_id(chat["id"])),
        role=role,
        content=content,
        created_at=parse_timestamp(chat["created_at"]),
        sender_id=None,
        raw=chat,
        sequence=sequence,
    )


def to_conversation_row(bot_id: str, lead: dict[str, Any]) -> dict[str, Any]:
    """A lead as a ``conversations`` row; ``enduser_*`` stay in ``raw``; ``for_agent`` is the handoff flag."""
    for_agent = lead.get("for_agent")
    return conversation_row(
        provider=PROVIDER,
        bot_id=bot_id,
        conversation_id=str(lead["session_id"]),
        started_at=parse_timestamp(lead["created_at"]),
        user_id=None,
        reported_message_count=None,
        raw=lead,
        handed_off=for_agent if isinstance(for_agent, bool) else None,
    )


@dataclass
class Frontier:
    """The newest loaded moment of a conversation, the chat ids loaded at it, and future-dated ids.

    A chat dated in the future does not move ``last``; its id is kept in ``future`` so that it is
    written again on every run, and its corrected copy replaces it once the provider fixes it.
    """

    last: datetime
    ids: tuple[str, ...] = ()
    future: tuple[str, ...] = ()

    def is_new(self, chat: dict[str, Any]) -> bool:
        """Whether a chat is past the frontier (not loaded yet), or was loaded future-dated."""
        moment = parse_timestamp(chat["created_at"])
        identity = str(record_id(chat["id"]))
        return moment > self.last or (moment == self.last and identity not in self.ids) or identity in self.future

    @classmethod
    def after(cls, chats: list[dict[str, Any]], fallback: datetime, guard: FutureGuard, where: str) -> Frontier:
        """The frontier once every chat of ``chats`` is loaded; ``fallback`` when there are none."""
        stamps = [(parse_timestamp(c["created_at"]), str(record_id(c["id"]))) for c in chats]
        future = tuple(sorted(identity for moment, identity in stamps if not guard.admits(moment, where)))
        last = max((moment for moment, identity in stamps if identity not in future), default=None)
        if last is None:
            return cls(fallback, (), future)
        return cls(last, tuple(sorted(identity for moment, identity in stamps if moment == last)), future)

    def to_state(self) -> list[Any]:
        """The JSON-able form kept in dlt state (the third item only when there are future ids)."""
        form: list[Any] = [self.last.isoformat(), list(self.ids)]
        return [*form, list(self.future)] if self.future else form

    @classmethod
    def from_state(cls, value: list[Any]) -> Frontier:
        """Reads the form written by ``to_state``."""
        future = tuple(value[2]) if len(value) > 2 else ()
        return cls(parse_timestamp(value[0]), tuple(value[1]), future)


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
        recent = {sid: Frontier.from_state(form) for sid, form in value["recent"].items()}
        return cls(parse_timestamp(value["horizon"]) if value.get("horizon") else None, recent)

    def to_state(self) -> dict[str, Any]:
        """The JSON-able form kept in dlt state."""
        return {
            "horizon": self.horizon.isoformat() if self.horizon else None,
            "recent": {sid: f.to_state() for sid, f in sorted(self.recent.items())},
        }

    def to_reread(
        self,
        leads: list[dict[str, Any]],
        lookback: timedelta,
        also: set[str] = frozenset(),  # type: ignore[assignment]
    ) -> list[dict[str, Any]]:
        """Leads that are new, were active within the lookback at the last load, or are in ``also``."""
        if self.horizon is None:
            return leads
        cutoff = self.horizon - lookback
        # A lead seen before and started after the cutoff is still in ``recent``, so any other lead
        # started after the cutoff is new.
        return [
            lead
            for lead in leads
            if lead["session_id"] in self.recent
            or lead["session_id"] in also
            or parse_timestamp(lead["created_at"]) >= cutoff
        ]

    def saw(self, moment: datetime, guard: FutureGuard | None = None, where: str = "") -> None:
        """Moves the data clock forward (never into the future, given a ``guard``)."""
        if guard is not None and not guard.admits(moment, where):
            return
        self.horizon = moment if self.horizon is None else max(self.horizon, moment)

    def pruned(self, lookback: timedelta) -> BotProgress:
        """Without conversations whose last activity is older than the lookback."""
        if self.horizon is None:
            return self
        cutoff = self.horizon - lookback
        return BotProgress(self.horizon, {sid: f for sid, f in self.recent.items() if f.last >= cutoff or f.future})


def connect(api_key: str, base_url: str, observer: RunObserver | None = None) -> ProviderHttp:
    """The provider's HTTP client: the base URL checked, Authorization: Bearer <key>.

    Raises:
        ConfigurationError: ``base_url`` is not an http(s) URL.
    """
    auth = BearerTokenAuth(api_key)
    return ProviderHttp(PROVIDER, checked_url(base_url, PROVIDER), auth, observer=observer)
