"""Intercom contract constants (REST API, pinned by the ``Intercom-Version`` header)."""

from typing import Final

PROVIDER: Final = "intercom"
DEFAULT_BASE_URL: Final = "https://api.intercom.io"  # EU: https://api.eu.intercom.io, AU: https://api.au.intercom.io
DEFAULT_API_VERSION: Final = "2.14"  # author.from_ai_agent and is_ai_answer exist from 2.14
OLDEST_API_VERSION: Final = (2, 11)
SEARCH_PATH: Final = "/conversations/search"
CONVERSATION_PATH: Final = "/conversations/{conversation_id}"
LIST_PATH: Final = "/conversations"
CONTACTS_SEARCH_PATH: Final = "/contacts/search"
PER_PAGE: Final = 150  # the documented maximum of a search page
MAX_WINDOW_RESULTS: Final = 150 * 20  # a search window with more results is split in two
PART_CAP: Final = 500  # GET /conversations/{id} returns at most 500 parts
DEFAULT_WORKERS: Final = 8
DEFAULT_BOT_LABEL: Final = "intercom"  # Intercom has no bots: the workspace, as one label
USER_AUTHORS: Final = frozenset({"user", "lead", "contact"})
HANDOFF_STATES: Final = frozenset({"routed_to_team", "escalated", "procedure_handoff"})  # Fin handed over
PREVIEW_SOURCES: Final = frozenset({"fin_preview", "workflow_preview"})  # the workspace's admins testing Fin
