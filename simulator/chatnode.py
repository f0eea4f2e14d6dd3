"""ChatNode: ``POST /get-conversation-ids/{bot_id}`` for leads, ``POST /get-chats/{bot_id}`` for chats.

Documented and implemented: Bearer auth; 401 ``{"message":"Bearer token missing or unknown"}``
and 403 ``{"message":"Bot access not allowed"}``; leads with ``session_id``, ``created_at`` and
``enduser_*``; chats with ``message.type`` / ``message.data`` of ``ai`` or ``human``; a body of
session ids (``k`` ignored) or ``[]`` (``k`` most recent conversations).

[SIM] choices where the docs are silent:
- No pagination.
- A body that is not a JSON array of strings, or has more than 100 ids, gets 422 with a FastAPI
  ``{"detail": […]}`` body.
- With ``chatnode_error_style="detail"`` the 401/403 bodies are ``{"detail": "…"}`` instead.
- ``k`` defaults to 10. Unknown session ids are ignored. An unknown bot answers 404.
- Leads are listed oldest first; chats in time order, by session in request order.
"""

from __future__ import annotations

import random
import re
from typing import Any

from .base import (
    ProviderContext,
    SimRequest,
    SimResponse,
    TruthConversation,
    TruthMessage,
    iso_offset,
    truncate_to,
)
from .corpus import Conversation, Message, stable_hash

PROVIDER = "chatnode"
PREFIX = "/chatnode/v1"
MAX_IDS = 100
_LEADS = re.compile(r"^/get-conversation-ids/([^/]+)$")
_CHATS = re.compile(r"^/get-chats/([^/]+)$")
_NAMES = ["Ana Lima", "Jürgen Groß", "李伟", "Fatima Zahra", None]


def _error(ctx: ProviderContext, status: int, message: str) -> SimResponse:
    key = "detail" if ctx.settings.chatnode_error_style == "detail" else "message"
    return SimResponse(status, {key: message})


def _validation_error(message: str) -> SimResponse:
    return SimResponse(422, {"detail": [{"loc": ["body"], "msg": message, "type": "value_error"}]})


def message_id(conversation: Conversation, message: Message) -> str:
    """15-character chat ids."""
    return format(stable_hash("chatnode", conversation.external_id, message.seq), "x")[:15]


def lead_record(conversation: Conversation) -> dict[str, Any]:
    """A conversation ("lead") as ``get-conversation-ids`` returns it."""
    rng = random.Random(stable_hash("chatnode-lead", conversation.index))
    name = rng.choice(_NAMES)
    record: dict[str, Any] = {
        "session_id": conversation.external_id,
        "created_at": iso_offset(conversation.started_at, 3),
    }
    if name is not None:
        slug = name.split()[0].lower()
        record |= {
            "enduser_name": name,
            "enduser_email": f"{slug}.{conversation.index}@example.com",
            "enduser_phone": f"+1-555-{conversation.index % 10_000:04d}",
        }
    record["for_agent"] = rng.random() < 0.1
    return record


def _chat_record(conversation: Conversation, message: Message) -> dict[str, Any]:
    kind = "human" if message.role == "user" else "ai"
    return {
        "id": message_id(conversation, message),
        "message": {"type": kind, "data": {"type": kind, "content": message.content}},
        "session_id": conversation.external_id,
        "created_at": iso_offset(message.created_at, 3),
    }


def handle(request: SimRequest, ctx: ProviderContext) -> SimResponse:
    """Serves one ChatNode request."""
    if request.header("authorization") != f"Bearer {ctx.settings.api_keys[PROVIDER]}":
        return _error(ctx, 401, "Bearer token missing or unknown")
    match = _LEADS.match(request.path) or _CHATS.match(request.path)
    if request.method != "POST" or match is None:
        return SimResponse(404, {"detail": "Not Found"})
    bot_id = match.group(1)
    if not any(b.bot_id == bot_id for b in ctx.corpus.bots[PROVIDER]):
        return SimResponse(404, {"detail": "Not Found"})
    if bot_id in ctx.settings.chatnode_forbidden_bots:
        return _error(ctx, 403, "Bot access not allowed")
    if request.path.startswith("/get-conversation-ids/"):
        return SimResponse(200, [lead_record(c) for c in ctx.corpus.conversations(PROVIDER, bot_id)])
    return _chats(request, ctx, bot_id)


def _chats(request: SimRequest, ctx: ProviderContext, bot_id: str) -> SimResponse:
    try:
        ids = request.json()
    except ValueError:
        return _validation_error("body is not valid JSON")
    if ids is None:
        ids = []
    if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
        return _validation_error("value is not a valid list of strings")
    if len(ids) > MAX_IDS:
        return _validation_error(f"ensure this value has at most {MAX_IDS} items")
    if ids:
        found = (ctx.corpus.find(PROVIDER, i) for i in ids)
        conversations = [c for c in found if c is not None and c.bot.bot_id == bot_id]
    else:
        k = int(request.query.get("k", "10"))
        conversations = list(ctx.corpus.conversations(PROVIDER, bot_id))[-k:] if k > 0 else []
    chats = [_chat_record(c, m) for c in conversations for m in ctx.corpus.visible_messages(c)]
    return SimResponse(200, chats)


def truth(
    conversation: Conversation, messages: list[Message], ctx: ProviderContext
) -> tuple[TruthConversation, list[TruthMessage]]:
    """What a correct source loads for this conversation."""
    rows = [
        TruthMessage(
            provider=PROVIDER,
            bot_id=conversation.bot.bot_id,
            conversation_id=conversation.external_id,
            message_id=message_id(conversation, m),
            position=m.seq,
            role="user" if m.role == "user" else "assistant",
            content=m.content,
            created_at=truncate_to(m.created_at, 3),
            sender_id=None,
        )
        for m in messages
    ]
    head = TruthConversation(
        provider=PROVIDER,
        bot_id=conversation.bot.bot_id,
        conversation_id=conversation.external_id,
        started_at=truncate_to(conversation.started_at, 3),
        user_id=None,
        reported_message_count=None,
        handed_off=lead_record(conversation)["for_agent"],
    )
    return head, rows
