"""The report's "What users ask": top topics and their trend, knowledge gaps, outcomes, sentiment.

Read from the tables ``chatsync insights`` writes; absent (and the section with it) until it ran.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final
from urllib.parse import quote

from ..warehouse.read_model import NO_SENTIMENT, OUTCOMES, SENTIMENT_BINS, ReadModel, sentiment_word
from .table import Section, share

BotLabel = Callable[[str, str | None], str]

TOP: Final = 10
EXAMPLE_CHARS: Final = 70


@dataclass
class AskedFigures:
    """The figures of "What users ask", as the read model gives them (the explorer shows the same)."""

    topics: list[dict[str, Any]] = field(default_factory=list)  # ReadModel.topics
    gaps: list[dict[str, Any]] = field(default_factory=list)  # ReadModel.gaps
    outcomes: dict[tuple[str, str | None], dict[str, int]] = field(default_factory=dict)
    sentiment: dict[str, int] = field(default_factory=dict)  # word → conversations; NO_SENTIMENT too
    days: dict[str, list[tuple[Any, int, int]]] = field(default_factory=dict)  # top topics' (day, conv., failed)
    verdicts: dict[tuple[str, str], dict[str, int]] = field(default_factory=dict)  # (provider, verdict) → outcomes


def collect_asked(model: ReadModel) -> AskedFigures:
    """Reads the figures from the insights tables through the read model."""
    figures = AskedFigures(
        topics=model.topics(), gaps=model.gaps(), outcomes=model.outcomes_by_bot(), verdicts=model.verdicts()
    )
    for value in model.sentiments():
        name = sentiment_word(value)
        figures.sentiment[name] = figures.sentiment.get(name, 0) + 1
    figures.days = {t["topic_id"]: model.topic_days(t["topic_id"]) for t in figures.topics[:TREND_TOPICS]}
    return figures


TREND_TOPICS: Final = 5  # topics drawn in the report's topic-trend chart


def trend(last: int, previous: int) -> str:
    """``+40%``, ``-12%``, ``new`` or ``=``: the last 7 days against the 7 before."""
    if previous == 0:
        return "new" if last else "="
    change = (last - previous) / previous
    return "=" if abs(change) < 0.005 else f"{change:+.0%}"


def _cut(text: str | None) -> str:
    if not text:
        return "—"
    flat = " ".join(text.split())
    return flat if len(flat) <= EXAMPLE_CHARS else flat[: EXAMPLE_CHARS - 1] + "…"


def asked_sections(figures: AskedFigures | None, bot: BotLabel) -> list[Section]:
    """The four tables of "What users ask"; none before ``chatsync insights`` ran.

    Args:
        figures: What ``collect_asked`` read, or None.
        bot: How a bot is shown, from its provider and id.
    """
    if figures is None or not figures.topics:
        return []
    verdicts = [_verdicts(figures)] if figures.verdicts else []
    return [_topics(figures), _gaps(figures), _outcomes(figures, bot), *verdicts, _sentiment(figures)]


def _verdicts(figures: AskedFigures) -> Section:
    rows = [
        [provider, verdict, f"{sum(counts.values()):,}", *(f"{counts.get(o, 0):,}" for o in OUTCOMES)]
        for (provider, verdict), counts in sorted(figures.verdicts.items())
    ]
    return Section(
        "what users ask: the provider's own verdict against chatsync's outcome",
        ["provider", "its verdict", "conversations", "answered", "unanswered", "handed off", "abandoned"],
        rows,
        2,
        {
            "its verdict": "how the provider's bot judged the conversation (Intercom Fin's resolution_state), as sent",
            "answered": 'chatsync\'s outcome, as in "how conversations end"',
        },
    )


def _topics(figures: AskedFigures) -> Section:
    rows = []
    for t in figures.topics[:TOP]:
        rows.append(
            [
                t["label"] or t["topic_id"],
                t["topic_id"],
                f"{t['conversations']:,}",
                f"{t['last_7']:,}",
                trend(t["last_7"], t["previous_7"]),
                share(t["failed_share"] if t["conversations"] else None),
            ]
        )
    links = {n: f"/topics/{quote(t['topic_id'], safe='')}" for n, t in enumerate(figures.topics[:TOP])}
    return Section(
        "what users ask: top topics",
        ["topic", "id", "conversations", "last 7 days", "trend", "failed"],
        rows,
        2,
        {
            "topic": "the topic's name, or its most distinctive words",
            "last 7 days": "conversations in the 7 UTC days up to the newest day with a conversation",
            "trend": "the last 7 days against the 7 before",
            "failed": "unanswered (the bot fell back) or handed to a human",
        },
        links,
    )


def _gaps(figures: AskedFigures) -> Section:
    rows = [
        [
            g["label"],
            str(g["rank"]),
            _cut(g["example_1_question"]),
            _cut(g["example_2_question"]),
            f"{g['failed']:,}",
            share(float(g["failed_share"])),
            f"{int(g['change']):+,}",
        ]
        for g in figures.gaps[:TOP]
    ]
    links = {
        n: f"/conversations?outcome=failed&topic={quote(g['topic_id'], safe='')}"
        for n, g in enumerate(figures.gaps[:TOP])
    }
    return Section(
        "what users ask: knowledge gaps to fill first",
        ["topic", "#", "example question", "another", "failed", "of topic", "vs previous 7 days"],
        rows,
        4,
        {
            "failed": "conversations of the topic the bot did not answer (fallback) or handed to a human",
            "vs previous 7 days": "failed conversations in the last 7 days minus those in the 7 before",
        },
        links,
    )


def _outcomes(figures: AskedFigures, bot: BotLabel) -> Section:
    rows = []
    for (provider, bot_id), counts in sorted(figures.outcomes.items(), key=lambda item: (item[0][0], item[0][1] or "")):
        total = sum(counts.values())
        shares = (share(counts.get(outcome, 0) / total) for outcome in OUTCOMES)
        rows.append([provider, bot(provider, bot_id), f"{total:,}", *shares])
    return Section(
        "what users ask: how conversations end",
        ["provider", "bot", "conversations", "answered", "unanswered", "handed off", "abandoned"],
        rows,
        2,
        {
            "unanswered": "the bot's first reply was a fallback (a known phrase, blank, or canned across topics)",
            "handed off": "a human agent wrote, or the provider's handoff flag is set",
            "abandoned": "the user's last message got no reply",
        },
    )


def _sentiment(figures: AskedFigures) -> Section:
    total = sum(figures.sentiment.values())
    names = [name for name, _, _ in SENTIMENT_BINS] + [NO_SENTIMENT]
    rows = [
        [name, f"{figures.sentiment.get(name, 0):,}", share(figures.sentiment.get(name, 0) / total)] for name in names
    ]
    return Section(
        "what users ask: sentiment of the user's messages",
        ["sentiment", "conversations", "share"],
        rows,
        1,
        {NO_SENTIMENT: "languages no sentiment model covers: NULL, never a guess"},
    )
