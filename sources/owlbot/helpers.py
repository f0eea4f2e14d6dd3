"""OwlBot requests and record mapping: bots, sessions, and the messages of one session."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final

from dlt.sources.helpers.rest_client.auth import APIKeyAuth
from requests import Response

from ..common.errors import CredentialsError, MalformedResponseError, NotFoundError, ProviderError
from ..common.http import ProviderHttp, classify_error, error_message
from ..common.observer import RunObserver
from ..common.payload import INT64_MAX, first_copies, record_id, text_or_none
from ..common.privacy import device_type
from ..common.rows import citation_rows, conversation_row, message_row
from ..common.settings import base_url as checked_url
from ..common.timeutil import FutureGuard, Window, parse_timestamp, required_timestamp
from .settings import CHECK_TOKEN_PATH, CREDENTIAL_ERRORS, MESSAGES_PATH, PROVIDER, ROLES, SESSIONS_PATH

DUPLICATES: Final = "duplicate message ids within one response (first copy kept)"
UNKNOWN_ROLE: Final = "messages with an undocumented role (loaded as unknown)"
NOT_TEXT: Final = "messages whose content is not a string (content null, raw kept)"


def classify_owlbot_error(provider: str, response: Response) -> ProviderError:
    """OwlBot answers a missing or wrong key with HTTP 400 "No token" / "No verify"."""
    detail = error_message(response)
    if response.status_code == 400 and detail in CREDENTIAL_ERRORS:
        return CredentialsError(provider, f"credentials rejected (HTTP 400: {detail})", 400)
    return classify_error(provider, response)


def _one_response(http: ProviderHttp, path: str, method: str = "GET", selector: str = "$") -> list[Any]:
    """The records of a single unpaged response (the docs describe no paging for OwlBot)."""
    return [record for page in http.paginate(path, method=method, data_selector=selector) for record in page]


def discover_bots(http: ProviderHttp) -> list[str]:
    """The ``uuid`` of every chatbot of the key's account (``POST /login/checkToken``)."""
    return list(account_bots(http))


def account_bots(http: ProviderHttp) -> dict[str, str | None]:
    """Every chatbot of the key's account: ``{uuid: bot_title}`` (``POST /login/checkToken``), in its order."""
    try:
        bots = _one_response(http, CHECK_TOKEN_PATH, method="POST", selector="chatbot")
    except NotFoundError as missing:  # an account-wide call: only a wrong URL can 404
        raise http.wrong_endpoint(missing.url, "the account's bot listing answered HTTP 404") from None
    listed = [bot for bot in bots if isinstance(bot, dict)]
    if not all(isinstance(bot.get("uuid"), str) and bot["uuid"] for bot in listed):
        raise MalformedResponseError(PROVIDER, "checkToken: a chatbot has no uuid")
    return {str(bot["uuid"]): _title(bot.get("bot_title")) for bot in listed}


def _title(value: Any) -> str | None:
    return value.strip() or None if isinstance(value, str) else None


@dataclass(frozen=True)
class RejectedSession:
    """A listed session that cannot be synced as sent."""

    session_uuid: str
    cause: str


@dataclass
class SessionListing:
    """One bot's sessions: those fit to sync, and those rejected with a cause."""

    sessions: list[dict[str, Any]] = field(default_factory=list)
    rejected: list[RejectedSession] = field(default_factory=list)
    nameless: int = 0  # listed without a session_uuid: cannot be read or recorded


def list_sessions(http: ProviderHttp, chatbot_uuid: str) -> SessionListing:
    """Every session of one bot, checked for the fields change detection relies on.

    A session without ``session_uuid`` cannot be read or recorded: it is counted in ``nameless`` and left out.
    One whose ``messagenbr`` is not a count is rejected (and recorded by the caller).
    """
    listing = SessionListing()
    for session in _one_response(http, SESSIONS_PATH.format(chatbot_uuid=chatbot_uuid)):
        session_uuid = record_id(session.get("session_uuid")) if isinstance(session, dict) else None
        if session_uuid is None:
            listing.nameless += 1
        elif (problem := _session_problem(session)) is not None:
            listing.rejected.append(RejectedSession(session_uuid, problem))
        else:
            session["session_uuid"] = session_uuid  # in place: a listing holds every session of the bot
            listing.sessions.append(session)
    return listing


