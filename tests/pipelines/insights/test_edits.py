"""``chatsync topics``: names and merges people make survive refreshes and refits, on the demo world."""

from __future__ import annotations

import json

import pytest

from pipelines.insights.representations import representation_of
from tests.worlds import Loaded

TOPICS = "SELECT topic_id, name, label, generated_label, conversations FROM chat_history.topics"


def _topics(loaded: Loaded) -> dict[str, tuple[str | None, str, str, int]]:
    return {topic: (name, label, generated, n) for topic, name, label, generated, n in loaded.rows(TOPICS)}


def _counts(loaded: Loaded) -> dict[str, int]:
    rows = loaded.rows("SELECT topic_id, COUNT(*) FROM chat_history.conversation_insights GROUP BY 1")
    return {str(topic): int(n) for topic, n in rows if topic is not None}


@pytest.mark.slow  # three refreshes and a refit: ~15 s
def test_rename_merge_and_reset_survive_a_refit(demo_copy: Loaded, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert demo_copy.chatsync("topics", "--json") == 0
    listed = json.loads(capsys.readouterr().out)
    stored = _topics(demo_copy)
    assert [t["topic_id"] for t in listed] == sorted(stored, key=lambda topic: (-stored[topic][3], topic))
    first, second = [t["topic_id"] for t in listed if t["topic_id"] != "other"][:2]
    before = _counts(demo_copy)

    assert demo_copy.chatsync("topics", "rename", first, "Warranty claims") == 0
    assert demo_copy.chatsync("topics", "merge", second, "--into", first) == 0
    topics = _topics(demo_copy)
    assert topics[first][:2] == ("Warranty claims", "Warranty claims") and second not in topics
    assert _counts(demo_copy)[first] == before[first] + before[second]
    gaps = dict(demo_copy.rows("SELECT topic_id, label FROM chat_history.knowledge_gaps"))
    assert gaps.get(first, "Warranty claims") == "Warranty claims"

    assert demo_copy.chatsync("insights", "--refit") == 0
    after = _counts(demo_copy)
    assert _topics(demo_copy)[first][:2] == ("Warranty claims", "Warranty claims"), "the name survives a refit"
    assert second not in after and after[first] >= 0.95 * (before[first] + before[second]), "merged stays merged"

    assert demo_copy.chatsync("topics", "reset", first) == 0
    name, label, generated, _ = _topics(demo_copy)[first]
    assert name is None and label == generated != "Warranty claims"


def test_an_unknown_topic_exits_2_naming_the_known_ones(demo_copy: Loaded, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert demo_copy.chatsync("topics", "rename", "t999", "Nothing") == 2
    err = capsys.readouterr().err
    assert "no topic t999" in err and "known topics: t" in err


@pytest.mark.slow  # a refit of the demo world: ~8 s
def test_a_refit_of_unchanged_data_keeps_every_topic_id(demo_copy: Loaded) -> None:
    ids = "SELECT provider, conversation_id, topic_id FROM chat_history.conversation_insights"
    before = {(p, c): t for p, c, t in demo_copy.rows(ids)}
    assert demo_copy.chatsync("insights", "--refit") == 0
    after = {(p, c): t for p, c, t in demo_copy.rows(ids)}
    kept = sum(after[key] == topic for key, topic in before.items())
    assert kept / len(before) >= 0.95 and after == before


LEGACY_MODEL = (
    "INSERT INTO chat_history.topic_model (topic_id, language, representation, exemplar, fitted_conversations, "
    "computed_at, _dlt_load_id, _dlt_id) SELECT DISTINCT topic_id, COALESCE(language, 'und'), 'embedding', "
    "question, 600, now(), '1', md5(topic_id || question) "
    "FROM chat_history.conversation_insights WHERE topic_id IS NOT NULL"
)


@pytest.mark.slow  # every question embedded again, then a refit: ~10 s
def test_an_upgrade_from_per_language_topics_maps_every_old_id(
    demo_copy: Loaded, capsys: pytest.CaptureFixture[str]
) -> None:
    """A warehouse of the version before one topic space: per-language ids, exemplar model, no vectors."""
    import duckdb

    with duckdb.connect(str(demo_copy.warehouse)) as db:
        db.execute(
            "UPDATE chat_history.conversation_insights SET topic_id = COALESCE(language, 'und') || '-' || "
            "CAST(1 + hash(topic_id) % 3 AS VARCHAR), model_topic_id = NULL, question_vector = NULL "
            "WHERE topic_id IS NOT NULL"
        )
        db.execute("DELETE FROM chat_history.topic_model")
        db.execute(LEGACY_MODEL)
        old_ids = {t for (t,) in db.execute("SELECT DISTINCT topic_id FROM chat_history.topic_model").fetchall()}
    capsys.readouterr()
    assert demo_copy.chatsync("insights") == 0
    captured = capsys.readouterr()
    out = captured.out + captured.err
    assert f"{len(old_ids)} per-language topics of the earlier version mapped" in out
    aliases = dict(demo_copy.rows("SELECT old_topic_id, topic_id FROM chat_history.topic_aliases"))
    assert set(aliases) == old_ids
    now = {t for (t,) in demo_copy.rows("SELECT DISTINCT topic_id FROM chat_history.conversation_insights")}
    assert set(aliases.values()) <= now and not [t for t in now if t and "-" in t]
    unembedded = demo_copy.rows(
        "SELECT language FROM chat_history.conversation_insights "
        "WHERE question_vector IS NULL AND topic_id IS NOT NULL AND topic_id <> 'other'"
    )
    assert all(representation_of(language) == "lexical" for (language,) in unembedded), unembedded
