"""ChatNode contract constants."""

from typing import Final

PROVIDER: Final = "chatnode"
DEFAULT_BASE_URL: Final = "https://api.public.chatnode.ai/v1"
LEADS_PATH: Final = "/get-conversation-ids/{bot_id}"
CHATS_PATH: Final = "/get-chats/{bot_id}"
# The API documents no ceiling on the ids in one get-chats body; a 422 halves a batch.
DEFAULT_BATCH_SIZE: Final = 50
DEFAULT_LOOKBACK_DAYS: Final = 7.0
DEFAULT_WORKERS: Final = 8
ROLES: Final = {"human": "user", "ai": "assistant"}
