"""The ``topics`` and ``knowledge_gaps`` rows, and the topic model's exemplars, from every insights row.

Made anew on every run from the rows that exist, so nothing of a forgotten conversation survives
in them: its row is gone, and with it its question from representatives, examples and exemplars.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final

from .conversations import ConversationInsight
from .labels import keywords, label
from .representations import representation_of
from .topics import EXEMPLARS, UNDECIDED

REPRESENTATIVES: Final = 3
EXAMPLES: Final = 3
WINDOW: Final = timedelta(days=7)
FAILED: Final = frozenset({"unanswered", "handed_off"})


@dataclass
class TopicMembers:
    """One topic's conversations, as aggregates need them."""

    topic_id: str
    language: str
    members: list[ConversationInsight] = field(default_factory=list)

    def questions(self) -> list[str]:
        """Its conversations' clustered texts."""
        return [m.features for m in self.members if m.features]


def group_by_topic(rows: Iterable[ConversationInsight]) -> dict[str, TopicMembers]:
    """Rows with a topic, by topic id."""
    topics: dict[str, TopicMembers] = {}
    for row in rows:
        if row.topic_id is not None:
            language = row.topic_id.rsplit("-", 1)[0]
            topics.setdefault(row.topic_id, TopicMembers(row.topic_id, language)).members.append(row)
    return topics


def topic_rows(topics: dict[str, TopicMembers], computed_at: datetime) -> list[dict[str, Any]]:
    """One ``topics`` row per topic: label, keywords, counts, sentiment, top questions, first and last seen."""
    terms: dict[str, list[str]] = {}
    by_language: defaultdict[str, dict[str, list[str]]] = defaultdict(dict)
    for topic in topics.values():
        by_language[topic.language][topic.topic_id] = topic.questions()
    for language, questions in by_language.items():
        terms.update(keywords(questions, None if language == UNDECIDED else language))
    return [_topic_row(topic, terms.get(topic.topic_id, []), computed_at) for topic in topics.values()]


def _topic_row(topic: TopicMembers, terms: list[str], computed_at: datetime) -> dict[str, Any]:
    outcomes = Counter(m.outcome for m in topic.members)
    moods = [m.sentiment for m in topic.members if m.sentiment is not None]
    starts = [m.first_message_at for m in topic.members if m.first_message_at is not None]
    top = _most_asked(topic.members, REPRESENTATIVES)
    return {
        "topic_id": topic.topic_id,
        "language": topic.language,
        "label": label(terms, topic.topic_id),
        "keywords": ", ".join(terms) or None,
        "conversations": len(topic.members),
        "unanswered": outcomes["unanswered"],
        "handed_off": outcomes["handed_off"],
        "abandoned": outcomes["abandoned"],
        "mean_sentiment": round(sum(moods) / len(moods), 4) if moods else None,
        **{f"question_{n + 1}": (top[n] if n < len(top) else None) for n in range(REPRESENTATIVES)},
        "first_seen": min(starts) if starts else None,
        "last_seen": max(starts) if starts else None,
        "computed_at": computed_at,
    }


def _most_asked(members: Sequence[ConversationInsight], count: int) -> list[str]:
    asked = Counter(m.question for m in members if m.question)
    return [question for question, _ in asked.most_common(count)]


def gap_rows(topics: dict[str, TopicMembers], labels: dict[str, str], computed_at: datetime) -> list[dict[str, Any]]:
    """One ``knowledge_gaps`` row per topic with failed conversations, ranked: 1 is the gap to fill first.

    The 7-day windows end at the newest conversation in the warehouse (the data's clock, not the
    wall clock), so a backfill of last year still shows its trend.
    """
    starts = [m.first_message_at for t in topics.values() for m in t.members if m.first_message_at is not None]
    end = max(starts) if starts else None
    gaps = [_gap(topic, labels.get(topic.topic_id, topic.topic_id), end) for topic in topics.values()]
    ranked = sorted(
        (g for g in gaps if g is not None), key=lambda g: (-g["_failed"], -g["failed_share"], g["topic_id"])
    )
    rows = []
    for rank, gap in enumerate(ranked, 1):
        gap.pop("_failed")
        rows.append({"rank": rank, **gap, "computed_at": computed_at})
    return rows


def _gap(topic: TopicMembers, name: str, end: datetime | None) -> dict[str, Any] | None:
    failed = [m for m in topic.members if m.outcome in FAILED]
    if not failed:
        return None
    recent = sorted(failed, key=lambda m: (m.first_message_at is None, m.first_message_at), reverse=True)
    examples = [m for m in recent if m.question][:EXAMPLES]
    row: dict[str, Any] = {
        "topic_id": topic.topic_id,
        "label": name,
        "conversations": len(topic.members),
        "unanswered": sum(m.outcome == "unanswered" for m in failed),
        "handed_off": sum(m.outcome == "handed_off" for m in failed),
        "failed_share": round(len(failed) / len(topic.members), 4),
        "last_7_days": _within(failed, end, 0),
        "previous_7_days": _within(failed, end, 1),
        "_failed": len(failed),
    }
    row["change"] = row["last_7_days"] - row["previous_7_days"]
    for n in range(EXAMPLES):
        example = examples[n] if n < len(examples) else None
        row[f"example_{n + 1}_question"] = example.question if example else None
        row[f"example_{n + 1}_provider"] = example.provider if example else None
        row[f"example_{n + 1}_conversation_id"] = example.conversation_id if example else None
    return row


def _within(rows: Sequence[ConversationInsight], end: datetime | None, windows_back: int) -> int:
    if end is None:
        return 0
    upper = end - WINDOW * windows_back
    lower = upper - WINDOW
    return sum(1 for m in rows if m.first_message_at is not None and lower < m.first_message_at <= upper)


def model_rows(
    topics: dict[str, TopicMembers], fitted: dict[str, int], computed_at: datetime, chosen: dict[str, list[str]]
) -> list[dict[str, Any]]:
    """The ``topic_model`` rows: per topic, its exemplars (a fit's own, else its most asked texts).

    Args:
        topics: Every topic and its members.
        fitted: Conversations each language was fitted on.
        computed_at: When.
        chosen: Exemplars chosen by this run's fits, by topic id.

    Returns:
        The rows.
    """
    rows = []
    for topic in topics.values():
        live = set(topic.questions())
        exemplars = [t for t in chosen.get(topic.topic_id, []) if t in live]
        if not exemplars:
            exemplars = [text for text, _ in Counter(topic.questions()).most_common(EXEMPLARS)]
        language = None if topic.language == UNDECIDED else topic.language
        for exemplar in exemplars:
            rows.append(
                {
                    "topic_id": topic.topic_id,
                    "language": topic.language,
                    "representation": representation_of(language),
                    "exemplar": exemplar,
                    "fitted_conversations": fitted.get(topic.language, len(topic.members)),
                    "computed_at": computed_at,
                }
            )
    return rows
