"""Payload tampering: one conversation's responses made hostile, the rest left faithful.

Faults (``faults.py``) are random and transient; a tamper is targeted and permanent: every
response that carries the target conversation is altered the same way, as a provider with one
broken record would. It is applied after the contract module has answered, so the contracts stay
faithful. Used by the payload tests and ``make reliability``.

A tamper names a provider, a conversation id (a session or lead id for OwlBot and ChatNode) and
one of ``KINDS``. Where the message list lives and which fields a kind touches is per provider
(``_LAYOUT``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

from .base import SimRequest, SimResponse

DEEP_LEVELS: Final = 100_000


@dataclass(frozen=True)
class Layout:
    """Where a provider keeps messages and their fields."""

    id_field: str
    time_field: str
    text_field: str
    role_field: str
    container: tuple[str, ...]  # path to the message list in a message response ("" = the body)


_LAYOUT: Final = {
    "example_ai": Layout("id", "created_at", "text", "sender_type", ("data", "messages")),
    "owlbot": Layout("id", "created_at", "content", "user", ("messageArr",)),
    "chatnode": Layout("id", "created_at", "message", "message", ()),
    "feedloop": Layout("id", "created_at", "content", "role", ("data",)),
}


@dataclass(frozen=True)
class Tamper:
    """One conversation's responses altered in one way."""

    provider: str
    conversation_id: str
    kind: str

    @classmethod
    def parse(cls, value: dict[str, str]) -> Tamper:
        """From the admin API's JSON; rejects unknown kinds."""
        tamper = cls(value["provider"], value["conversation_id"], value["kind"])
        if tamper.kind not in KINDS:
            raise ValueError(f"unknown tamper kind {tamper.kind!r}; kinds: {', '.join(sorted(KINDS))}")
        return tamper


def _messages(payload: Any, layout: Layout, tamper: Tamper) -> list[dict[str, Any]]:
    """The target's message records inside a message response (empty when it holds none)."""
    value = payload
    for key in layout.container:
        value = value.get(key) if isinstance(value, dict) else None
    if not isinstance(value, list):
        return []
    if tamper.provider == "chatnode":  # a batch: only the target's chats
        target = tamper.conversation_id
        return [c for c in value if isinstance(c, dict) and "message" in c and c.get("session_id") == target]
    return [m for m in value if isinstance(m, dict)]


def _set_container(payload: Any, layout: Layout, value: Any, delete: bool = False) -> Any:
    if not layout.container:
        return value
    parent = payload
    for key in layout.container[:-1]:
        parent = parent[key]
    if delete:
        parent.pop(layout.container[-1], None)
    else:
        parent[layout.container[-1]] = value
    return payload


MessageEdit = Callable[[dict[str, Any], Layout], None]


def _edit_first(edit: MessageEdit) -> Callable[[Any, Layout, Tamper], Any]:
    def apply(payload: Any, layout: Layout, tamper: Tamper) -> Any:
        messages = _messages(payload, layout, tamper)
        if messages:
            edit(messages[0], layout)
        return payload

    return apply


def _text(message: dict[str, Any], layout: Layout, value: Any) -> None:
    if layout.text_field == "message" and isinstance(message.get("message"), dict):  # ChatNode nests it
        message["message"]["data"]["content"] = value
    else:
        message[layout.text_field] = value


def _duplicate(payload: Any, layout: Layout, tamper: Tamper) -> Any:
    messages = _messages(payload, layout, tamper)
    if messages:
        copy = {**json.loads(json.dumps(messages[0])), "note": "second copy"}
        _text(copy, layout, "a different text under the same id")
        container = payload
        for key in layout.container:
            container = container[key]
        container.append(copy)
    return payload


def _container(value: Any, delete: bool = False) -> Callable[[Any, Layout, Tamper], Any]:
    def apply(payload: Any, layout: Layout, tamper: Tamper) -> Any:
        if _messages(payload, layout, tamper) or _is_message_response(payload, layout):
            return _set_container(payload, layout, value, delete)
        return payload

    return apply


def _is_message_response(payload: Any, layout: Layout) -> bool:
    value = payload
    for key in layout.container:
        if not isinstance(value, dict) or key not in value:
            return False
        value = value[key]
    return isinstance(value, list)


def _has_more_forever(payload: Any, layout: Layout, tamper: Tamper) -> Any:
    if isinstance(payload, dict) and isinstance(payload.get("pagination"), dict):
        payload["pagination"]["has_more"] = True
    return payload


def _listing_edit(field: str, value: Any, delete: bool = False) -> Callable[[Any, Layout, Tamper], Any]:
    """Edits the target's record in a listing (OwlBot sessions, ChatNode leads)."""

    def apply(payload: Any, layout: Layout, tamper: Tamper) -> Any:
        name = "session_id" if tamper.provider == "chatnode" else "session_uuid"
        for record in payload if isinstance(payload, list) else []:
            if isinstance(record, dict) and record.get(name) == tamper.conversation_id:
                if delete:
                    record.pop(field, None)
                else:
                    record[field] = value
        return payload

    return apply


def _set(name_of: Callable[[Layout], str], value: Any) -> MessageEdit:
    def edit(message: dict[str, Any], layout: Layout) -> None:
        message[name_of(layout)] = value

    return edit


