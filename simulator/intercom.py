"""Intercom (with Fin): conversations searched by ``updated_at``, then read one by one.

Documented (Intercom's REST API reference and its OpenAPI descriptions 2.11 to 2.16) and implemented:
- ``Authorization: Bearer <access token>``; the version pinned by the ``Intercom-Version`` header.
  Errors are ``{"type": "error.list", "request_id": …, "errors": [{"code": …, "message": …}]}``;
  a missing or wrong token is 401 ``unauthorized``, an unknown conversation 404 ``not_found``.
- ``POST /conversations/search`` with ``{"query": …, "pagination": {"per_page", "starting_after"},
  "sort"?}``: a filter is ``{"field", "operator", "value"}`` or ``{"operator": "AND"|"OR", "value":
  [filters]}``; the operators ``=``, ``!=``, ``IN``, ``NIN``, ``>``, ``<``, ``~``; ``>`` and ``<`` on a
  date are "greater (or equal)" and "lower (or equal)" (so a cursor's own second comes back); ``>=``
  and ``<=`` are refused. ``per_page`` defaults to 20, at most 150. The answer is a
  ``conversation.list`` with ``total_count`` and ``pages.next.starting_after``. Dates are UNIX seconds.
- ``GET /conversations/{id}``: the conversation with its opening message in ``source`` (not among the
  parts) and ``conversation_parts.conversation_parts``, at most 500 (``intercom_part_cap``);
  ``statistics.count_conversation_parts`` counts the opening message too (one more than the parts).
- ``POST /contacts/search`` with the search's filters (e.g. ``email`` ``=``): a ``list`` of contacts in
  ``data``, cursor paging as the conversations' search.
- ``GET /conversations``: every conversation, most recently updated first, cursor paging
  (``per_page`` default 20, at most 150, ``starting_after``).
- Part authors ``user``/``lead`` (the contact), ``bot``, ``admin``; from 2.14 an admin part written by
  Fin carries ``author.from_ai_agent`` and ``author.is_ai_answer``; before 2.14 Fin writes as ``bot``.
  ``ai_agent.resolution_state``: up to 2.14 ``assumed_resolution``, ``confirmed_resolution``,
  ``routed_to_team``, ``abandoned``; from 2.15 a handoff is ``escalated``. Content sources at
  ``ai_agent.content_sources.content_sources[]``. Bodies are HTML.

[SIM] choices where the docs are silent or say it only elsewhere:
- Without ``sort``, search results come in creation order, newest first (never by ``updated_at``):
  a source must not rely on the order of the results.
- ``updated_at`` is the newest part's second: a part written in the same second as the one before
  does not move it. Search results leave out ``ai_agent.resolution_state``, ``rating`` and the
  content sources (they come with ``GET /conversations/{id}`` only).
- A cursor is the offset in the result as computed again for each page.
- No ``Intercom-Version`` header: the workspace's default, 2.11. ``fin_preview`` conversations: about
  1 in 30 of those Fin took part in.
- The bodies are one ``<p>`` per line of the text, escaped; an event part (assignment, open, close)
  has no body (``null``).
"""

from __future__ import annotations

import base64
import html
import json
import random
from collections.abc import Callable
from typing import Any, Final

from .base import ProviderContext, SimRequest, SimResponse, TruthConversation, TruthMessage
from .corpus import Conversation, Message, stable_hash

PROVIDER = "intercom"
PREFIX = "/intercom"
BOT_ID: Final = "intercom"  # Intercom has no bots: one workspace (the source's default `bot_id` label)
VERSIONS: Final = ("2.11", "2.12", "2.13", "2.14", "2.15", "2.16", "Unstable")
DEFAULT_VERSION: Final = "2.11"
MAX_PER_PAGE: Final = 150
DEFAULT_PER_PAGE: Final = 20
FIN_NAME: Final = "Fin"
AGENT_NAME: Final = "Alex (support)"
_EVENTS: Final = ("assignment", "open", "close")


def _error(status: int, code: str, message: str) -> SimResponse:
    return SimResponse(
        status, {"type": "error.list", "request_id": "sim-0000", "errors": [{"code": code, "message": message}]}
    )