def _session_problem(session: dict[str, Any]) -> str | None:
    if not _is_count(session.get("messagenbr")):
        return f"messagenbr {session.get('messagenbr')!r} is not a count"
    if session.get("created_at"):
        try:
            parse_timestamp(session["created_at"])
        except (TypeError, ValueError):
            return f"unparsable created_at {session['created_at']!r}"
    return None


def _is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= INT64_MAX


@dataclass
class MessagesRead:
    """The messages of one session, ordered, with in-response duplicates dropped."""

    records: list[dict[str, Any]]
    duplicates: int = 0


def read_messages(http: ProviderHttp, chatbot_uuid: str, session_uuid: str) -> MessagesRead:
    """The whole message history of one session (``messageArr``), ordered by ``created_at`` then ``id``."""
    path = MESSAGES_PATH.format(chatbot_uuid=chatbot_uuid, session_uuid=session_uuid)
    records = _one_response(http, path, selector="messageArr")
    for record in records:
        if not isinstance(record, dict) or not _is_count(record.get("id")):
            raise MalformedResponseError(PROVIDER, f"session {session_uuid}: a message without an integer id")
        required_timestamp(PROVIDER, record, f"session {session_uuid}: message {record['id']}")
    unique, duplicates = first_copies(records, lambda r: str(r["id"]))
    return MessagesRead(sorted(unique, key=lambda r: (parse_timestamp(r["created_at"]), r["id"])), duplicates)


def session_started(session: dict[str, Any]) -> datetime | None:
    """The session's ``created_at``, when it has one."""
    return parse_timestamp(session["created_at"]) if session.get("created_at") else None


def to_message_rows(
    chatbot_uuid: str, session_uuid: str, records: list[dict[str, Any]], window: Window | None
) -> tuple[list[dict[str, Any]], Counter[str]]:
    """Canonical rows (only those inside ``window`` for a backfill), and counts of what was normalised."""
    rows, anomalies = [], Counter[str]()
    for record in records:
        created = parse_timestamp(record["created_at"])
        if window is not None and not window.admits(created):
            continue
        role = ROLES.get(str(record.get("user")), "unknown")
        anomalies[UNKNOWN_ROLE] += role == "unknown"
        content, dropped = text_or_none(record.get("content"))
        anomalies[NOT_TEXT] += dropped
        rows.append(
            message_row(
                provider=PROVIDER,
                bot_id=chatbot_uuid,
                conversation_id=session_uuid,
                message_id=str(record["id"]),
                role=role,
                content=content,
                created_at=created,
                sender_id=None,
                raw=record,
                sequence=record["id"],  # ids increase: they order a question and its same-time answer
            )
        )
    return rows, anomalies


def to_conversation_row(chatbot_uuid: str, session: dict[str, Any], bot_name: str | None = None) -> dict[str, Any]:
    """The session as a ``conversations`` row; ``ip``, ``geo`` and ``user_agent`` stay in ``raw``.

    ``country`` (from ``geo``) and ``device_type`` (from ``user_agent``) are columns for the audience
    view; the privacy policy treats them as it treats ``geo`` and ``user_agent``. Agent messages
    mark a handoff, so ``handed_off`` is left to the views.
    """
    agent = session.get("user_agent")
    return conversation_row(
        provider=PROVIDER,
        bot_id=chatbot_uuid,
        conversation_id=str(session["session_uuid"]),
        started_at=session_started(session),
        user_id=record_id(session.get("uuid")),
        reported_message_count=int(session["messagenbr"]),
        raw=session,
        country=_country(session.get("geo")),
        device_type=device_type(agent) if isinstance(agent, str) else None,
        visibility=_visibility(session.get("visibility")),
        bot_name=bot_name,
    )


