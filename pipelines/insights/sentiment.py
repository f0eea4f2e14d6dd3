"""How the user feels, in [-1, 1], from their messages: VADER for English; NULL elsewhere, never a guess."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any, Final

LANGUAGES_WITH_A_MODEL: Final = frozenset({"en"})


@functools.cache
def _analyzer() -> Any:
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    return SentimentIntensityAnalyzer()


def sentiment(user_texts: Sequence[str], language: str | None) -> float | None:
    """The user's sentiment, later messages weighing more (how they leave matters most).

    Each message's VADER compound score is weighted by its position (1, 2, 3, …), so a closing
    "thanks, that solved it!" outweighs a frustrated opening question.

    Args:
        user_texts: The user's cleaned messages, in order (empty ones are skipped).
        language: The conversation's language.

    Returns:
        A score in [-1, 1]; None when the language has no model or there is no text.
    """
    if language not in LANGUAGES_WITH_A_MODEL:
        return None
    scored = [(_analyzer().polarity_scores(text)["compound"], n) for n, text in enumerate(user_texts, 1) if text]
    if not scored:
        return None
    total = sum(weight for _, weight in scored)
    return round(float(sum(score * weight for score, weight in scored)) / total, 4)
