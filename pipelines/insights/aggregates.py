"""The ``topics`` and ``knowledge_gaps`` rows, and the topic model's exemplars, from every insights row.

Made anew on every run from the rows that exist, so nothing of a forgotten conversation survives
in them: its row is gone, and with it its question from representatives, examples and exemplars.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Final

from ..warehouse.windows import as_date, week_back
from .conversations import ConversationInsight
from .labels import keywords, label
from .representations import LEXICAL, pack
from .topics import ALL_LANGUAGES, OTHER, is_paste

REPRESENTATIVES: Final = 3
EXAMPLES: Final = 3
EXAMPLES_PER_LANGUAGE: Final = 2
EXAMPLE_LANGUAGE_SHARE: Final = 0.05  # a language with this share of a topic gets its own examples
EXEMPLARS: Final = 25
FAILED: Final = frozenset({"unanswered", "handed_off"})
OTHER_LABEL: Final = "other: pastes and rare questions"
LABEL_KEPT_WITHIN: Final = 0.05  # a topic within 5% of its last size keeps its words on an incremental run
UNDECIDED: Final = "und"  # the language of conversations whose language is NULL


@dataclass
class TopicMembers:
    """One topic's conversations, as aggregates need them."""

    topic_id: str
    members: list[ConversationInsight] = field(default_factory=list)

    def questions(self) -> list[str]:
        """Its conversations' clustered texts."""
        return [m.features for m in self.members if m.features]

    def languages(self) -> Counter[str]:
        """Its conversations by language (``und``: undecidable)."""
        return Counter(m.language or UNDECIDED for m in self.members)

    @property
    def language(self) -> str:
        """The language most of its conversations are in."""
        return min(self.languages().items(), key=lambda item: (-item[1], item[0]))[0]


def group_by_topic(rows: Iterable[ConversationInsight]) -> dict[str, TopicMembers]:
    """Rows with a topic, by topic id."""
    topics: dict[str, TopicMembers] = {}
    for row in rows:
        if row.topic_id is not None:
            topics.setdefault(row.topic_id, TopicMembers(row.topic_id)).members.append(row)
    return topics


def topic_keywords(topics: dict[str, TopicMembers]) -> dict[str, dict[str, list[str]]]:
    """Each topic's distinctive words in each of its languages: ``{topic_id: {language: words}}``."""
    by_language: defaultdict[str, dict[str, list[str]]] = defaultdict(dict)
    for topic in topics.values():
        if topic.topic_id == OTHER:
            continue
        for member in topic.members:
            if member.features:
                by_language[member.language or UNDECIDED].setdefault(topic.topic_id, []).append(member.features)
    terms: defaultdict[str, dict[str, list[str]]] = defaultdict(dict)
    for language, questions in by_language.items():
        for topic_id, found in keywords(questions, None if language == UNDECIDED else language).items():
            terms[topic_id][language] = found
    return terms


def generated_label(topic: TopicMembers, terms: dict[str, list[str]], label_language: str) -> str:
    """The words that name a topic: in the team's language where the topic has them, else in its own."""
    if topic.topic_id == OTHER:
        return OTHER_LABEL
    for language in (label_language, topic.language, *sorted(terms)):
        if terms.get(language):
            return label(terms[language], topic.topic_id)
    return topic.topic_id


def topic_rows(
    topics: dict[str, TopicMembers],
    names: dict[str, str],
    label_language: str,
    computed_at: datetime,
    previous: dict[str, tuple[str, str | None, int]] | None = None,
) -> list[dict[str, Any]]:
    """One ``topics`` row per topic: name and label, keywords, languages, counts, examples per language.

    Args:
        topics: Every topic and its members.
        names: Names people gave topics (``chatsync topics rename``).
        label_language: The team's language: labels are in it where the topic has questions in it.
        computed_at: When.
        previous: The last refresh's ``{topic_id: (generated label, keywords, conversations)}``: when
            every topic is within ``LABEL_KEPT_WITHIN`` of its size then, its words are kept (an
            incremental run need not read every question again). None: words made anew.

    Returns:
        The rows.
    """
    if previous is not None and all(_kept(topic, previous) for topic in topics.values()):
        words = {t: (previous[t][0], previous[t][1]) for t in topics}
    else:
        terms = topic_keywords(topics)
        words = {t: _words(topic, terms.get(t, {}), label_language) for t, topic in topics.items()}
    return [
        _topic_row(topic, *words[topic.topic_id], names.get(topic.topic_id), computed_at) for topic in topics.values()
    ]