def _version(request: SimRequest) -> tuple[str, ...] | None:
    given = request.header("intercom-version") or DEFAULT_VERSION
    return (given,) if given in VERSIONS else None


def _at_least(version: str, wanted: str) -> bool:
    return version == "Unstable" or tuple(map(int, version.split("."))) >= tuple(map(int, wanted.split(".")))


def part_id(conversation: Conversation, message: Message) -> str:
    """Numeric ids, increasing within a conversation (the opening message's too)."""
    return str(900_000_000 + conversation.index * 1000 + message.seq)


def contact_id(conversation: Conversation) -> str:
    """The contact's Intercom id: 24 hex characters."""
    return f"{stable_hash('intercom-contact', conversation.user_id):016x}{conversation.index % 4096:08x}"[:24]


def contact_email(conversation: Conversation) -> str:
    """[SIM] The contact's e-mail address."""
    return f"user.{contact_id(conversation)[:8]}@example.com"


def body_of(text: str) -> str:
    """The HTML body of a text: one paragraph per line, escaped."""
    return "".join(f"<p>{html.escape(line, quote=False)}</p>" for line in text.split("\n"))


def _seconds(message: Message) -> int:
    return message.ts_us // 1_000_000


def _is_event(message: Message) -> bool:
    return message.role == "system"


def _author(conversation: Conversation, message: Message, version: str) -> dict[str, Any]:
    if message.role == "user":
        lead = stable_hash("intercom-lead", conversation.user_id) % 5 == 0
        return {
            "type": "lead" if lead else "user",
            "id": contact_id(conversation),
            "name": None,
            "email": contact_email(conversation),
        }
    if message.role == "assistant":
        if _at_least(version, "2.14"):
            return {
                "type": "admin",
                "id": "8101",
                "name": FIN_NAME,
                "email": "operator@example.intercom.io",
                "from_ai_agent": True,
                "is_ai_answer": True,
            }
        return {"type": "bot", "id": "8101", "name": FIN_NAME, "email": "operator@example.intercom.io"}
    author: dict[str, Any] = {"type": "admin", "id": "4242", "name": AGENT_NAME, "email": "alex@example.com"}
    if _at_least(version, "2.14"):
        author |= {"from_ai_agent": False, "is_ai_answer": False}
    return author


def _part(conversation: Conversation, message: Message, version: str) -> dict[str, Any]:
    event = _is_event(message)
    kind = (
        _EVENTS[stable_hash("intercom-event", conversation.index, message.seq) % len(_EVENTS)] if event else "comment"
    )
    return {
        "type": "conversation_part",
        "id": part_id(conversation, message),
        "part_type": kind,
        "body": None if event else body_of(message.content),
        "created_at": _seconds(message),
        "updated_at": _seconds(message),
        "notified_at": _seconds(message),
        "assigned_to": {"type": "admin", "id": "4242"} if kind == "assignment" else None,
        "author": _author(conversation, message, version)
        if not event
        else {"type": "bot", "id": "8101", "name": FIN_NAME},
        "attachments": [],
        "external_id": None,
        "redacted": False,
    }


def _source(conversation: Conversation, message: Message, version: str) -> dict[str, Any]:
    return {
        "type": "conversation",
        "id": part_id(conversation, message),
        "delivered_as": "customer_initiated" if message.role == "user" else "automated",
        "subject": "",
        "body": body_of(message.content),
        "author": _author(conversation, message, version),
        "attachments": [],
        "url": None,
        "redacted": False,
    }


def _fin(conversation: Conversation, messages: list[Message]) -> bool:
    return any(m.role == "assistant" for m in messages)


def is_preview(conversation: Conversation) -> bool:
    """[SIM] A test of the workspace's admins (``fin_preview``): about 1 in 30."""
    return stable_hash("intercom-preview", conversation.index) % 30 == 0


