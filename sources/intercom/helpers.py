"""Intercom requests and record mapping: the search of changed conversations, one conversation, its parts."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from html.parser import HTMLParser
from typing import Any, Final

from dlt.sources.helpers.rest_client.auth import BearerTokenAuth
from dlt.sources.helpers.rest_client.paginators import JSONResponseCursorPaginator
from requests import PreparedRequest

from ..common.errors import ConfigurationError, MalformedResponseError
from ..common.http import ProviderHttp
from ..common.observer import RunObserver
from ..common.rows import citation_rows, conversation_row, message_row
from ..common.settings import base_url as checked_url
from .settings import (
    CONTACTS_SEARCH_PATH,
    CONVERSATION_PATH,
    HANDOFF_STATES,
    LIST_PATH,
    OLDEST_API_VERSION,
    PER_PAGE,
    PREVIEW_SOURCES,
    PROVIDER,
    SEARCH_PATH,
    USER_AUTHORS,
)

CAPPED: Final = "conversations longer than the API returns (500 parts): loaded as far as it allows"
PREVIEWS: Final = "Fin previews by the workspace's admins (ai_agent.source_type fin_preview or workflow_preview)"


class IntercomAuth(BearerTokenAuth):
    """The access token as ``Authorization: Bearer``, and the API version pinned in ``Intercom-Version``."""

    def __init__(self, token: str, api_version: str) -> None:
        super().__init__(token)
        self.api_version = api_version

    def __call__(self, request: PreparedRequest) -> PreparedRequest:
        """Adds both headers."""
        request = super().__call__(request)
        request.headers["Intercom-Version"] = self.api_version
        return request


def checked_version(api_version: str) -> str:
    """``2.11`` or later, or ``Unstable``: the shapes chatsync reads exist from 2.11.

    Raises:
        ConfigurationError: An older or unreadable version.
    """
    text = str(api_version).strip()
    if text == "Unstable":
        return text
    match = re.fullmatch(r"(\d+)\.(\d+)", text)
    if match is None or (int(match.group(1)), int(match.group(2))) < OLDEST_API_VERSION:
        raise ConfigurationError(f"{PROVIDER}: api_version {text!r}: 2.11 or later (e.g. 2.14), or Unstable")
    return text


def connect(api_key: str, base_url: str, api_version: str, observer: RunObserver | None = None) -> ProviderHttp:
    """The provider's HTTP client: the base URL and version checked, the token as a bearer.

    Raises:
        ConfigurationError: ``base_url`` is not an http(s) URL, or ``api_version`` is older than 2.11.
    """
    auth = IntercomAuth(api_key, checked_version(api_version))
    return ProviderHttp(
        PROVIDER, checked_url(base_url, PROVIDER), auth, observer=observer, not_found=("resource not found",)
    )


@dataclass(frozen=True)
class Changed:
    """One conversation a search returned: enough to decide whether to read it."""

    conversation_id: str
    updated_at: int
    parts: int  # statistics.count_conversation_parts: the opening message and every part


def search_changed(
    http: ProviderHttp, since: int, until: int | None = None, created_before: int | None = None
) -> Iterator[Changed]:
    """Conversations updated from ``since`` (that second included, as Intercom's ``>`` is) to ``until``,
    and, for a backfill, created up to ``created_before``.

    The order of results is not relied on (the sort is documented only on the developer site).
    """
    body = {
        "query": _query(since, until, created_before),
        "pagination": {"per_page": PER_PAGE},
        "sort": {"field": "updated_at", "order": "ascending"},
    }
    paginator = JSONResponseCursorPaginator(
        cursor_path="pages.next.starting_after", cursor_body_path="pagination.starting_after"
    )
    for page in http.paginate(
        SEARCH_PATH, method="POST", json=body, paginator=paginator, data_selector="conversations"
    ):
        for record in page:
            yield _changed(record)


def _query(since: int, until: int | None, created_before: int | None) -> dict[str, Any]:
    """The search's filter: ``updated_at`` from ``since`` (to ``until``), ``created_at`` up to ``created_before``."""
    filters: list[dict[str, Any]] = [{"field": "updated_at", "operator": ">", "value": since}]
    if until is not None:
        filters.append({"field": "updated_at", "operator": "<", "value": until})
    if created_before is not None:
        filters.append({"field": "created_at", "operator": "<", "value": created_before})
    return filters[0] if len(filters) == 1 else {"operator": "AND", "value": filters}


def search_total(http: ProviderHttp, since: int, until: int | None, created_before: int | None = None) -> int:
    """How many conversations a window holds (one request of one result)."""
    body = {"query": _query(since, until, created_before), "pagination": {"per_page": 1}}
    total = http.fetch(SEARCH_PATH, method="POST", json=body).get("total_count")
    if not isinstance(total, int):
        raise MalformedResponseError(PROVIDER, "a search answered without total_count")
    return total


def _changed(record: Any) -> Changed:
    if not isinstance(record, dict) or not isinstance(record.get("id"), str | int):
        raise MalformedResponseError(PROVIDER, "a search result has no id")
    updated = record.get("updated_at")
    statistics = _dict(record.get("statistics"))
    parts = statistics.get("count_conversation_parts") if statistics else None
    if not isinstance(updated, int):
        raise MalformedResponseError(PROVIDER, f"conversation {record['id']}: updated_at is not a UNIX time")
    return Changed(str(record["id"]), updated, parts if isinstance(parts, int) else -1)


def read_conversation(http: ProviderHttp, conversation_id: str) -> dict[str, Any]:
    """One conversation whole (``GET /conversations/{id}``): its opening message and up to 500 parts."""
    found = http.fetch(CONVERSATION_PATH.format(conversation_id=conversation_id))
    if found.get("id") is None:
        raise MalformedResponseError(PROVIDER, f"conversation {conversation_id}: the answer is not a conversation")
    return found


def contacts_by_email(http: ProviderHttp, email: str) -> list[str]:
    """The ids of the contacts with this e-mail address (``POST /contacts/search``)."""
    body = {"query": {"field": "email", "operator": "=", "value": email}, "pagination": {"per_page": PER_PAGE}}
    paginator = JSONResponseCursorPaginator(
        cursor_path="pages.next.starting_after", cursor_body_path="pagination.starting_after"
    )
    pages = http.paginate(CONTACTS_SEARCH_PATH, method="POST", json=body, paginator=paginator, data_selector="data")
    return [str(contact["id"]) for page in pages for contact in page if isinstance(contact, dict) and contact.get("id")]


def list_conversations(http: ProviderHttp) -> Iterator[dict[str, Any]]:
    """Every conversation of the workspace (``GET /conversations``, cursor paging): the audit's listing."""
    paginator = JSONResponseCursorPaginator(cursor_path="pages.next.starting_after", cursor_param="starting_after")
    for page in http.paginate(
        LIST_PATH, params={"per_page": PER_PAGE}, paginator=paginator, data_selector="conversations"
    ):
        yield from (record for record in page if isinstance(record, dict))


class _Text(HTMLParser):
    """The text of an HTML body: paragraphs and line breaks as newlines, tags dropped, entities decoded."""

    BREAKS: Final = frozenset({"p", "div", "li", "h1", "h2", "h3", "h4", "h5", "h6", "pre", "blockquote"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.blocks: list[str] = []
        self.current: list[str] = []

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        if tag == "br":
            self.current.append("\n")
        elif tag in self.BREAKS and self.current:
            self._close()

    def handle_endtag(self, tag: str) -> None:
        if tag in self.BREAKS:
            self._close()

    def handle_data(self, data: str) -> None:
        self.current.append(data)

    def _close(self) -> None:
        self.blocks.append("".join(self.current))
        self.current = []

    def text(self) -> str:
        if self.current:
            self._close()
        return "\n".join(self.blocks)


def text_of(body: Any) -> str | None:
    """The text of an HTML body (the HTML itself stays in ``raw``); None for none."""
    if not isinstance(body, str) or not body:
        return None
    if "<" not in body:
        return html.unescape(body)
    parser = _Text()
    parser.feed(body)
    parser.close()
    return parser.text()


def role_of(part: dict[str, Any]) -> str:
    """The canonical role: the contact's parts are the user's, Fin's the assistant's, other admins' the agent's,
    notes are notes, and events (assignment, open, close, snooze) are system messages."""
    kind = str(part.get("part_type") or "comment")
    author = _dict(part.get("author"))
    author_type = str(author.get("type") or "")
    if kind == "note":
        return "note"
    if kind not in ("comment", "conversation") and part.get("type") != "conversation":
        return "system"
    if author_type in USER_AUTHORS:
        return "user"
    if author_type == "bot" or author.get("from_ai_agent") or author.get("is_ai_answer"):
        return "assistant"
    return "agent" if author_type in ("admin", "team") else "unknown"


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _moment(value: Any) -> datetime | None:
    return datetime.fromtimestamp(value, tz=UTC) if isinstance(value, int) and value > 0 else None


def _contact(conversation: dict[str, Any]) -> str | None:
    contacts = conversation.get("contacts")
    listed = contacts.get("contacts") if isinstance(contacts, dict) else None
    first = listed[0] if isinstance(listed, list) and listed and isinstance(listed[0], dict) else None
    return str(first["id"]) if first and first.get("id") is not None else None


def _messages_of(conversation: dict[str, Any]) -> list[dict[str, Any]]:
    """The opening message (``source``) and the parts, in order."""
    source = conversation.get("source")
    opening = (
        [{**source, "part_type": "comment", "created_at": conversation.get("created_at")}]
        if isinstance(source, dict) and source.get("id") is not None
        else []
    )
    parts = conversation.get("conversation_parts")
    listed = parts.get("conversation_parts") if isinstance(parts, dict) else None
    return opening + [p for p in (listed or []) if isinstance(p, dict) and p.get("id") is not None]


@dataclass
class ConversationRows:
    """One conversation as canonical rows, and what the run should say about it."""

    conversation: dict[str, Any]
    messages: list[dict[str, Any]]
    citations: list[dict[str, Any]]
    capped: bool
    preview: bool


def to_rows(conversation: dict[str, Any], bot_id: str) -> ConversationRows:
    """A conversation read whole, as ``conversations``, ``messages`` and ``knowledge_citations`` rows.

    Fin's content sources are cited by its last reply (Intercom names them per conversation).
    """
    cid = str(conversation["id"])
    contact = _contact(conversation)
    records = _messages_of(conversation)
    messages = []
    for position, part in enumerate(records):
        role = role_of(part)
        redacted = bool(part.get("redacted"))
        messages.append(
            message_row(
                provider=PROVIDER,
                bot_id=bot_id,
                conversation_id=cid,
                message_id=str(part["id"]),
                role=role,
                content=None if redacted else text_of(part.get("body")),
                created_at=_moment(part.get("created_at")),
                sender_id=contact if role == "user" else None,
                raw=part,
                sequence=position,
            )
        )
    agent = _dict(conversation.get("ai_agent"))
    statistics = _dict(conversation.get("statistics"))
    counted = statistics.get("count_conversation_parts") if statistics else None
    handoff = agent.get("resolution_state") in HANDOFF_STATES or any(m["role"] == "agent" for m in messages)
    head = {k: v for k, v in conversation.items() if k != "conversation_parts"}
    row = conversation_row(
        provider=PROVIDER,
        bot_id=bot_id,
        conversation_id=cid,
        started_at=_moment(conversation.get("created_at")),
        user_id=contact,
        reported_message_count=counted if isinstance(counted, int) else None,
        raw=head,
        handed_off=handoff,
        provider_verdict=agent.get("resolution_state") if isinstance(agent.get("resolution_state"), str) else None,
        test_conversation=agent.get("source_type") in PREVIEW_SOURCES if agent else None,
    )
    sources = _dict(agent.get("content_sources"))
    cited = [s.get("url") for s in (sources.get("content_sources") or []) if isinstance(s, dict)] if sources else []
    last_fin = next((m for m in reversed(messages) if m["role"] == "assistant"), None)
    citations = citation_rows(last_fin, cited) if last_fin is not None and cited else []
    return ConversationRows(
        row,
        messages,
        citations,
        capped=isinstance(counted, int) and counted > len(records),
        preview=agent.get("source_type") in PREVIEW_SOURCES,
    )