def _kept(topic: TopicMembers, previous: dict[str, tuple[str, str | None, int]]) -> bool:
    before = previous.get(topic.topic_id)
    return before is not None and abs(len(topic.members) - before[2]) <= LABEL_KEPT_WITHIN * before[2]


def _words(topic: TopicMembers, terms: dict[str, list[str]], label_language: str) -> tuple[str, str | None]:
    """A topic's generated label and its keywords (in the label's language)."""
    own = terms.get(label_language) or terms.get(topic.language) or []
    return generated_label(topic, terms, label_language), ", ".join(own) or None


def _topic_row(
    topic: TopicMembers, generated: str, keywords_shown: str | None, name: str | None, computed_at: datetime
) -> dict[str, Any]:
    outcomes = Counter(m.outcome for m in topic.members)
    moods = [m.sentiment for m in topic.members if m.sentiment is not None]
    starts = [m.first_message_at for m in topic.members if m.first_message_at is not None]
    top = _most_asked(topic.members, REPRESENTATIVES)
    return {
        "topic_id": topic.topic_id,
        "name": name,
        "label": name or generated,
        "generated_label": generated,
        "language": topic.language,
        "languages": _shares(topic.languages()),
        "keywords": keywords_shown,
        "conversations": len(topic.members),
        "unanswered": outcomes["unanswered"],
        "handed_off": outcomes["handed_off"],
        "abandoned": outcomes["abandoned"],
        "mean_sentiment": round(sum(moods) / len(moods), 4) if moods else None,
        **{f"question_{n + 1}": (top[n] if n < len(top) else None) for n in range(REPRESENTATIVES)},
        "examples": json.dumps(examples_by_language(topic.members), ensure_ascii=False),
        "first_seen": min(starts) if starts else None,
        "last_seen": max(starts) if starts else None,
        "computed_at": computed_at,
    }


def _shares(languages: Counter[str]) -> str:
    """``en 41%, es 22%``: a topic's languages, largest first."""
    total = sum(languages.values())
    ranked = sorted(languages.items(), key=lambda item: (-item[1], item[0]))
    return ", ".join(f"{language} {round(100 * count / total)}%" for language, count in ranked)


def examples_by_language(members: Sequence[ConversationInsight]) -> dict[str, list[str]]:
    """The most asked questions in each language holding at least ``EXAMPLE_LANGUAGE_SHARE`` of a topic."""
    by_language: defaultdict[str, Counter[str]] = defaultdict(Counter)
    for member in members:
        if member.question and member.features and not is_paste(member.features):
            by_language[member.language or UNDECIDED][member.question] += 1
    floor = EXAMPLE_LANGUAGE_SHARE * len(members)
    return {
        language: _top(asked, EXAMPLES_PER_LANGUAGE)
        for language, asked in sorted(by_language.items(), key=lambda item: (-sum(item[1].values()), item[0]))
        if sum(asked.values()) >= floor
    }


def _most_asked(members: Sequence[ConversationInsight], count: int) -> list[str]:
    asked = Counter(m.question for m in members if m.question)
    return _top(asked, count)


def _top(asked: Counter[str], count: int) -> list[str]:
    """The most asked, ties in text order: the same on every destination, whatever order rows came in."""
    return [text for text, _ in sorted(asked.items(), key=lambda item: (-item[1], item[0]))[:count]]