def _drop(name_of: Callable[[Layout], str]) -> MessageEdit:
    def edit(message: dict[str, Any], layout: Layout) -> None:
        message.pop(name_of(layout), None)

    return edit


def _set_text(value: Any) -> MessageEdit:
    def edit(message: dict[str, Any], layout: Layout) -> None:
        _text(message, layout, value)

    return edit


def _identity(layout: Layout) -> str:
    return layout.id_field


def _time(layout: Layout) -> str:
    return layout.time_field


def _role(layout: Layout) -> str:
    return layout.role_field


def _lowercase_time(message: dict[str, Any], layout: Layout) -> None:
    value = message.get(layout.time_field)
    if isinstance(value, str):  # RFC 3339 5.6: "T" and "Z" may be lowercase
        message[layout.time_field] = value.replace("T", "t").replace("Z", "z")


def _chat_without_session(message: dict[str, Any], layout: Layout) -> None:
    message.pop("session_id", None)


# Payload transforms. Status and byte-level kinds are handled in ``apply`` below.
KINDS: Final[dict[str, Callable[[Any, Layout, Tamper], Any]]] = {
    "id_object": _edit_first(_set(_identity, {"$oid": "65f0c0ffee"})),
    "id_missing": _edit_first(_drop(_identity)),
    "id_empty": _edit_first(_set(_identity, "")),
    "id_huge": _edit_first(_set(_identity, 2**70)),
    "id_string": _edit_first(_set(_identity, "12")),
    "created_at_missing": _edit_first(_drop(_time)),
    "created_at_garbage": _edit_first(_set(_time, "the day after tomorrow")),
    "created_at_future": _edit_first(_set(_time, "9999-12-31T23:59:59Z")),
    "created_at_lowercase": _edit_first(_lowercase_time),
    "text_object": _edit_first(_set_text({"blocks": [{"type": "text", "text": "rich"}]})),
    "text_null": _edit_first(_set_text(None)),
    "text_nul": _edit_first(_set_text("before\x00after")),
    "text_surrogate": _edit_first(_set_text("broken \ud800 pair")),
    "text_huge": _edit_first(_set_text("x" * 1_000_000)),
    "role_unknown": _edit_first(_set(_role, "wizard")),
    "sender_object": _edit_first(_set(lambda _: "sender_id", {"id": 7})),
    "duplicate_id": _duplicate,
    "messages_null": _container(None),
    "messages_object": _container({"0": "not a list"}),
    "messages_missing": _container(None, delete=True),
    "has_more_forever": _has_more_forever,
    "chat_without_session": _edit_first(_chat_without_session),
    "session_without_uuid": _listing_edit("session_uuid", None, delete=True),
    "messagenbr_string": _listing_edit("messagenbr", "seven"),
    "lead_created_at_garbage": _listing_edit("created_at", "soon"),
    "item_string": _container(["just a string", {"role": "user", "content": "hello", "id": "fl-str-1"}]),
    # answered by ``apply`` without the contract's payload:
    "deep_json": lambda payload, layout, tamper: payload,
    "http_500": lambda payload, layout, tamper: payload,
    "http_400": lambda payload, layout, tamper: payload,
    "truncated": lambda payload, layout, tamper: payload,
    "invalid_json": lambda payload, layout, tamper: payload,
}


LISTING_KINDS: Final = frozenset({"session_without_uuid", "messagenbr_string", "lead_created_at_garbage"})


def concerns(tamper: Tamper, request: SimRequest) -> bool:
    """Whether a provider request is one the tamper alters: the target's messages, or a listing."""
    listing = request.path.endswith("/conversation") or request.path.startswith("/get-conversation-ids/")
    if tamper.kind in LISTING_KINDS:
        return listing
    if listing:
        return False
    return (
        request.path.endswith("/" + tamper.conversation_id)
        or f"/{tamper.conversation_id}/" in request.path
        or request.query.get("conversation_id") == tamper.conversation_id
        or tamper.conversation_id.encode() in request.body
    )


@dataclass
class Tampered:
    """A tampered answer: a response, or raw bytes to send as they are."""

    response: SimResponse
    raw: bytes | None = None
    truncate: bool = False  # send half the body under the full Content-Length, then close


def apply(tamper: Tamper, response: SimResponse) -> Tampered:
    """The tampered form of a contract's answer for a request that concerns the target."""
    layout = _LAYOUT[tamper.provider]
    kind = tamper.kind
    if kind in ("http_500", "http_400"):
        status = int(kind[-3:])
        return Tampered(SimResponse(status, {"status": "error", "message": f"tampered: HTTP {status}", "data": None}))
    if response.status >= 400:
        return Tampered(response)
    payload = KINDS[kind](json.loads(json.dumps(response.payload)), layout, tamper)
    tampered = SimResponse(response.status, payload, response.headers)
    if kind == "truncated":
        return Tampered(tampered, truncate=True)
    if kind == "invalid_json":
        return Tampered(tampered, b"{not json" + tampered.encode()[:40])
    if kind == "deep_json" and _messages(payload, layout, tamper):
        body = tampered.encode()
        deep = b'"deep":' + b"[" * DEEP_LEVELS + b"]" * DEEP_LEVELS + b","
        return Tampered(tampered, re.sub(rb'\{"', b"{" + deep + b'"', body, count=1) if body.count(b'{"') else body)
    return Tampered(tampered)
