"""One conversation's insights from its messages: defined results for every input, never an exception."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from pipelines.insights.conversations import Message, judge, outcome_of
from pipelines.insights.fallbacks import FallbackPhrases, canned_replies
from pipelines.insights.language import detect
from pipelines.insights.sentiment import sentiment
from pipelines.insights.text import clean, fingerprint

T0 = datetime(2026, 3, 1, tzinfo=UTC)
KEY = ("owlbot", "bot", "c1")
PHRASES = FallbackPhrases(["Ask me something about our shoes"])


def conversation(*turns: tuple[str, str | None]) -> list[Message]:
    return [Message(role, content, T0 + timedelta(seconds=n)) for n, (role, content) in enumerate(turns)]


def test_an_answered_question() -> None:
    row = judge(
        KEY, conversation(("user", "Where is my order?"), ("assistant", "It ships today.")), False, PHRASES, 2000
    )
    assert (row.question, row.language, row.outcome, row.fallback) == ("Where is my order?", "en", "answered", None)
    assert (row.user_messages, row.assistant_messages, row.message_count) == (1, 1, 2)
    assert (row.first_message_at, row.last_message_at) == (T0, T0 + timedelta(seconds=1))


@pytest.mark.parametrize(
    "reply",
    [
        "Sorry, I don't know the answer to that.",  # en
        "Lo siento, no sé la respuesta.",  # es
        "Ich weiß nicht, tut mir leid.",  # de
        "Je ne sais pas répondre à cela.",  # fr
        "Desculpe, não sei responder.",  # pt
        "Maaf, saya tidak tahu jawabannya.",  # id
        "Ask me something about our SHOES!",  # [insights] fallback_phrases
        "",  # a blank reply answers nothing
    ],
)
def test_a_fallback_reply_leaves_the_question_unanswered(reply: str) -> None:
    row = judge(KEY, conversation(("user", "Do you ship to Mars?"), ("assistant", reply)), False, PHRASES, 2000)
    row.settle(frozenset())
    assert row.outcome == "unanswered"


def test_precedence_handed_off_then_abandoned_then_unanswered() -> None:
    agent = conversation(("user", "help"), ("assistant", "I don't know."), ("agent", "Hi, Ana here."), ("user", "?"))
    assert judge(KEY, agent, False, PHRASES, 2000).outcome == "handed_off"
    flagged = conversation(("user", "help me"), ("assistant", "Sure."))
    assert judge(KEY, flagged, True, PHRASES, 2000).outcome == "handed_off"
    unreplied = conversation(("user", "Where is my order?"), ("assistant", "I don't know."), ("user", "hello??"))
    assert judge(KEY, unreplied, False, PHRASES, 2000).outcome == "abandoned"
    assert outcome_of(False, False, "canned") == "unanswered"


def test_a_reply_with_the_same_timestamp_is_a_reply() -> None:
    """The order of two messages in the same second is unknown: the user did get a reply."""
    tied = [Message("assistant", "Anything else?", T0), Message("user", "thanks!", T0)]
    assert judge(
        KEY, [Message("user", "hi there, my order?", T0 - timedelta(1)), *tied], False, PHRASES, 2000
    ).outcome == ("answered")


def test_a_greeting_opening_is_skipped_for_the_question() -> None:
    row = judge(
        KEY,
        conversation(("user", "Hello!"), ("assistant", "Hi!"), ("user", "My card was declined")),
        False,
        PHRASES,
        2000,
    )
    assert (row.question, row.features) == ("My card was declined", "My card was declined")


@pytest.mark.parametrize(
    ("messages", "question", "outcome"),
    [
        ([], None, "answered"),  # no message at all
        ([("assistant", "Welcome! How can I help?")], None, "answered"),  # no user message
        ([("user", "😡😡😡"), ("assistant", "Sorry to hear that")], "😡😡😡", "answered"),  # emoji only
        ([("user", None), ("assistant", "ok")], None, "answered"),  # redacted or not text
        ([("user", None)], None, "abandoned"),
    ],
)
def test_bad_input_gets_a_defined_row(
    messages: list[tuple[str, str | None]], question: str | None, outcome: str
) -> None:
    row = judge(KEY, conversation(*messages), False, PHRASES, 2000)
    assert (row.question, row.features, row.topic_id, row.outcome) == (question, "", None, outcome)
    assert row.language is None and row.sentiment is None


def test_html_is_read_as_text() -> None:
    html = "<p>Where is <b>my order</b>?</p><script>alert(1)</script>&nbsp;&amp; when?"
    row = judge(KEY, conversation(("user", html), ("assistant", "<i>Today</i>")), False, PHRASES, 2000)
    assert row.features == "Where is my order ? alert(1) & when?"
    assert row.question == html, "the question is stored as the warehouse holds it"


def test_a_100_kb_message_is_cut_before_it_is_featurised() -> None:
    huge = "where is my order " * 6_000  # ~108 KB
    row = judge(KEY, conversation(("user", huge), ("assistant", "Today")), False, PHRASES, 2000)
    assert len(row.features) <= 2000 and row.question is not None and len(row.question) == 2000
    assert row.language == "en"
    assert len(clean(huge, 2000)) == 2000


def test_a_50000_message_conversation() -> None:
    turns = [("user" if n % 2 == 0 else "assistant", f"message {n} about my refund") for n in range(50_000)]
    row = judge(KEY, conversation(*turns), False, PHRASES, 2000)
    assert (row.user_messages, row.assistant_messages, row.message_count) == (25_000, 25_000, 50_000)
    assert row.outcome == "answered" and row.sentiment is not None


def test_language_and_sentiment() -> None:
    assert detect("¿Dónde está mi pedido? Quiero rastrear mi pedido") == "es"
    assert detect("我的订单在哪里？帮我查一下订单物流") == "zh"  # noqa: RUF001
    assert detect("ok") is None
    assert sentiment(["My card was declined", "Thanks, that was really helpful!"], "en") > 0.3
    assert sentiment(["Where is my order?", "This is useless, I'm very disappointed."], "en") < -0.3
    assert sentiment(["¡Gracias, me ayudó mucho!"], "es") > 0.3, "the multilingual model covers Spanish"
    assert sentiment(["Das ist nutzlos, ich bin sehr enttäuscht."], "de") < -0.3
    assert sentiment(["Asante sana, imenisaidia!"], "sw") is None, "no model covers Swahili: never a guess"


def test_a_reply_given_to_far_apart_questions_is_canned_but_one_answer_to_one_question_is_not() -> None:
    """One fixed answer to one question, split over two topics, is an answer; a fallback is not."""
    rng = np.random.default_rng(0)
    question = rng.normal(size=512)

    def near(base: np.ndarray) -> np.ndarray:
        vector = base / np.linalg.norm(base) + rng.normal(scale=0.02, size=512)
        return vector / np.linalg.norm(vector)

    fallback, answer = fingerprint("Hmm, not sure about that one."), fingerprint("Refunds take 5 days.")
    seen = [(fallback, f"t{n % 3}", near(rng.normal(size=512))) for n in range(12)]
    seen += [(answer, f"t{n % 2}", near(question)) for n in range(40)]
    seen += [(fingerprint(f"answer {n}"), f"t{n}", near(rng.normal(size=512))) for n in range(6)]
    assert canned_replies(seen, min_topics=2) == frozenset({fallback})
    assert fingerprint("Refunds take 5 days!") == fingerprint("refunds TAKE 5 days"), "folded"


def test_texts_with_no_surviving_term_still_cluster() -> None:
    """A lexical fit where some texts keep no term (every word in over half the texts) must not fail."""
    from pipelines.insights.representations import lexical
    from pipelines.insights.topics import fit

    texts = ["aa", "aa aa", "aa aa aa", "bb"] * 3
    found = fit(lexical(texts), "lexical", 0.0, max_topics=5)
    assert len(found.labels) == len(texts) and 1 <= len(set(found.labels.tolist())) <= 5
    assert found.labels[0] == found.labels[1] == found.labels[2]