def gap_rows(topics: dict[str, TopicMembers], labels: dict[str, str], computed_at: datetime) -> list[dict[str, Any]]:
    """One ``knowledge_gaps`` row per topic with failed conversations, ranked: 1 is the gap to fill first.

    The 7-day windows are whole UTC days ending at the newest conversation's day (``trend.week_back``,
    as the topics' trend counts them): the data's clock, so a backfill of last year still shows its trend.
    """
    starts = [m.first_message_at for t in topics.values() for m in t.members if m.first_message_at is not None]
    end = as_date(max(starts)) if starts else None
    gaps = [
        _gap(topic, labels.get(topic.topic_id, topic.topic_id), end)
        for topic in topics.values()
        if topic.topic_id != OTHER
    ]
    ranked = sorted(
        (g for g in gaps if g is not None), key=lambda g: (-g["_failed"], -g["failed_share"], g["topic_id"])
    )
    rows = []
    for rank, gap in enumerate(ranked, 1):
        gap.pop("_failed")
        rows.append({"rank": rank, **gap, "computed_at": computed_at})
    return rows


def _gap(topic: TopicMembers, name: str, end: date | None) -> dict[str, Any] | None:
    failed = [m for m in topic.members if m.outcome in FAILED]
    if not failed:
        return None
    examples = _across_languages([m for m in failed if m.question])[:EXAMPLES]
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


def _across_languages(failed: Sequence[ConversationInsight]) -> list[ConversationInsight]:
    """Failed conversations, newest first, taking each language's newest in turn: examples in several languages."""
    newest = sorted(failed, key=lambda m: (m.first_message_at is not None, m.first_message_at), reverse=True)
    by_language: dict[str, list[ConversationInsight]] = {}
    for member in newest:
        by_language.setdefault(member.language or UNDECIDED, []).append(member)
    turns = sorted(by_language.values(), key=lambda found: -len(found))
    return [found[n] for n in range(max(map(len, turns), default=0)) for found in turns if n < len(found)]


def _within(rows: Sequence[ConversationInsight], end: date | None, windows_back: int) -> int:
    if end is None:
        return 0
    days = (as_date(m.first_message_at) for m in rows if m.first_message_at is not None)
    return sum(1 for day in days if week_back(day, end) == windows_back)


def model_rows(model: TopicModel, topics: dict[str, TopicMembers], computed_at: datetime) -> list[dict[str, Any]]:
    """The ``topic_model`` rows: multilingual centroids and language means, lexical topics' exemplars.

    Args:
        model: The model as this run leaves it.
        topics: Every topic and its members (lexical exemplars are their most asked live questions).
        computed_at: When.

    Returns:
        The rows.
    """
    rows = []
    for topic_id, centroid in sorted(model.centroids.items()):
        rows.append(_model_row(topic_id, ALL_LANGUAGES, "centroid", "", pack(centroid), model.fitted, computed_at))
    for language, mean in sorted(model.means.items()):
        rows.append(_model_row(ALL_LANGUAGES, language, "language_mean", "", pack(mean), model.fitted, computed_at))
    for topic_id, language in sorted(model.lexical.items()):
        topic = topics.get(topic_id)
        live = Counter(topic.questions()) if topic is not None else Counter()
        for exemplar in _top(live, EXEMPLARS):
            rows.append(_model_row(topic_id, language, LEXICAL, exemplar, None, model.fitted, computed_at))
    return rows


def _model_row(
    topic_id: str, language: str, representation: str, exemplar: str, vector: str | None, fitted: int, at: datetime
) -> dict[str, Any]:
    return {
        "topic_id": topic_id,
        "language": language,
        "representation": representation,
        "exemplar": exemplar,
        "vector": vector,
        "fitted_conversations": fitted,
        "computed_at": at,
    }


@dataclass
class TopicModel:
    """What new conversations are assigned with: centroids and language means (multilingual),
    and the topics of languages the model does not cover (``{topic_id: language}``)."""

    centroids: dict[str, Any] = field(default_factory=dict)
    means: dict[str, Any] = field(default_factory=dict)
    lexical: dict[str, str] = field(default_factory=dict)
    fitted: int = 0

    @property
    def legacy(self) -> bool:
        """A model of per-language topics (ids such as ``en-3``), from before one topic space."""
        return any("-" in topic for topic in [*self.centroids, *self.lexical])

    def __bool__(self) -> bool:
        return bool(self.centroids or self.lexical)