def resolution_state(conversation: Conversation, messages: list[Message], version: str) -> str | None:
    """Fin's own verdict, in the values of ``version``."""
    if not _fin(conversation, messages):
        return None
    if any(m.role == "agent" for m in messages):
        return "escalated" if _at_least(version, "2.15") else "routed_to_team"
    if messages[-1].role == "user":
        return "abandoned"
    return (
        "confirmed_resolution"
        if stable_hash("intercom-confirmed", conversation.index) % 3 == 0
        else "assumed_resolution"
    )


def content_sources(conversation: Conversation, messages: list[Message]) -> list[dict[str, Any]]:
    """[SIM] The help-center articles Fin used: none, one or two of twelve."""
    if not _fin(conversation, messages):
        return []
    rng = random.Random(stable_hash("intercom-sources", conversation.index))
    return [
        {
            "content_type": "article",
            "url": f"/fin-ai-agent/content?content=article&id={700 + n}",
            "title": f"Help article {n}",
            "locale": "en",
        }
        for n in sorted(rng.sample(range(1, 13), rng.choice((0, 1, 1, 2))))
    ]


def _ai_agent(conversation: Conversation, messages: list[Message], version: str, whole: bool) -> dict[str, Any] | None:
    if not _fin(conversation, messages):
        return None
    agent: dict[str, Any] = {
        "source_type": "fin_preview" if is_preview(conversation) else "workflow",
        "source_title": "Support Fin",
        "last_answer_type": "ai_answer",
    }
    if whole:  # [SIM] only GET /conversations/{id} carries Fin's verdict and sources
        rng = random.Random(stable_hash("intercom-rating", conversation.index))
        sources = content_sources(conversation, messages)
        agent |= {
            "resolution_state": resolution_state(conversation, messages, version),
            "rating": rng.choice((None, None, 3, 4, 5, 1)),
            "rating_remark": None,
            "content_sources": {
                "type": "content_source.list",
                "total_count": len(sources),
                "content_sources": sources,
            },
        }
    return agent


def conversation_record(
    conversation: Conversation, messages: list[Message], version: str, whole: bool, cap: int
) -> dict[str, Any]:
    """The conversation as search (``whole`` False) or ``GET /conversations/{id}`` returns it."""
    first, rest = messages[0], messages[1:]
    record: dict[str, Any] = {
        "type": "conversation",
        "id": conversation.external_id,
        "title": None,
        "created_at": _seconds(first),
        "updated_at": max(_seconds(m) for m in messages),
        "waiting_since": None,
        "snoozed_until": None,
        "open": messages[-1].role == "user",
        "state": "open" if messages[-1].role == "user" else "closed",
        "read": True,
        "priority": "not_priority",
        "admin_assignee_id": 4242 if any(m.role == "agent" for m in messages) else None,
        "team_assignee_id": None,
        "tags": {"type": "tag.list", "tags": []},
        "conversation_rating": None,
        "source": _source(conversation, first, version),
        "contacts": {
            "type": "contact.list",
            "contacts": [{"type": "contact", "id": contact_id(conversation), "external_id": conversation.user_id}],
        },
        "teammates": {"type": "admin.list", "admins": []},
        "custom_attributes": {},
        "statistics": {
            "type": "conversation_statistics",
            "count_conversation_parts": len(messages),  # the opening message counts (airbyte#39463)
            "count_reopens": 0,
            "count_assignments": sum(1 for m in messages if m.role == "agent"),
        },
        "ai_agent_participated": _fin(conversation, messages),
        "ai_agent": _ai_agent(conversation, messages, version, whole),
    }
    if whole:
        parts = [_part(conversation, m, version) for m in rest[:cap]]
        record["conversation_parts"] = {
            "type": "conversation_part.list",
            "conversation_parts": parts,
            "total_count": len(parts),
        }
    return record


