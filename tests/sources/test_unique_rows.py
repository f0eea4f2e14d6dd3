"""UniqueRows: what makes the tables' ``x-stage-data-deduplicated`` hint true, piece by piece."""

from __future__ import annotations

from typing import Any

from sources.common.batching import UniqueRows
from sources.common.tables import CONVERSATIONS, MESSAGES


def msg(conversation: str, mid: str, content: str = "hi", provider: str = "owlbot") -> dict[str, Any]:
    return {"provider": provider, "conversation_id": conversation, "message_id": mid, "content": content}


def convo(conversation: str, title: str = "t", provider: str = "owlbot") -> dict[str, Any]:
    return {"provider": provider, "conversation_id": conversation, "title": title}


def test_within_a_piece_the_first_row_of_each_key_is_kept() -> None:
    rows = [msg("c1", "m1", "first"), msg("c1", "m2"), msg("c1", "m1", "repeat")]
    kept = UniqueRows().admit(MESSAGES, rows)
    assert [(r["message_id"], r["content"]) for r in kept] == [("m1", "first"), ("m2", "hi")]


def test_a_later_piece_of_the_same_conversation_is_a_repeat_and_dropped_whole() -> None:
    unique = UniqueRows()
    assert len(unique.admit(MESSAGES, [msg("c1", "m1"), msg("c1", "m2")])) == 2
    assert unique.admit(MESSAGES, [msg("c1", "m3")]) == [], "a listing that names a session twice"
    assert [r["message_id"] for r in unique.admit(MESSAGES, [msg("c2", "m1")])] == ["m1"], "another conversation"


def test_the_same_conversation_id_of_another_provider_is_not_a_repeat() -> None:
    unique = UniqueRows()
    unique.admit(MESSAGES, [msg("c1", "m1", provider="owlbot")])
    assert len(unique.admit(MESSAGES, [msg("c1", "m1", provider="feedloop")])) == 1


def test_each_table_keeps_its_own_record() -> None:
    unique = UniqueRows()
    unique.admit(MESSAGES, [msg("c1", "m1")])
    assert len(unique.admit(CONVERSATIONS, [convo("c1")])) == 1, "the conversation row of messages already seen"
    assert unique.admit(CONVERSATIONS, [convo("c1", "again")]) == []


def test_an_empty_piece_records_nothing() -> None:
    unique = UniqueRows()
    assert unique.admit(MESSAGES, []) == []
    assert len(unique.admit(MESSAGES, [msg("c1", "m1")])) == 1


def test_a_piece_of_several_conversations_loses_only_the_rows_of_one_seen_before() -> None:
    unique = UniqueRows()
    unique.admit(MESSAGES, [msg("c1", "m1")])
    page = [msg("c2", "m1", "new"), msg("c1", "m2", "repeat"), msg("c3", "m1", "new too")]
    assert [(r["conversation_id"], r["content"]) for r in unique.admit(MESSAGES, page)] == [
        ("c2", "new"),
        ("c3", "new too"),
    ]
    assert unique.admit(MESSAGES, [msg("c3", "m9")]) == [], "the conversations of that page are recorded too"


def test_the_rows_kept_whole_are_a_new_list_the_piece_is_not_changed() -> None:
    piece = (msg("c1", "m1"), msg("c1", "m2"))
    kept = UniqueRows().admit(MESSAGES, piece)
    assert kept == list(piece) and isinstance(kept, list)
