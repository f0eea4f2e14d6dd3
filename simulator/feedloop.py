"""Feedloop: ``GET {base}/widget/{convo_id}/chats`` returns a conversation's whole history.

Documented and implemented: the ``Token`` header; the ``{"status":"success","data":[…]}``
envelope. The shape of each history message is **not** documented, so the simulator serves one of
several plausible shapes, chosen by ``SimulatorSettings.feedloop_shape``:

- ``reply``: like the Chat Message reply: ``{"type":"text","role":…,"payload":{"content":…}}``;
  no id, no timestamp.
- ``role_content``: ``{"id":…,"role":"user"|"assistant"|"system","content":…,"created_at":…}``.
- ``sender_message``: ``{"sender":"user"|"bot"|"system","message":…,"timestamp":<epoch ms>}``;
  no id.
- ``mixed``: each item in one of the three shapes above, and about 3% in a shape no source can
  recognise (``{"event":"message","body":{…}}``).

[SIM] choices where the docs are silent:
- No paging: one GET returns the whole conversation, oldest first.
- A missing or wrong token gets 401 ``{"status":"error","message":"Invalid token"}``; an unknown
  conversation 404 ``{"status":"error","message":"Conversation not found"}``.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from .base import (
    ProviderContext,
    SimRequest,
    SimResponse,
    TruthConversation,
    TruthMessage,
    truncate_to,
)
from .corpus import Conversation, Message, stable_hash

PROVIDER = "feedloop"
PREFIX = "/feedloop"
_CHATS = re.compile(r"^/widget/([^/]+)/chats$")
_SHAPES = ("reply", "role_content", "sender_message")
_SENDER = {"user": "user", "assistant": "bot", "system": "system"}


def _error(status: int, message: str) -> SimResponse:
    return SimResponse(status, {"status": "error", "message": message})


def shape_of(conversation: Conversation, message: Message, configured: str) -> str:
    """The shape one item is served in."""
    if configured != "mixed":
        return configured
    roll = stable_hash("feedloop-shape", conversation.external_id, message.seq) % 100
    return "unrecognised" if roll < 3 else _SHAPES[roll % 3]


def _message_uuid(conversation: Conversation, message: Message) -> str:
    return str(uuid.UUID(int=stable_hash("fl", conversation.external_id, message.seq) << 64 | message.seq))


def render(conversation: Conversation, message: Message, shape: str) -> dict[str, Any]:
    """One history item in the given shape."""
    millis = message.ts_us // 1_000
    if shape == "reply":
        return {"type": "text", "role": message.role, "payload": {"content": message.content, "references": []}}
    if shape == "role_content":
        created = truncate_to(message.created_at, 3).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        return {
            "id": _message_uuid(conversation, message),
            "role": message.role,
            "content": message.content,
            "created_at": created,
        }
    if shape == "sender_message":
        return {"sender": _SENDER[message.role], "message": message.content, "timestamp": millis}
    return {"event": "message", "body": {"value": message.content, "at": millis}}


def handle(request: SimRequest, ctx: ProviderContext) -> SimResponse:
    """Serves one Feedloop request."""
    if request.header("token") != ctx.settings.api_keys[PROVIDER]:
        return _error(401, "Invalid token")
    match = _CHATS.match(request.path)
    if request.method != "GET" or match is None:
        return _error(404, "Not found")
    conversation = ctx.corpus.find(PROVIDER, match.group(1))
    if conversation is None:
        return _error(404, "Conversation not found")
    shape = ctx.settings.feedloop_shape
    visible = ctx.corpus.visible_messages(conversation)
    items = [render(conversation, m, shape_of(conversation, m, shape)) for m in visible]
    return SimResponse(200, {"status": "success", "data": items})


def truth(
    conversation: Conversation, messages: list[Message], ctx: ProviderContext
) -> tuple[TruthConversation, list[TruthMessage]]:
    """What a correct source loads; ids and timestamps only where the shape carries them."""
    rows = []
    for m in messages:
        shape = shape_of(conversation, m, ctx.settings.feedloop_shape)
        recognised = shape != "unrecognised"
        rows.append(
            TruthMessage(
                provider=PROVIDER,
                bot_id=None,
                conversation_id=conversation.external_id,
                message_id=_message_uuid(conversation, m) if shape == "role_content" else None,
                position=m.seq,
                role=m.role if recognised else "unknown",
                content=m.content if recognised else None,
                created_at=truncate_to(m.created_at, 3) if shape in ("role_content", "sender_message") else None,
                sender_id=None,
            )
        )
    head = TruthConversation(
        provider=PROVIDER,
        bot_id=None,
        conversation_id=conversation.external_id,
        # [SIM] Feedloop sends no start; a correct warehouse holds its first message's time where items carry one
        started_at=min((r.created_at for r in rows if r.created_at is not None), default=None),
        user_id=None,
        reported_message_count=None,
    )
    return head, rows
