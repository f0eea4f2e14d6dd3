"""Untrusted payloads: select records by shape, check ids, clean text, drop in-response duplicates.

Every provider response passes through here before a row is made, so that a hostile or broken
payload either loads with a documented normalisation or fails as a ``MalformedResponseError``
naming the problem, never as a bare ``TypeError`` deep inside a run.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from functools import lru_cache
from typing import Any, Final, TypeVar

from .errors import MalformedResponseError

Record = TypeVar("Record")
INT64_MAX: Final = 2**63 - 1
# JSON escapes of the characters no warehouse takes in text: NUL and UTF-16 surrogates
_UNSTORABLE_ESCAPE: Final = re.compile(rb"\\u(?:0000|[dD][89a-fA-F][0-9a-fA-F]{2})")
_UNSTORABLE_CHAR: Final = re.compile("[\x00\ud800-\udfff]")
REPLACEMENT: Final = "\ufffd"


@lru_cache(maxsize=64)
def _path(selector: str) -> tuple[str, ...]:
    return () if selector in ("", "$") else tuple(selector.removeprefix("$.").split("."))


def _describe(value: Any) -> str:
    if value is None:
        return "null"
    return f"a JSON {type(value).__name__.replace('dict', 'object').replace('str', 'string')}"


def select_list(provider: str, body: Any, selector: str) -> list[Any]:
    """The list at ``selector`` (dotted path, ``$`` for the body itself) of a parsed body.

    Args:
        provider: For the error.
        body: The parsed JSON body.
        selector: E.g. ``data.messages``.

    Returns:
        The list, as sent.

    Raises:
        MalformedResponseError: The path is missing or holds something other than a list.
    """
    value = body
    for key in _path(selector):
        if not isinstance(value, dict) or key not in value:
            raise MalformedResponseError(provider, f"the response has no `{selector}`")
        value = value[key]
    if not isinstance(value, list):
        raise MalformedResponseError(provider, f"`{selector}` is {_describe(value)}, not a list")
    return value


def lookup(body: Any, selector: str) -> Any:
    """The value at a dotted path, or None where any part is missing."""
    value = body
    for key in _path(selector):
        value = value.get(key) if isinstance(value, dict) else None
    return value


def might_hold_unstorable_text(raw: bytes) -> bool:
    """Whether a JSON body escapes NUL or a surrogate (cheap: one scan of the bytes)."""
    return _UNSTORABLE_ESCAPE.search(raw) is not None


def storable(value: Any) -> Any:
    """``value`` with NUL and lone surrogates replaced by U+FFFD in every string, at any depth.

    Postgres rejects NUL in text and JSON, and no UTF-8 writer takes a lone surrogate; both
    arrive as valid JSON escapes.
    """
    if isinstance(value, str):
        return _UNSTORABLE_CHAR.sub(REPLACEMENT, value) if _UNSTORABLE_CHAR.search(value) else value
    if isinstance(value, dict):
        return {storable(key): storable(item) for key, item in value.items()}
    if isinstance(value, list):
        return [storable(item) for item in value]
    return value


def record_id(value: Any) -> str | None:
    """A usable id: a non-empty string or an integer that fits a BIGINT, as text; else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        return value if value.strip() else None
    if isinstance(value, int) and -INT64_MAX <= value <= INT64_MAX:
        return str(value)
    return None


def text_or_none(value: Any) -> tuple[str | None, bool]:
    """A message text: strings pass, anything else is None; also tells whether it was dropped."""
    if value is None or isinstance(value, str):
        return value, False
    return None, True


def first_copies(records: Iterable[Record], key: Callable[[Record], str]) -> tuple[list[Record], int]:
    """The records with each key's first copy only (response order), and how many were dropped."""
    kept: dict[str, Record] = {}
    dropped = 0
    for record in records:
        identity = key(record)
        if identity in kept:
            dropped += 1
        else:
            kept[identity] = record
    return list(kept.values()), dropped
