"""Feedloop: reading a conversation's history and mapping items of an undocumented shape."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from dlt.sources.helpers.rest_client.auth import APIKeyAuth

from ..common.http import ProviderHttp
from ..common.observer import RunObserver
from ..common.rows import message_row
from ..common.settings import base_url as checked_url
from ..common.timeutil import parse_timestamp
from .settings import HISTORY_PATH, HISTORY_SELECTOR, ID_FIELDS, PROVIDER, ROLE_FIELDS, ROLES, TEXT_PATHS, TIME_FIELDS


def read_history(http: ProviderHttp, convo_id: str) -> list[Any]:
    """The whole history of one conversation: ``GET /widget/{convo_id}/chats``."""
    path = HISTORY_PATH.format(convo_id=convo_id)
    return [item for page in http.paginate(path, data_selector=HISTORY_SELECTOR) for item in page]


@dataclass(frozen=True)
class MappedItem:
    """What could be read from one history item."""

    message_id: str | None
    role: str
    content: str | None
    created_at: datetime | None
    recognised: bool  # a text field was found
    role_known: bool


def _first(item: dict[str, Any], paths: Sequence[tuple[str, ...]]) -> Any:
    for path in paths:
        value: Any = item
        for key in path:
            value = value.get(key) if isinstance(value, dict) else None
        if isinstance(value, str):
            return value
    return None


def _timestamp(item: dict[str, Any]) -> datetime | None:
    for name in TIME_FIELDS:
        value = item.get(name)
        if isinstance(value, str | int | float) and not isinstance(value, bool):
            try:
                return parse_timestamp(value)
            except ValueError:
                continue
    return None


def map_item(item: Any) -> MappedItem:
    """Reads an id, a role, a text and a timestamp from the likely fields of one item."""
    if not isinstance(item, dict):
        return MappedItem(None, "unknown", None, None, recognised=False, role_known=False)
    raw_id = next((item[f] for f in ID_FIELDS if isinstance(item.get(f), str | int) and item.get(f) != ""), None)
    raw_role = _first(item, [(f,) for f in ROLE_FIELDS])
    role = ROLES.get(raw_role.strip().lower(), "unknown") if raw_role else "unknown"
    content = _first(item, TEXT_PATHS)
    return MappedItem(
        message_id=None if raw_id is None else str(raw_id),
        role=role if content is not None else "unknown",
        content=content,
        created_at=_timestamp(item),
        recognised=content is not None,
        role_known=role != "unknown",
    )


def message_key(convo_id: str, position: int, item: Any, mapped: MappedItem) -> str:
    """The provider's id, or a key derived from conversation, position and content.

    Deterministic, so a rerun merges onto the same row. An unrecognised item has no content, so
    its whole JSON stands in for it.
    """
    if mapped.message_id is not None:
        return mapped.message_id
    content = mapped.content if mapped.recognised else json.dumps(item, sort_keys=True, default=str)
    digest = hashlib.sha256(f"{convo_id}\x1f{position}\x1f{content}".encode()).hexdigest()
    return f"fl_{digest[:24]}"


def history_digest(keys: Sequence[str]) -> str:
    """A short fingerprint of the keys loaded so far, to recognise an append-only history."""
    return hashlib.sha256("\x1f".join(keys).encode()).hexdigest()[:16]


def to_message_row(
    convo_id: str, position: int, item: Any, mapped: MappedItem, key: str, first_seen: datetime
) -> dict[str, Any]:
    """One item as a canonical row; with no timestamp in the item, ``first_seen`` stands in."""
    return message_row(
        provider=PROVIDER,
        bot_id=None,
        conversation_id=convo_id,
        message_id=key,
        role=mapped.role,
        content=mapped.content,
        created_at=mapped.created_at or first_seen,
        sender_id=None,
        raw=item if isinstance(item, dict) else {"value": item},
        sequence=position,
        observed=mapped.created_at is None,
    )


def connect(api_key: str, base_url: str, observer: RunObserver | None = None) -> ProviderHttp:
    """The provider's HTTP client: the base URL checked, the app token in the Token header.

    Raises:
        ConfigurationError: ``base_url`` is not an http(s) URL.
    """
    auth = APIKeyAuth(name="Token", api_key=api_key, location="header")
    return ProviderHttp(PROVIDER, checked_url(base_url, PROVIDER), auth, observer=observer)
