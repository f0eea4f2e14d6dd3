"""Readable topic labels: each topic's most distinctive terms against the other topics (c-TF-IDF).

All questions of a topic form one document; a term weighs by its frequency in the topic times its
rarity across the language's topics, so "order" labels the order topic, not every topic.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Final

import numpy as np
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, CountVectorizer

KEYWORDS: Final = 5
LABEL_TERMS: Final = 3
NO_SPACES: Final = frozenset({"zh", "ja", "th"})  # scripts without spaces: character bigrams are the terms


def keywords(questions: Mapping[str, Sequence[str]], language: str | None) -> dict[str, list[str]]:
    """The ``KEYWORDS`` most distinctive terms of each topic of one language.

    Args:
        questions: ``{topic_id: its conversations' questions}``.
        language: The topics' language.

    Returns:
        ``{topic_id: terms, most distinctive first}`` (empty where a topic has no term).
    """
    ids = sorted(questions)
    documents = [" ".join(questions[topic]) for topic in ids]
    if language in NO_SPACES:
        counter = CountVectorizer(analyzer="char", ngram_range=(2, 2))
    else:
        stop = list(ENGLISH_STOP_WORDS) if language == "en" else None
        counter = CountVectorizer(analyzer="word", ngram_range=(1, 1), stop_words=stop, token_pattern=r"(?u)\b\w\w+\b")
    try:
        counts = counter.fit_transform(documents).toarray().astype(np.float64)
    except ValueError:  # no term at all (emoji, masked text)
        return {topic: [] for topic in ids}
    terms = counter.get_feature_names_out()
    frequency = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    average = counts.sum() / max(len(ids), 1)
    weight = frequency * np.log1p(average / np.maximum(counts.sum(axis=0), 1))
    found: dict[str, list[str]] = {}
    for row, topic in enumerate(ids):
        best = np.argsort(-weight[row], kind="stable")[:KEYWORDS]
        found[topic] = [str(terms[n]) for n in best if counts[row, n] > 0]
    return found


def label(terms: Sequence[str], fallback: str) -> str:
    """``order / delivery / shipped``: the first terms, or ``fallback`` when there are none."""
    return " / ".join(terms[:LABEL_TERMS]) if terms else fallback
