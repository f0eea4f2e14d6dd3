"""How the user feels, in [-1, 1], from their messages: VADER for English; the multilingual sentence
model for the other languages it covers; NULL elsewhere, never a guess.

Beyond English, a message's score is how much nearer it lies to positive prototype sentences than to
negative ones in the multilingual space (where "danke, sehr hilfreich" lies near "thanks, that was
helpful"), scaled so that a clear close scores like VADER's. It reads tone from meaning, not words:
it is weak on sarcasm, on mixed messages, and on short neutral ones, which score near 0.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any, Final

import numpy as np

from .representations import MULTILINGUAL_LANGUAGES, embed

VADER_LANGUAGES: Final = frozenset({"en"})
LAST_MESSAGES: Final = 5  # how the user leaves: the last few messages (a 50,000-message thread costs five)
# beyond English each message is a sentence embedding (the costliest step of judging): the last two,
# the close and the message before it, say how the user leaves
LAST_EMBEDDED_MESSAGES: Final = 2
MESSAGE_CHARS: Final = 500  # VADER's time grows with the square of a text's words: a pasted page is cut
PROTOTYPE_SCALE: Final = 4.0  # similarity margins (about ±0.3 on clear closes) to VADER's range
POSITIVE: Final = (
    "Thanks so much, you helped me a lot.",
    "Awesome, my issue is fixed now.",
    "I'm happy with this answer.",
    "Brilliant, exactly what I needed.",
    "Wonderful support, thank you.",
)
NEGATIVE: Final = (
    "You are not helping me at all.",
    "I'm really unhappy with this service.",
    "This is a waste of my time.",
    "Very bad experience, I'm upset.",
    "Nothing works and nobody helps.",
)


@functools.cache
def _analyzer() -> Any:
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    return SentimentIntensityAnalyzer()


@functools.lru_cache(maxsize=65_536)
def _compound(text: str) -> float:
    """VADER's compound score; cached, since short messages ("thanks!", "ok") recur across conversations."""
    return float(_analyzer().polarity_scores(text)["compound"])


@functools.cache
def _prototypes() -> tuple[Any, Any]:
    return embed(POSITIVE), embed(NEGATIVE)


def _prototype_scores(texts: Sequence[str]) -> dict[str, float]:
    """Each distinct text's score from its distance to the prototypes, in [-1, 1] (one batch for all)."""
    distinct = sorted(set(texts))
    if not distinct:
        return {}
    positive, negative = _prototypes()
    unit = embed(distinct)
    margin = (unit @ positive.T).max(axis=1) - (unit @ negative.T).max(axis=1)
    return {text: float(score) for text, score in zip(distinct, np.tanh(PROTOTYPE_SCALE * margin), strict=True)}


def has_model(language: str | None) -> bool:
    """Whether a language's sentiment is scored (otherwise it is NULL)."""
    return language in VADER_LANGUAGES or language in MULTILINGUAL_LANGUAGES


def closing_texts(user_texts: Sequence[str], language: str | None) -> list[str]:
    """The user's last non-empty messages (five with VADER, two embedded), each cut at ``MESSAGE_CHARS``."""
    last = LAST_MESSAGES if language in VADER_LANGUAGES else LAST_EMBEDDED_MESSAGES
    return [text[:MESSAGE_CHARS] for text in user_texts if text][-last:]


def sentiments(conversations: Sequence[tuple[Sequence[str], str | None]]) -> list[float | None]:
    """The sentiment of many conversations at once (the multilingual model embeds their texts in one batch).

    Args:
        conversations: ``(the user's cleaned messages in order, language)`` of each conversation.

    Returns:
        A score in [-1, 1] per conversation, later messages weighing more (1, 4, 9, …: the close
        counts most); None where no model covers the language or there is no text.
    """
    recent = [closing_texts(texts, language) if has_model(language) else [] for texts, language in conversations]
    spaced = [
        t
        for texts, (_, language) in zip(recent, conversations, strict=True)
        for t in texts
        if language not in VADER_LANGUAGES
    ]
    scored = _prototype_scores(spaced)
    found: list[float | None] = []
    for texts, (_, language) in zip(recent, conversations, strict=True):
        if not texts:
            found.append(None)
            continue
        scores = [_compound(t) if language in VADER_LANGUAGES else scored[t] for t in texts]
        weights = [n * n for n in range(1, len(scores) + 1)]
        found.append(round(float(sum(s * w for s, w in zip(scores, weights, strict=True))) / sum(weights), 4))
    return found


def sentiment(user_texts: Sequence[str], language: str | None) -> float | None:
    """The user's sentiment in one conversation (see ``sentiments``).

    Args:
        user_texts: The user's cleaned messages, in order (empty ones are skipped).
        language: The conversation's language.

    Returns:
        A score in [-1, 1]; None when no model covers the language or there is no text.
    """
    return sentiments([(user_texts, language)])[0]
