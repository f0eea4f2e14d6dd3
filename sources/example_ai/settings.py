"""example-ai contract constants."""

from typing import Final

PROVIDER: Final = "example_ai"
DEFAULT_BASE_URL: Final = "https://api.example-ai.com/v1"
HISTORY_PATH: Final = "/chat/history"
MAX_PAGE_SIZE: Final = 100
DEFAULT_WORKERS: Final = 8
DEFAULT_BOT_LABEL: Final = "default"
MESSAGES_SELECTOR: Final = "data.messages"
ROLES: Final = {"user": "user", "ai": "assistant", "system": "system"}
# the documented 404 body's message of an unknown conversation: "Conversation not found: <id>."
NOT_FOUND_MESSAGE: Final = "Conversation not found"
