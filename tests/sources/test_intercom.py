"""Intercom's record mapping, on records shaped as its API reference (2.11 to 2.16) describes them."""

from __future__ import annotations

from typing import Any

import pytest

from sources.common.errors import ConfigurationError
from sources.intercom.helpers import checked_version, role_of, text_of, to_rows


def part(kind: str = "comment", author: dict[str, Any] | None = None, **more: Any) -> dict[str, Any]:
    return {
        "type": "conversation_part",
        "id": "7",
        "part_type": kind,
        "body": "<p>Hi</p>",
        "created_at": 1_773_000_000,
        "author": author or {"type": "user", "id": "c1"},
        **more,
    }


@pytest.mark.parametrize(
    ("record", "role"),
    [
        (part(author={"type": "user"}), "user"),
        (part(author={"type": "lead"}), "user"),
        (part(author={"type": "contact"}), "user"),
        (part(author={"type": "bot", "name": "Fin"}), "assistant"),
        (part(author={"type": "admin", "from_ai_agent": True, "is_ai_answer": True}), "assistant"),
        (part(author={"type": "admin", "from_ai_agent": False, "is_ai_answer": False}), "agent"),
        (part(author={"type": "admin"}), "agent"),
        (part("note", {"type": "admin"}), "note"),
        (part("assignment", {"type": "admin"}), "system"),
        (part("close", {"type": "bot"}), "system"),
        (part("snoozed", {"type": "admin"}), "system"),
    ],
)
def test_roles_follow_the_part_author_and_type(record: dict[str, Any], role: str) -> None:
    assert role_of(record) == role


def test_html_bodies_become_text_line_by_line() -> None:
    assert text_of("<p>Hola</p><p>¿Qué tal? &amp; 5 &lt; 6</p>") == "Hola\n¿Qué tal? & 5 < 6"
    assert text_of("<p>one<br>two</p>") == "one\ntwo"
    assert text_of("<p><a href='x'>link</a> <b>bold</b></p>") == "link bold"
    assert text_of(None) is None and text_of("") is None
    assert text_of("plain &amp; simple") == "plain & simple"


def test_a_conversation_maps_its_opening_message_parts_fin_sources_and_flags() -> None:
    conversation = {
        "id": "123",
        "created_at": 1_773_000_000,
        "source": {
            "type": "conversation",
            "id": "900",
            "body": "<p>Where is my parcel?</p>",
            "author": {"type": "lead", "id": "c1", "email": "a@example.com"},
        },
        "contacts": {"contacts": [{"type": "contact", "id": "c1"}]},
        "statistics": {"count_conversation_parts": 5},  # the opening message and four parts: two are missing
        "ai_agent": {
            "source_type": "fin_preview",
            "resolution_state": "escalated",
            "content_sources": {"content_sources": [{"url": "/fin-ai-agent/content?id=7"}]},
        },
        "conversation_parts": {
            "conversation_parts": [
                part(author={"type": "admin", "from_ai_agent": True}, id="901"),
                part("note", {"type": "admin"}, id="902", body="<p>internal</p>", redacted=True),
            ]
        },
    }
    rows = to_rows(conversation, "intercom")
    assert [(m["message_id"], m["role"], m["content"]) for m in rows.messages] == [
        ("900", "user", "Where is my parcel?"),
        ("901", "assistant", "Hi"),
        ("902", "note", None),  # redacted: its text is not kept
    ]
    assert rows.messages[0]["sender_id"] == "c1" and rows.conversation["user_id"] == "c1"
    assert rows.conversation["handed_off"] is True and rows.conversation["reported_message_count"] == 5
    assert [c["knowledge_id"] for c in rows.citations] == ["/fin-ai-agent/content?id=7"]
    assert rows.citations[0]["message_id"] == "901", "cited by Fin's last reply"
    assert rows.capped and rows.preview
    assert "conversation_parts" not in rows.conversation["raw"]


def test_the_api_version_is_2_11_or_later() -> None:
    assert checked_version("2.14") == "2.14" and checked_version("Unstable") == "Unstable"
    for old in ("2.10", "1.4", "latest"):
        with pytest.raises(ConfigurationError, match=r"2\.11 or later"):
            checked_version(old)
