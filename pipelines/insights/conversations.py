"""One conversation's insights from its messages: question, outcome signals, language, sentiment.

Outcome, in this order of precedence (docs/insights.md):

1. ``handed_off``: a human agent wrote, or the provider's handoff flag is set;
2. ``abandoned``: the conversation ends on a user message that got no reply;
3. ``unanswered``: the bot's first reply to the question is a fallback (a phrase, an empty reply,
   or a canned reply: see ``fallbacks``);
4. ``answered``: everything else.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from .fallbacks import FallbackPhrases
from .language import detect
from .sentiment import VADER_LANGUAGES, sentiment, sentiments
from .text import clean, fingerprint, has_words, normalised

# a bare greeting opening is skipped for the message after it, which holds the question
GREETINGS: Final = frozenset(
    {
        "hi",
        "hello",
        "hey",
        "hi there",
        "hello there",
        "good morning",
        "good afternoon",
        "good evening",
        "hola",
        "buenos dias",
        "buenas tardes",
        "hallo",
        "guten tag",
        "bonjour",
        "salut",
        "ola",
        "oi",
        "bom dia",
        "halo",
        "selamat pagi",
        "你好",
        "您好",
        "こんにちは",
        "مرحبا",
    }
)
USER_TEXT_FOR_LANGUAGE: Final = 400
PER_MESSAGE_FOR_LANGUAGE: Final = 100  # so one pasted page cannot outvote the conversation
REPLY_ROLES: Final = frozenset({"assistant", "agent"})


@dataclass(frozen=True)
class Message:
    """What insights read of one message, in conversation order."""

    role: str
    content: str | None
    created_at: datetime | None


@dataclass
class ConversationInsight:
    """One ``conversation_insights`` row before its topic and final outcome are known."""

    provider: str
    bot_id: str | None
    conversation_id: str
    question: str | None
    features: str  # the opening question(s), cleaned: what topics cluster
    language: str | None
    sentiment: float | None
    handed_off: bool
    abandoned: bool
    fallback: str | None  # phrase, empty; canned is decided across conversations
    reply_fingerprint: str | None
    first_message_at: datetime | None
    last_message_at: datetime | None
    user_messages: int
    assistant_messages: int
    message_count: int
    topic_id: str | None = None
    model_topic_id: str | None = None
    question_vector: str | None = None
    vector_stored: bool = False  # the warehouse holds its vector, not read back until needed
    user_texts: tuple[str, ...] = ()  # kept until ``score_sentiments`` scores them in one batch
    outcome: str = "answered"

    @classmethod
    def from_row(cls, row: dict[str, Any], limit: int) -> ConversationInsight:
        """A stored ``conversation_insights`` row; the outcome's signals are read back from it."""
        outcome = str(row["outcome"])
        values: dict[str, Any] = {name: row.get(name) for name in ROW_COLUMNS}
        values["vector_stored"] = bool(row.get("vector_stored"))
        return cls(
            **values,
            features=clean(row.get("question"), limit),
            handed_off=outcome == "handed_off",
            abandoned=outcome == "abandoned",
        )

    def settle(self, canned: frozenset[str]) -> None:
        """Sets ``outcome`` by the precedence above, given the canned replies of the warehouse."""
        if self.fallback is None and self.reply_fingerprint in canned:
            self.fallback = "canned"
        elif self.fallback == "canned" and self.reply_fingerprint not in canned:
            self.fallback = None
        self.outcome = outcome_of(self.handed_off, self.abandoned, self.fallback)


def outcome_of(handed_off: bool, abandoned: bool, fallback: str | None) -> str:
    """The outcome by precedence: handed_off, abandoned, unanswered, answered."""
    if handed_off:
        return "handed_off"
    if abandoned:
        return "abandoned"
    return "unanswered" if fallback else "answered"