def _visibility(value: Any) -> int | None:
    # kept as sent, not interpreted: the docs list 0|1|2 without saying what they mean
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _country(geo: Any) -> str | None:
    country = geo.get("country") if isinstance(geo, dict) else None
    return country.strip().upper() or None if isinstance(country, str) else None


def knowledge_citations(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per knowledge-base vector (``doc_vector_id``) each assistant message cites."""
    citations: list[dict[str, Any]] = []
    for row in rows:
        cited = row["raw"].get("doc_vector_id")
        if row["role"] == "assistant" and isinstance(cited, list):
            citations += citation_rows(row, (k for k in cited if isinstance(k, str | int) and not isinstance(k, bool)))
    return citations


class AwaitingReplies:
    """Sessions of one bot whose last loaded message is the user's, and the bot's data clock.

    Bounded: a session leaves once answered or once ``reply_wait`` has passed on the data clock
    (the newest timestamp seen for the bot, so the provider's clock, not ours, decides).
    """

    def __init__(self, since: dict[str, datetime], horizon: datetime | None, guard: FutureGuard | None = None) -> None:
        self.since = since
        self.horizon = horizon
        self._guard = guard

    @classmethod
    def from_state(cls, value: dict[str, Any] | None, guard: FutureGuard | None = None) -> AwaitingReplies:
        """Reads the form written by ``to_state``; ``guard`` keeps future timestamps off the data clock."""
        value = value or {}
        horizon = parse_timestamp(value["horizon"]) if value.get("horizon") else None
        return cls({k: parse_timestamp(v) for k, v in value.get("awaiting", {}).items()}, horizon, guard)

    def to_state(self) -> dict[str, Any]:
        """The JSON-able form kept in dlt state."""
        return {
            "horizon": self.horizon.isoformat() if self.horizon else None,
            "awaiting": {k: v.isoformat() for k, v in sorted(self.since.items())},
        }

    def _saw(self, moment: datetime, where: str) -> None:
        if self._guard is not None and not self._guard.admits(moment, where):
            return
        self.horizon = moment if self.horizon is None else max(self.horizon, moment)

    def observe_listing(self, listing: list[dict[str, Any]]) -> None:
        """Moves the data clock to the newest session start."""
        for session in listing:
            if (started := session_started(session)) is not None:
                self._saw(started, f"session {session['session_uuid']}")

    def still_waiting(self, session_uuid: str, records: list[dict[str, Any]]) -> bool:
        """Whether a session re-read for its reply still ends with the same user message."""
        if not records:
            return False
        last = records[-1]
        return last.get("user") == "user" and parse_timestamp(last["created_at"]) == self.since.get(session_uuid)

    def observe_messages(self, session_uuid: str, records: list[dict[str, Any]]) -> None:
        """Records whether a freshly read session still waits for a reply."""
        self.since.pop(session_uuid, None)
        if not records:
            return
        last = records[-1]
        last_at = parse_timestamp(last["created_at"])
        self._saw(last_at, f"session {session_uuid}")
        if last.get("user") == "user":
            self.since[session_uuid] = last_at

    def pruned(self, reply_wait: timedelta) -> AwaitingReplies:
        """Without the sessions that waited longer than ``reply_wait``."""
        if self.horizon is None:
            return self
        cutoff = self.horizon - reply_wait
        return AwaitingReplies({k: v for k, v in self.since.items() if v >= cutoff}, self.horizon, self._guard)


def connect(api_key: str, base_url: str, observer: RunObserver | None = None) -> ProviderHttp:
    """The provider's HTTP client: the base URL checked, the raw key in Authorization (no Bearer).

    OwlBot answers a wrong key with HTTP 400 "No verify", read as a credentials error.

    Raises:
        ConfigurationError: ``base_url`` is not an http(s) URL.
    """
    auth = APIKeyAuth(name="Authorization", api_key=api_key, location="header")
    url = checked_url(base_url, PROVIDER)
    return ProviderHttp(PROVIDER, url, auth, classify=classify_owlbot_error, observer=observer)
