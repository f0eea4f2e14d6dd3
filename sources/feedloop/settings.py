"""Feedloop contract constants, and the field names tried for the undocumented message shape."""

from typing import Final

PROVIDER: Final = "feedloop"
DEFAULT_BASE_URL: Final = "https://platform-api.feedloop.ai"
HISTORY_PATH: Final = "/widget/{convo_id}/chats"
HISTORY_SELECTOR: Final = "data"
DEFAULT_WORKERS: Final = 8

# No field of a history item is documented: these are tried in order.
ID_FIELDS: Final = ("id", "message_id", "messageId", "_id", "uuid")
ROLE_FIELDS: Final = ("role", "sender", "sender_type", "author", "from", "speaker")
TEXT_PATHS: Final = (
    ("content",),
    ("message",),
    ("text",),
    ("payload", "content"),
    ("message", "content"),
    ("message", "text"),
    ("data", "content"),
)
TIME_FIELDS: Final = ("created_at", "createdAt", "timestamp", "time", "sent_at", "date")
ROLES: Final = {
    "user": "user",
    "human": "user",
    "customer": "user",
    "visitor": "user",
    "client": "user",
    "assistant": "assistant",
    "bot": "assistant",
    "ai": "assistant",
    "chatbot": "assistant",
    "model": "assistant",
    "agent": "agent",
    "operator": "agent",
    "system": "system",
}