def judge(
    key: tuple[str, str | None, str],
    messages: Sequence[Message],
    flagged_handoff: bool,
    phrases: FallbackPhrases,
    limit: int,
) -> ConversationInsight:
    """The insights of one conversation; any input gives a defined row, never an exception.

    Args:
        key: ``(provider, bot_id, conversation_id)``.
        messages: Its live messages in order (created_at, sequence).
        flagged_handoff: The provider's own handoff flag.
        phrases: Fallback phrases.
        limit: Characters of a message featurised.

    Returns:
        The row, topic not yet assigned.
    """
    provider, bot_id, conversation_id = key
    users = [(n, m) for n, m in enumerate(messages) if m.role == "user"]
    user_texts = [clean(m.content, limit) for _, m in users]
    at = _opening(users, user_texts)
    if at is None:
        question, features, opening = (_cut(users[0][1].content, limit) if users else None), "", None
    else:
        question, features, opening = _cut(users[at][1].content, limit), user_texts[at], users[at][0]
    reply = _first_reply(messages, opening)
    reply_text = clean(reply.content, limit) if reply is not None else None
    language = detect(
        " ".join(t[:PER_MESSAGE_FOR_LANGUAGE] for t in user_texts if has_words(t))[:USER_TEXT_FOR_LANGUAGE]
    )
    stamps = [m.created_at for m in messages if m.created_at is not None]
    insight = ConversationInsight(
        provider=provider,
        bot_id=bot_id,
        conversation_id=conversation_id,
        question=question,
        features=features,
        language=language,
        sentiment=sentiment(user_texts, language) if language in VADER_LANGUAGES else None,
        handed_off=flagged_handoff or any(m.role == "agent" for m in messages),
        abandoned=_ends_unreplied(messages),
        fallback=_fallback(reply_text, phrases),
        reply_fingerprint=fingerprint(reply_text) if reply_text is not None else None,
        first_message_at=min(stamps) if stamps else None,
        last_message_at=max(stamps) if stamps else None,
        user_messages=len(users),
        assistant_messages=sum(m.role == "assistant" for m in messages),
        message_count=len(messages),
    )
    if language not in VADER_LANGUAGES:
        insight.user_texts = tuple(user_texts)  # scored with the other conversations' (score_sentiments)
    insight.settle(frozenset())  # canned replies are known only across conversations: settled again later
    return insight


def score_sentiments(insights: Sequence[ConversationInsight]) -> None:
    """Scores the sentiment of judged conversations whose language the multilingual model covers, in one batch."""
    pending = [insight for insight in insights if insight.user_texts]
    for insight, score in zip(pending, sentiments([(i.user_texts, i.language) for i in pending]), strict=True):
        insight.sentiment, insight.user_texts = score, ()


def _fallback(reply: str | None, phrases: FallbackPhrases) -> str | None:
    """Why a first reply is a fallback, as far as one conversation tells: ``empty`` or ``phrase``."""
    if reply is None:
        return None
    if not reply:
        return "empty"
    return "phrase" if phrases.matches(reply) else None


def _opening(users: list[tuple[int, Message]], texts: list[str]) -> int | None:
    """The position (in ``users``) of the opening question: the first message with words, a bare greeting skipped."""
    worded = [at for at, text in enumerate(texts) if has_words(text)]
    if not worded:
        return None
    if normalised(texts[worded[0]]) in GREETINGS and len(worded) > 1:
        return worded[1]
    return worded[0]


def _ends_unreplied(messages: Sequence[Message]) -> bool:
    """The last message is the user's, and no reply was stamped in the same second (many providers
    stamp to the second: a tie's order is unknown). The view ``conversation_metrics`` says the same."""
    if not messages or messages[-1].role != "user":
        return False
    last = messages[-1].created_at
    if last is None:
        return True
    second = last.replace(microsecond=0)
    return not any(
        m.role in REPLY_ROLES and m.created_at is not None and m.created_at.replace(microsecond=0) == second
        for m in messages
    )


def _cut(text: str | None, limit: int) -> str | None:
    """The text cut at ``limit``; None for no text at all (one warehouse stores '' where another has NULL)."""
    if text is None or not text.strip():
        return None
    return text if len(text) <= limit else text[:limit]


def _first_reply(messages: Sequence[Message], opening: int | None) -> Message | None:
    if opening is None:
        return None
    return next((m for m in messages[opening + 1 :] if m.role in REPLY_ROLES), None)


def as_row(insight: ConversationInsight, computed_at: datetime) -> dict[str, Any]:
    """The ``conversation_insights`` row (``features`` is not stored: ``question`` is)."""
    row = {name: getattr(insight, name) for name in ROW_COLUMNS}
    row["computed_at"] = computed_at
    return row


def stored_columns() -> tuple[str, ...]:
    """The columns read back from ``conversation_insights`` on every run (vectors only when needed)."""
    return tuple(column for column in ROW_COLUMNS if column != "question_vector")


ROW_COLUMNS: Final = (
    "provider",
    "bot_id",
    "conversation_id",
    "topic_id",
    "model_topic_id",
    "language",
    "sentiment",
    "outcome",
    "question",
    "first_message_at",
    "last_message_at",
    "user_messages",
    "assistant_messages",
    "message_count",
    "fallback",
    "reply_fingerprint",
    "question_vector",
)
# columns of conversation_insights added since its first version: a warehouse of an older version lacks them
ADDED_COLUMNS: Final = frozenset({"model_topic_id", "question_vector"})
