"""How the user feels, in [-1, 1], from their messages: VADER for English; NULL elsewhere, never a guess."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any, Final

LANGUAGES_WITH_A_MODEL: Final = frozenset({"en"})
LAST_MESSAGES: Final = 5  # how the user leaves: the last few messages (a 50,000-message thread costs five)
MESSAGE_CHARS: Final = 500  # VADER's time grows with the square of a text's words: a pasted page is cut


@functools.cache
def _analyzer() -> Any:
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    return SentimentIntensityAnalyzer()


@functools.lru_cache(maxsize=65_536)
def _compound(text: str) -> float:
    """VADER's compound score; cached, since short messages ("thanks!", "ok") recur across conversations."""
    return float(_analyzer().polarity_scores(text)["compound"])


def sentiment(user_texts: Sequence[str], language: str | None) -> float | None:
    """The user's sentiment, later messages weighing more (how they leave matters most).

    The VADER compound scores of the user's last ``LAST_MESSAGES`` messages are weighted by their
    position (1, 2, 3, …), so a closing "thanks, that solved it!" outweighs a frustrated opening.

    Args:
        user_texts: The user's cleaned messages, in order (empty ones are skipped).
        language: The conversation's language.

    Returns:
        A score in [-1, 1]; None when the language has no model or there is no text.
    """
    if language not in LANGUAGES_WITH_A_MODEL:
        return None
    recent = [text[:MESSAGE_CHARS] for text in user_texts if text][-LAST_MESSAGES:]
    scored = [(_compound(text), n) for n, text in enumerate(recent, 1)]
    if not scored:
        return None
    total = sum(weight for _, weight in scored)
    return round(float(sum(score * weight for score, weight in scored)) / total, 4)