def handle(request: SimRequest, ctx: ProviderContext) -> SimResponse:
    """Serves one Intercom request."""
    token = (request.header("authorization") or "").removeprefix("Bearer ").strip()
    if token != ctx.settings.api_keys[PROVIDER]:
        return _error(401, "unauthorized", "Access Token Invalid")
    version = _version(request)
    if version is None:
        return _error(400, "intercom_version_invalid", f"Requested version is not valid; one of {', '.join(VERSIONS)}")
    if request.method == "POST" and request.path == "/conversations/search":
        return _search(request, ctx, version[0])
    if request.method == "POST" and request.path == "/contacts/search":
        return _contacts(request, ctx)
    if request.method == "GET" and request.path == "/conversations":
        return _list(request, ctx)
    if request.method == "GET" and request.path.startswith("/conversations/"):
        return _get(ctx, request.path.removeprefix("/conversations/"), version[0])
    return _error(404, "not_found", "Resource Not Found")


def _visible(ctx: ProviderContext) -> list[tuple[Conversation, list[Message]]]:
    found = []
    for conversation in ctx.corpus.conversations(PROVIDER):
        messages = ctx.corpus.visible_messages(conversation)
        if messages:
            found.append((conversation, messages))
    return found


def _get(ctx: ProviderContext, conversation_id: str, version: str) -> SimResponse:
    conversation = ctx.corpus.find(PROVIDER, conversation_id)
    messages = ctx.corpus.visible_messages(conversation) if conversation is not None else []
    if conversation is None or not messages:
        return _error(404, "not_found", "Resource Not Found")
    return SimResponse(200, conversation_record(conversation, messages, version, True, ctx.settings.intercom_part_cap))


_OPERATORS: Final[dict[str, Callable[[Any, Any], bool]]] = {
    "=": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
    "IN": lambda a, b: a in b,
    "NIN": lambda a, b: a not in b,
    ">": lambda a, b: a is not None and a >= b,  # "greater (or equal) than"
    "<": lambda a, b: a is not None and a <= b,  # "lower (or equal) than"
    "~": lambda a, b: a is not None and str(b) in str(a),
}


class _BadQuery(ValueError):
    pass


def _field(record: dict[str, Any], path: str) -> Any:
    value: Any = record
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def _matches(record: dict[str, Any], query: Any) -> bool:
    if not isinstance(query, dict) or "operator" not in query:
        raise _BadQuery("a filter needs an operator")
    operator = query["operator"]
    if operator in ("AND", "OR"):
        parts = query.get("value")
        if not isinstance(parts, list) or not parts:
            raise _BadQuery(f"{operator} needs a list of filters")
        results = [_matches(record, part) for part in parts]
        return all(results) if operator == "AND" else any(results)
    if operator not in _OPERATORS:
        raise _BadQuery(f"operator {operator!r} is not supported; supported: {', '.join(_OPERATORS)}, AND, OR")
    return _OPERATORS[operator](_field(record, str(query.get("field"))), query.get("value"))


def _page_size(value: Any) -> int:
    size = DEFAULT_PER_PAGE if value is None else value
    if not isinstance(size, int) or not 1 <= size <= MAX_PER_PAGE:
        raise _BadQuery(f"per_page must be between 1 and {MAX_PER_PAGE}")
    return size


def _cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"offset": offset}).encode()).decode()


def _offset(cursor: Any) -> int:
    if cursor in (None, ""):
        return 0
    try:
        return int(json.loads(base64.urlsafe_b64decode(str(cursor).encode()))["offset"])
    except (ValueError, KeyError, TypeError):
        raise _BadQuery("starting_after is not a cursor this API gave") from None


