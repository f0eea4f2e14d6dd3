"""OwlBot: bots via ``POST /login/checkToken``, sessions per bot, then messages per session.

Documented and implemented: the raw key in ``Authorization`` (no ``Bearer``); HTTP 400 "No token"
when it is missing and "No verify" when it is wrong; the ``checkToken`` body with ``chatbot[]``;
the session array with ``messagenbr`` (user messages only) and microsecond ``created_at`` with an
offset; the ``{"messageArr": […], "botPreferences": {…}}`` messages object; identical
``created_at`` for a question and its answer, with increasing integer ids.

[SIM] choices where the docs are silent:
- Neither list is paginated.
- Error bodies are ``{"message": "No token"}`` (likewise "No verify", "Chatbot not found",
  "Session not found"); an unknown bot or session answers 404.
- Sessions are listed oldest first; messages in ``id`` order.
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
)
from .corpus import Conversation, Message, stable_hash

PROVIDER = "owlbot"
PREFIX = "/owlbot/api"
_SESSIONS = re.compile(r"^/chatbot/([^/]+)/conversation$")
_MESSAGES = re.compile(r"^/chatbot/([^/]+)/([^/]+)$")
_CITIES = [("Paris", "cdg1", "FR"), ("Berlin", "fra1", "DE"), ("São Paulo", "gru1", "BR"), ("Tokyo", "hnd1", "JP")]
_AGENTS = [
    "Mozilla/5.0 (iPhone; CPU iPhone OS 16_3 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/120.0 Safari/537.36",
]


# what chatsync's device classes make of _AGENTS (ua-parser families), for the ground truth
DEVICE_TYPES = {_AGENTS[0]: "mobile", _AGENTS[1]: "desktop"}


def _vectors(conversation: Conversation, message: Message) -> list[int]:
    """[SIM] The knowledge-base vectors a reply used: none, or one or two of the bot's 12."""
    rng = random.Random(stable_hash("owlbot-vectors", conversation.index, message.seq))
    return sorted(rng.sample(range(1, 13), rng.choice((0, 1, 1, 2))))


def _cited(conversation: Conversation, message: Message) -> tuple[str, ...]:
    return tuple(str(v) for v in _vectors(conversation, message)) if message.role == "assistant" else ()


def _error(status: int, message: str) -> SimResponse:
    return SimResponse(status, {"message": message})


def message_id(conversation: Conversation, message: Message) -> int:
    """Integer ids that increase within a session."""
    return conversation.index * 1000 + message.seq


def session_record(conversation: Conversation, messages: list[Message]) -> dict[str, Any]:
    """A session as the sessions list returns it."""
    rng = random.Random(stable_hash("owlbot-session", conversation.index))
    city, region, country = rng.choice(_CITIES)
    return {
        "id": conversation.index,
        "created_at": iso_offset(conversation.started_at, 6),
        "user_agent": rng.choice(_AGENTS),
        "uuid": conversation.user_id,
        "visibility": rng.choice([0, 1, 1, 2]),
        "ip": f"{rng.randrange(1, 223)}.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}",
        "geo": {
            "city": city,
            "region": region,
            "country": country,
            "latitude": f"{rng.uniform(-60, 60):.4f}",
            "longitude": f"{rng.uniform(-150, 150):.4f}",
            "countryRegion": country,
        },
        "chatbot_uuid": conversation.bot.bot_id,
        "session_uuid": conversation.external_id,
        "messagenbr": sum(1 for m in messages if m.role == "user"),
    }


def _message_record(conversation: Conversation, message: Message) -> dict[str, Any]:
    return {
        "id": message_id(conversation, message),
        "created_at": iso_offset(message.created_at, 6),
        "chatbot_uuid": conversation.bot.bot_id,
        "user": message.role,
        "content": message.content,
        "doc_vector_id": None if message.role == "user" else _vectors(conversation, message),
        "user_session": conversation.external_id,
    }


def handle(request: SimRequest, ctx: ProviderContext) -> SimResponse:
    """Serves one OwlBot request."""
    key = request.header("authorization")
    if not key:
        return _error(400, "No token")
    if key != ctx.settings.api_keys[PROVIDER]:
        return _error(400, "No verify")
    if request.method == "POST" and request.path == "/login/checkToken":
        return _check_token(ctx)
    if request.method != "GET":
        return _error(404, "Not found")
    if match := _SESSIONS.match(request.path):
        return _sessions(ctx, match.group(1))
    if match := _MESSAGES.match(request.path):
        return _messages(ctx, match.group(1), match.group(2))
    return _error(404, "Not found")


def _check_token(ctx: ProviderContext) -> SimResponse:
    bots = []
    for number, bot in enumerate(ctx.corpus.bots[PROVIDER], start=91):
        count = sum(len(ctx.corpus.visible_messages(c)) for c in ctx.corpus.conversations(PROVIDER, bot.bot_id))
        bots.append(
            {
                "id": number,
                "created_at": "2023-06-28T07:01:58.308677+00:00",
                "bot_title": bot.title,
                "uuid": bot.bot_id,
                "visibility": 1,
                "active": 1,
                "messages_count": count,
            }
        )
    return SimResponse(200, {"user": {"id": 1, "email": "owner@example.com"}, "chatbot": bots})


def _bot_exists(ctx: ProviderContext, bot_id: str) -> bool:
    return any(b.bot_id == bot_id for b in ctx.corpus.bots[PROVIDER])


def _sessions(ctx: ProviderContext, bot_id: str) -> SimResponse:
    if not _bot_exists(ctx, bot_id):
        return _error(404, "Chatbot not found")
    sessions = [session_record(c, ctx.corpus.visible_messages(c)) for c in ctx.corpus.conversations(PROVIDER, bot_id)]
    return SimResponse(200, sessions)


def _messages(ctx: ProviderContext, bot_id: str, session_uuid: str) -> SimResponse:
    conversation = ctx.corpus.find(PROVIDER, session_uuid)
    if not _bot_exists(ctx, bot_id):
        return _error(404, "Chatbot not found")
    if conversation is None or conversation.bot.bot_id != bot_id:
        return _error(404, "Session not found")
    records = [_message_record(conversation, m) for m in ctx.corpus.visible_messages(conversation)]
    return SimResponse(200, {"messageArr": records, "botPreferences": {"bot_title": conversation.bot.title}})


def truth(
    conversation: Conversation, messages: list[Message], ctx: ProviderContext
) -> tuple[TruthConversation, list[TruthMessage]]:
    """What a correct source loads for this session."""
    rows = [
        TruthMessage(
            provider=PROVIDER,
            bot_id=conversation.bot.bot_id,
            conversation_id=conversation.external_id,
            message_id=str(message_id(conversation, m)),
            position=m.seq,
            role=m.role,
            content=m.content,
            created_at=m.created_at,
            sender_id=None,
            knowledge_ids=_cited(conversation, m),
        )
        for m in messages
    ]
    session = session_record(conversation, messages)
    head = TruthConversation(
        provider=PROVIDER,
        bot_id=conversation.bot.bot_id,
        conversation_id=conversation.external_id,
        started_at=conversation.started_at,
        user_id=conversation.user_id,
        reported_message_count=session_record(conversation, messages)["messagenbr"],
        country=session["geo"]["country"],
        device_type=DEVICE_TYPES[session["user_agent"]],
        bot_name=conversation.bot.title,
    )
    return head, rows
