"""example-ai: ``GET {base}/chat/history``, timestamp-cursor paging, newest first.

Documented and implemented: Bearer auth; ``conversation_id`` (required), ``limit`` (default 20,
max 100), ``before``/``after`` (mutually exclusive, ISO-8601 UTC), ``include_meta``; the success
envelope with ``pagination`` and the ``{"status":"error","message":…,"data":null}`` errors
400/401/404/500; whole-second UTC timestamps, newest first by default.

[SIM] choices where the docs are silent:
- With no ``after``: newest first; ``next_cursor`` is the oldest ``created_at`` on the page, to be
  passed as ``before``. With ``after``: oldest first; ``next_cursor`` is the newest on the page.
- Both bounds are strict (exclusive), so a client that trusts ``next_cursor`` loses the rest of
  a second that a page boundary splits.
- ``limit`` outside 1..100, a non-integer limit or an unparsable timestamp give 400.
- ``metadata`` is sent only with ``include_meta=true``.
- Within one second, messages are ordered by their position in the conversation.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pendulum

from .base import (
    ProviderContext,
    SimRequest,
    SimResponse,
    TruthConversation,
    TruthMessage,
    iso_z_seconds,
    truncate_to,
)
from .corpus import Conversation, Message, stable_hash

PROVIDER = "example_ai"
PREFIX = "/example-ai/v1"
SENDER_TYPES = {"user": "user", "assistant": "ai", "agent": "ai", "system": "system"}
CANONICAL_ROLES = {"user": "user", "ai": "assistant", "system": "system"}


def _error(status: int, message: str) -> SimResponse:
    return SimResponse(status, {"status": "error", "message": message, "data": None})


def message_id(conversation: Conversation, message: Message) -> str:
    """The provider-facing id of a message."""
    return "msg_" + format(stable_hash(conversation.external_id, message.seq), "x")[:12]


MODELS = ("gpt-4o-mini", "claude-3-5-haiku")  # [SIM] one model per conversation, as a bot would pin one


def ai_metadata(conversation: Conversation, message: Message) -> dict[str, Any]:
    """``metadata`` of an AI message: the model and how long it took."""
    model = MODELS[stable_hash("example-ai-model", conversation.index) % len(MODELS)]
    base = 200 if model == MODELS[0] else 450
    return {"model": model, "latency_ms": base + message.seq * 37 % 900}


def render(conversation: Conversation, message: Message, include_meta: bool) -> dict[str, Any]:
    """A message as example-ai sends it."""
    sender_type = SENDER_TYPES[message.role]
    item: dict[str, Any] = {
        "id": message_id(conversation, message),
        "sender_type": sender_type,
        "sender_id": message.sender_id,
        "text": message.content,
    }
    if include_meta:
        other = {"channel": "web", "attachments": []}
        item["metadata"] = ai_metadata(conversation, message) if sender_type == "ai" else other
    item["created_at"] = iso_z_seconds(message.created_at)
    return item


def _parse_time(raw: str) -> datetime:
    parsed = pendulum.parse(raw)
    if not isinstance(parsed, datetime):
        raise ValueError(raw)
    return parsed


def handle(request: SimRequest, ctx: ProviderContext) -> SimResponse:
    """Serves one example-ai request."""
    if request.method != "GET" or request.path != "/chat/history":
        return _error(404, f"Not found: {request.method} {request.path}.")
    if request.header("authorization") != f"Bearer {ctx.settings.api_keys[PROVIDER]}":
        return _error(401, "Missing or invalid Authorization header.")
    query = request.query
    conversation_id = query.get("conversation_id")
    if not conversation_id:
        return _error(400, "Missing required query parameter: conversation_id.")
    if "before" in query and "after" in query:
        return _error(400, "Invalid query parameter: before and after cannot both be set.")
    try:
        limit = int(query.get("limit", "20"))
        before = _parse_time(query["before"]) if "before" in query else None
        after = _parse_time(query["after"]) if "after" in query else None
    except (ValueError, pendulum.parsing.exceptions.ParserError):
        return _error(400, "Invalid query parameter.")
    if not 1 <= limit <= 100:
        return _error(400, "Invalid query parameter: limit must be between 1 and 100.")
    conversation = ctx.corpus.find(PROVIDER, conversation_id)
    if conversation is None:
        return _error(404, f"Conversation not found: {conversation_id}.")
    include_meta = query.get("include_meta", "false").lower() == "true"
    return _page(conversation, ctx, limit, before, after, include_meta)


def _page(
    conversation: Conversation,
    ctx: ProviderContext,
    limit: int,
    before: datetime | None,
    after: datetime | None,
    include_meta: bool,
) -> SimResponse:
    messages = ctx.corpus.visible_messages(conversation)
    seconds = [int(m.ts_us // 1_000_000) for m in messages]
    if after is not None:
        bound = after.timestamp()
        selected = [m for m, s in zip(messages, seconds, strict=True) if s > bound]
    else:
        bound = before.timestamp() if before is not None else float("inf")
        selected = [m for m, s in zip(messages, seconds, strict=True) if s < bound]
        selected.reverse()
    page = selected[:limit]
    rendered = [render(conversation, m, include_meta) for m in page]
    return SimResponse(
        200,
        {
            "status": "success",
            "message": "Chat history retrieved successfully.",
            "data": {"conversation_id": conversation.external_id, "messages": rendered},
            "pagination": {
                "limit": limit,
                "next_cursor": rendered[-1]["created_at"] if rendered else None,
                "has_more": len(selected) > limit,
            },
        },
    )


def _signals(conversation: Conversation, message: Message) -> dict[str, Any]:
    if SENDER_TYPES[message.role] != "ai":
        return {}
    metadata = ai_metadata(conversation, message)
    return {"model": metadata["model"], "latency_ms": metadata["latency_ms"]}


def truth(
    conversation: Conversation, messages: list[Message], ctx: ProviderContext
) -> tuple[TruthConversation, list[TruthMessage]]:
    """What a correct source loads for this conversation."""
    rows = [
        TruthMessage(
            provider=PROVIDER,
            bot_id=None,
            conversation_id=conversation.external_id,
            message_id=message_id(conversation, m),
            position=m.seq,
            role=CANONICAL_ROLES[SENDER_TYPES[m.role]],
            content=m.content,
            created_at=truncate_to(m.created_at, 0),
            sender_id=m.sender_id,
            **_signals(conversation, m),
        )
        for m in messages
    ]
    head = TruthConversation(
        provider=PROVIDER,
        bot_id=None,  # the API has no notion of bots: the source labels them from config
        conversation_id=conversation.external_id,
        started_at=rows[0].created_at if rows else None,
        user_id=conversation.user_id,
        reported_message_count=None,
    )
    return head, rows
