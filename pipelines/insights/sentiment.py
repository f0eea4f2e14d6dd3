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

from .representations import MULTILINGUAL_LANGUAGES, embed, embed_cached

VADER_LANGUAGES: Final = frozenset({"en"})
LAST_MESSAGES: Final = 5  # how the user leaves: the last few messages (a 50,000-message thread costs five)
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


def _multilingual(texts: Sequence[str]) -> list[float]:
    """Each text's score from its distance to the prototypes, in [-1, 1]."""
    positive, negative = _prototypes()
    unit = embed_cached(texts)
    margin = (unit @ positive.T).max(axis=1) - (unit @ negative.T).max(axis=1)
    return [float(score) for score in np.tanh(PROTOTYPE_SCALE * margin)]


def has_model(language: str | None) -> bool:
    """Whether a language's sentiment is scored (otherwise it is NULL)."""
    return language in VADER_LANGUAGES or language in MULTILINGUAL_LANGUAGES


def sentiment(user_texts: Sequence[str], language: str | None) -> float | None:
    """The user's sentiment, later messages weighing more (how they leave matters most).

    The scores of the user's last ``LAST_MESSAGES`` messages are weighted by the square of their
    position (1, 4, 9, …), so a closing "thanks, that solved it!" outweighs a frustrated opening.

    Args:
        user_texts: The user's cleaned messages, in order (empty ones are skipped).
        language: The conversation's language.

    Returns:
        A score in [-1, 1]; None when no model covers the language or there is no text.
    """
    if not has_model(language):
        return None
    recent = [text[:MESSAGE_CHARS] for text in user_texts if text][-LAST_MESSAGES:]
    if not recent:
        return None
    scores = [_compound(t) for t in recent] if language in VADER_LANGUAGES else _multilingual(recent)
    weights = [n * n for n in range(1, len(scores) + 1)]  # the close weighs most
    return round(float(sum(s * w for s, w in zip(scores, weights, strict=True))) / sum(weights), 4)
