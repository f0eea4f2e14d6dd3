"""Quality on the simulator's truth: topics, outcomes, sentiment and language (targets of docs/insights.md)."""

from __future__ import annotations

from collections import Counter, defaultdict

import pytest
from sklearn.metrics import adjusted_rand_score

from tests.worlds import Loaded

# the planted world (~2,200 conversations with insights) takes ~20 s to build: the slow tier
pytestmark = pytest.mark.slow

OUTCOMES = ("unanswered", "handed_off", "abandoned")
INSIGHTS = (
    "SELECT provider, conversation_id, topic_id, language, sentiment, outcome FROM chat_history.conversation_insights"
)

def purity(labels: list[str], truth: list[str]) -> float:
    """The share of conversations whose topic's most common intent is their own."""
    members: defaultdict[str, Counter[str]] = defaultdict(Counter)
    for label, intent in zip(labels, truth, strict=True):
        members[label][intent] += 1
    return sum(c.most_common(1)[0][1] for c in members.values()) / len(labels)


def test_every_conversation_has_a_row(planted: Loaded) -> None:
    truth = planted.truth()
    rows = planted.rows(INSIGHTS)
    assert {(p, c) for p, c, *_ in rows} == set(truth)
    assert {outcome for *_, outcome in rows} == {"answered", *OUTCOMES}


@pytest.mark.parametrize("language", ["en", "es", "zh"])
def test_topics_recover_the_planted_intents_within_each_language(planted: Loaded, language: str) -> None:
    truth = planted.truth()
    labels, intents = [], []
    for provider, cid, topic, *_ in planted.rows(INSIGHTS):
        planted_row = truth[(provider, cid)]
        if planted_row.language == language and planted_row.planted_question:
            labels.append(topic or "none")
            intents.append(planted_row.intent)
    assert len(labels) > 300
    assert purity(labels, intents) >= 0.9
    assert adjusted_rand_score(intents, labels) >= 0.7


@pytest.mark.parametrize("outcome", OUTCOMES)
def test_outcome_precision_and_recall(planted: Loaded, outcome: str) -> None:
    truth = planted.truth()
    found = {(p, c) for p, c, *_, o in planted.rows(INSIGHTS) if o == outcome}
    expected = {key for key, t in truth.items() if t.outcome == outcome}
    assert len(expected) > 50
    hits = len(found & expected)
    assert hits / len(found) >= 0.9, "precision"
    assert hits / len(expected) >= 0.9, "recall"


def test_english_sentiment_has_the_sign_of_the_close(planted: Loaded) -> None:
    truth = planted.truth()
    judged = [
        (sentiment > 0) == (truth[(p, c)].close == "positive")
        for p, c, _, _, sentiment, _ in planted.rows(INSIGHTS)
        if truth[(p, c)].language == "en" and truth[(p, c)].close and sentiment is not None
    ]
    assert len(judged) > 200
    assert sum(judged) / len(judged) >= 0.9


def test_sentiment_is_null_where_the_language_has_no_model(planted: Loaded) -> None:
    by_language = Counter(language for *_, language, sentiment, _ in planted.rows(INSIGHTS) if sentiment is not None)
    assert set(by_language) == {"en"}


def test_language_is_detected_or_null(planted: Loaded) -> None:
    truth = planted.truth()
    verdicts = Counter(
        "right" if language == truth[(p, c)].language else "null" if language is None else "wrong"
        for p, c, _, language, _, _ in planted.rows(INSIGHTS)
        if truth[(p, c)].planted_question
    )
    total = sum(verdicts.values())
    assert verdicts["right"] / total >= 0.95
    assert verdicts["wrong"] / total <= 0.02


def test_knowledge_gaps_lead_with_the_questions_the_bot_cannot_answer(planted: Loaded) -> None:
    truth = planted.truth()
    gaps = planted.rows(
        "SELECT rank, example_1_provider, example_1_conversation_id, example_2_provider, example_2_conversation_id "
        "FROM chat_history.knowledge_gaps ORDER BY rank LIMIT 5"
    )
    assert [rank for rank, *_ in gaps] == [1, 2, 3, 4, 5]
    examples = [(row[n], row[n + 1]) for row in gaps for n in (1, 3) if row[n] is not None]
    gap_intents = sum(truth[key].gap for key in examples)
    assert gap_intents / len(examples) >= 0.8


def test_topics_have_labels_and_representative_questions(planted: Loaded) -> None:
    topics = planted.rows(
        "SELECT topic_id, label, keywords, conversations, question_1 FROM chat_history.topics "
        "ORDER BY conversations DESC"
    )
    counted = planted.rows(
        "SELECT topic_id, COUNT(*) FROM chat_history.conversation_insights WHERE topic_id IS NOT NULL GROUP BY 1"
    )
    assert {t: n for t, _, _, n, _ in topics} == dict(counted)
    top = topics[0]
    assert top[1] and top[1] != top[0] and top[4]
    english = [label for topic, label, *_ in topics if topic.startswith("en-")]
    assert any("password" in label for label in english) and any(
        "refund" in label or "money" in label for label in english
    )


def test_topic_daily_adds_up_to_the_insights(planted: Loaded) -> None:
    daily = planted.rows("SELECT SUM(conversations), SUM(unanswered), SUM(handed_off) FROM chat_history.topic_daily")[0]
    direct = planted.rows(
        "SELECT COUNT(*), SUM(CASE WHEN outcome = 'unanswered' THEN 1 ELSE 0 END), "
        "SUM(CASE WHEN outcome = 'handed_off' THEN 1 ELSE 0 END) FROM chat_history.conversation_insights "
        "WHERE topic_id IS NOT NULL AND first_message_at IS NOT NULL"
    )[0]
    assert daily == direct


def test_the_report_shows_what_users_ask(planted: Loaded, capsys: pytest.CaptureFixture[str]) -> None:
    html = planted.root / "report.html"
    capsys.readouterr()
    assert planted.chatsync("report", "--html", str(html)) == 0
    out = capsys.readouterr().out
    for title in ("top topics", "knowledge gaps to fill first", "how conversations end", "sentiment"):
        assert f"what users ask: {title}" in out
        assert f"<h2>what users ask: {title}" in html.read_text(encoding="utf-8")
    top_gap = planted.rows("SELECT label FROM chat_history.knowledge_gaps WHERE rank = 1")[0][0]
    assert top_gap in out
    from pipelines.report.asked import trend

    assert (trend(14, 10), trend(5, 10), trend(3, 0), trend(0, 0), trend(10, 10)) == ("+40%", "-50%", "new", "=", "=")
