"""Insights follow the privacy policy: redaction as in messages, and nothing left of a forgotten conversation."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from pipelines.cli import main
from pipelines.insights.text import clean
from tests.worlds import Loaded

OPENING = (
    "SELECT content FROM (SELECT content, ROW_NUMBER() OVER (ORDER BY created_at, sequence, message_id) AS n "
    "FROM chat_history.messages WHERE provider = ? AND conversation_id = ? AND role = 'user') WHERE n = 1"
)


def _texts_in_insights(loaded: Loaded) -> set[str]:
    topics = loaded.rows("SELECT question_1, question_2, question_3 FROM chat_history.topics")
    gaps = loaded.rows(
        "SELECT example_1_question, example_2_question, example_3_question FROM chat_history.knowledge_gaps"
    )
    exemplars = loaded.rows("SELECT exemplar FROM chat_history.topic_model WHERE exemplar <> ''")
    examples = [
        tuple(q for questions in json.loads(found).values() for q in questions)
        for (found,) in loaded.rows("SELECT examples FROM chat_history.topics")
    ]
    assert any(examples), "topics hold example questions per language"
    return {text for row in [*topics, *gaps, *exemplars, *examples] for text in row if text is not None}


def test_nothing_of_a_forgotten_conversation_remains(demo_copy: Loaded) -> None:
    provider, doomed = demo_copy.rows(
        "SELECT example_1_provider, example_1_conversation_id FROM chat_history.knowledge_gaps WHERE rank = 1"
    )[0]
    assert demo_copy.chatsync("forget", "--provider", provider, "--conversation", doomed) == 0
    gone = f"SELECT COUNT(*) FROM chat_history.conversation_insights WHERE conversation_id = '{doomed}'"
    assert demo_copy.rows(gone) == [(0,)], "forget removes the insights row at once"

    assert demo_copy.chatsync("insights") == 0
    examples = demo_copy.rows(
        "SELECT example_1_conversation_id, example_2_conversation_id, example_3_conversation_id "
        "FROM chat_history.knowledge_gaps"
    )
    assert doomed not in {cid for row in examples for cid in row}
    live = {q for (q,) in demo_copy.rows("SELECT question FROM chat_history.conversation_insights") if q}
    live_features = {clean(q, 2000) for q in live}
    assert _texts_in_insights(demo_copy) <= live | live_features, "every text shown belongs to a live conversation"


def test_redacted_content_stays_redacted_in_insights(
    sim: object, configured: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CHATSYNC__REDACT_CONTENT", "true")
    monkeypatch.setenv("INSIGHTS__ENABLED", "true")
    assert main(["run"]) == 0
    with duckdb.connect(str(configured), read_only=True) as db:
        rows = db.execute(
            "SELECT provider, conversation_id, question FROM chat_history.conversation_insights "
            "WHERE question IS NOT NULL"
        ).fetchall()
        masked = [q for _, _, q in rows if "[email]" in q]
        assert masked, "the simulator plants e-mail addresses in some questions"
        assert not [q for _, _, q in rows if "@example.com" in q]
        for provider, cid, question in rows[:50] + [r for r in rows if "[email]" in r[2]]:
            stored = db.execute(OPENING, [provider, cid]).fetchone()
            assert stored is not None and question == stored[0][:2000], (provider, cid)  # cut at feature_chars
        shown = db.execute("SELECT question_1, question_2, question_3 FROM chat_history.topics").fetchall()
    assert not [q for row in shown for q in row if q and "@" in q]