def _paged(items: list[dict[str, Any]], offset: int, size: int) -> dict[str, Any]:
    page = items[offset : offset + size]
    pages: dict[str, Any] = {
        "type": "pages",
        "page": offset // size + 1,
        "per_page": size,
        "total_pages": max(1, -(-len(items) // size)),
    }
    if offset + size < len(items):
        pages["next"] = {"page": offset // size + 2, "starting_after": _cursor(offset + size)}
    return {"type": "conversation.list", "conversations": page, "total_count": len(items), "pages": pages}


def _search(request: SimRequest, ctx: ProviderContext, version: str) -> SimResponse:
    try:
        body = request.json()
        if not isinstance(body, dict) or "query" not in body:
            raise _BadQuery("the body needs a query")
        pagination = body.get("pagination") or {}
        size, offset = _page_size(pagination.get("per_page")), _offset(pagination.get("starting_after"))
        cap = ctx.settings.intercom_part_cap
        records = [conversation_record(c, m, version, False, cap) for c, m in _visible(ctx)]
        found = [r for r in records if _matches(r, body["query"])]
    except _BadQuery as exc:
        return _error(400, "parameter_invalid", str(exc))
    except ValueError:
        return _error(400, "parameter_invalid", "the body is not JSON")
    sort = body.get("sort")
    if isinstance(sort, dict) and sort.get("field"):
        found.sort(
            key=lambda r: (_field(r, str(sort["field"])) or 0, r["id"]), reverse=sort.get("order") == "descending"
        )
    else:
        found.sort(key=lambda r: (r["created_at"], r["id"]), reverse=True)
    return SimResponse(200, _paged(found, offset, size))


def _contacts(request: SimRequest, ctx: ProviderContext) -> SimResponse:
    """``POST /contacts/search``: the contacts matching a filter on their fields (``email``, ``id``)."""
    try:
        body = request.json()
        if not isinstance(body, dict) or "query" not in body:
            raise _BadQuery("the body needs a query")
        size = _page_size((body.get("pagination") or {}).get("per_page"))
        offset = _offset((body.get("pagination") or {}).get("starting_after"))
        contacts = {
            contact_id(c): {"type": "contact", "id": contact_id(c), "email": contact_email(c), "external_id": c.user_id}
            for c, _ in _visible(ctx)
        }
        found = sorted((r for r in contacts.values() if _matches(r, body["query"])), key=lambda r: r["id"])
    except _BadQuery as exc:
        return _error(400, "parameter_invalid", str(exc))
    except ValueError:
        return _error(400, "parameter_invalid", "the body is not JSON")
    page = _paged(found, offset, size)
    return SimResponse(
        200, {"type": "list", "data": page["conversations"], "total_count": len(found), "pages": page["pages"]}
    )


def _list(request: SimRequest, ctx: ProviderContext) -> SimResponse:
    try:
        size = _page_size(int(request.query["per_page"]) if "per_page" in request.query else None)
        offset = _offset(request.query.get("starting_after"))
    except (_BadQuery, ValueError) as exc:
        return _error(400, "parameter_invalid", str(exc))
    records = [
        conversation_record(c, m, DEFAULT_VERSION, False, ctx.settings.intercom_part_cap) for c, m in _visible(ctx)
    ]
    records.sort(key=lambda r: (r["updated_at"], r["id"]), reverse=True)
    return SimResponse(200, _paged(records, offset, size))


def truth(
    conversation: Conversation, messages: list[Message], ctx: ProviderContext
) -> tuple[TruthConversation, list[TruthMessage]]:
    """What a correct source loads for this conversation: every message the API returns (the opening one and
    up to ``intercom_part_cap`` parts), in canonical terms."""
    shown = messages[: 1 + ctx.settings.intercom_part_cap]
    sources = {m.seq: content_sources(conversation, messages) for m in shown if m.role == "assistant"}
    last_fin = max((m.seq for m in shown if m.role == "assistant"), default=None)
    rows = [
        TruthMessage(
            provider=PROVIDER,
            bot_id=BOT_ID,
            conversation_id=conversation.external_id,
            message_id=part_id(conversation, m),
            position=m.seq,
            role=m.role,
            content=None if _is_event(m) else m.content,
            created_at=m.created_at.replace(microsecond=0),
            sender_id=contact_id(conversation) if m.role == "user" else None,
            knowledge_ids=tuple(s["url"] for s in sources.get(m.seq, [])) if m.seq == last_fin else (),
        )
        for m in shown
    ]
    head = TruthConversation(
        provider=PROVIDER,
        bot_id=BOT_ID,
        conversation_id=conversation.external_id,
        started_at=shown[0].created_at.replace(microsecond=0) if shown else None,
        user_id=contact_id(conversation),
        reported_message_count=len(messages),
        handed_off=any(m.role == "agent" for m in messages),
    )
    return head, rows
