"""The report's "What users ask": top topics and their trend, knowledge gaps, outcomes, sentiment.

Read from the tables ``chatsync insights`` writes; absent (and the section with it) until it ran.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final

from ..insights.trend import weekly
from .table import Section, share

BotLabel = Callable[[str, str | None], str]

TOP: Final = 10
EXAMPLE_CHARS: Final = 70
SENTIMENT_BINS: Final = (
    ("very negative", -1.01, -0.5),
    ("negative", -0.5, -0.05),
    ("neutral", -0.05, 0.05),
    ("positive", 0.05, 0.5),
    ("very positive", 0.5, 1.01),
)
OUTCOMES: Final = ("answered", "unanswered", "handed_off", "abandoned")

_TOPICS = (
    "SELECT topic_id, label, conversations, unanswered, handed_off FROM topics ORDER BY conversations DESC, topic_id"
)
_DAILY = "SELECT topic_id, day, conversations FROM topic_daily"
_GAPS = (
    "SELECT rank, label, unanswered + handed_off, failed_share, change, example_1_question, example_2_question "
    "FROM knowledge_gaps ORDER BY rank"
)
_OUTCOMES = "SELECT provider, bot_id, outcome, COUNT(*) FROM conversation_insights GROUP BY provider, bot_id, outcome"
_SENTIMENT = "SELECT sentiment FROM conversation_insights"


@dataclass
class AskedFigures:
    """The figures of "What users ask"."""

    topics: list[tuple[str, str, int, int, int]] = field(default_factory=list)
    weekly: dict[str, tuple[int, int]] = field(default_factory=dict)  # topic → (last 7 days, previous 7)
    gaps: list[tuple[int, str, int, float, int, str | None, str | None]] = field(default_factory=list)
    outcomes: dict[tuple[str, str | None], dict[str, int]] = field(default_factory=dict)
    sentiment: dict[str, int] = field(default_factory=dict)  # bin → conversations; "no model" too


def collect_asked(run: Any) -> AskedFigures:
    """Reads the figures with ``run`` (canonical SQL → rows) from the insights tables."""
    figures = AskedFigures()
    figures.topics = [(t, lbl, int(n), int(u), int(h)) for t, lbl, n, u, h in run(_TOPICS)]
    figures.weekly = weekly(run(_DAILY))
    figures.gaps = [(int(r), lbl, int(f), float(s), int(c), a, b) for r, lbl, f, s, c, a, b in run(_GAPS)]
    for provider, bot, outcome, count in run(_OUTCOMES):
        figures.outcomes.setdefault((provider, bot), {})[str(outcome)] = int(count)
    for (value,) in run(_SENTIMENT):
        name = "no model (language)" if value is None else _bin(float(value))
        figures.sentiment[name] = figures.sentiment.get(name, 0) + 1
    return figures


def _bin(value: float) -> str:
    return next(
        name for name, low, high in SENTIMENT_BINS if low < value <= high or (name == "neutral" and value == low)
    )


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
    return [_topics(figures), _gaps(figures), _outcomes(figures, bot), _sentiment(figures)]


def _topics(figures: AskedFigures) -> Section:
    rows = []
    for topic, label, conversations, unanswered, handed_off in figures.topics[:TOP]:
        last, previous = figures.weekly.get(topic, (0, 0))
        failed = (unanswered + handed_off) / conversations if conversations else None
        rows.append([label, topic, f"{conversations:,}", f"{last:,}", trend(last, previous), share(failed)])
    return Section(
        "what users ask: top topics",
        ["topic", "id", "conversations", "last 7 days", "trend", "failed"],
        rows,
        2,
        {
            "topic": "the topic's most distinctive terms",
            "last 7 days": "conversations in the 7 days up to the newest one loaded",
            "trend": "the last 7 days against the 7 before",
            "failed": "unanswered (the bot fell back) or handed to a human",
        },
    )


def _gaps(figures: AskedFigures) -> Section:
    rows = [
        [str(rank), label, _cut(first), _cut(second), f"{failed:,}", share(failed_share), f"{change:+,}"]
        for rank, label, failed, failed_share, change, first, second in figures.gaps[:TOP]
    ]
    return Section(
        "what users ask: knowledge gaps to fill first",
        ["#", "topic", "example question", "another", "failed", "of topic", "vs previous 7 days"],
        rows,
        4,
        {
            "failed": "conversations of the topic the bot did not answer (fallback) or handed to a human",
            "vs previous 7 days": "failed conversations in the last 7 days minus those in the 7 before",
        },
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
    names = [name for name, _, _ in SENTIMENT_BINS] + ["no model (language)"]
    rows = [
        [name, f"{figures.sentiment.get(name, 0):,}", share(figures.sentiment.get(name, 0) / total)] for name in names
    ]
    return Section(
        "what users ask: sentiment of the user's messages",
        ["sentiment", "conversations", "share"],
        rows,
        1,
        {"no model (language)": "languages without a sentiment model (English only today): NULL, never a guess"},
    )
