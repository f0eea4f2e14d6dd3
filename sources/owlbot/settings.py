"""OwlBot contract constants."""

from typing import Final

PROVIDER: Final = "owlbot"
DEFAULT_BASE_URL: Final = "https://www.owlbot.ai/api"
CHECK_TOKEN_PATH: Final = "/login/checkToken"
SESSIONS_PATH: Final = "/chatbot/{chatbot_uuid}/conversation"
MESSAGES_PATH: Final = "/chatbot/{chatbot_uuid}/{session_uuid}"
DEFAULT_WORKERS: Final = 8
# HTTP 400 bodies that mean the key is missing or wrong (OwlBot does not use 401)
CREDENTIAL_ERRORS: Final = frozenset({"No token", "No verify"})
ROLES: Final = {"user": "user", "assistant": "assistant", "agent": "agent"}
