"""Readable topic labels: each topic's most distinctive terms against the other topics (c-TF-IDF).

All questions of a topic form one document; a term weighs by its frequency in the topic times its
rarity across the language's topics, so "order" labels the order topic, not every topic.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any, Final

import numpy as np
from scipy.sparse import lil_matrix
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, CountVectorizer

KEYWORDS: Final = 5
LABEL_CHARS: Final = 300  # of each question: a pasted page labels nothing
MIN_COVERAGE: Final = 0.2
SMALL_TOPIC: Final = 4  # distinct questions; below this every term may label
LABEL_TERMS: Final = 3
NO_SPACES: Final = frozenset({"zh", "ja", "th"})  # scripts without spaces: character bigrams are the terms
# function words that label nothing (English's are scikit-learn's), for the languages most often seen
STOP_WORDS: Final[Mapping[str, frozenset[str]]] = {
    "en": frozenset(["hi", "hello", "hey", "please", "thanks", "thank", "ok"]),
    "es": frozenset(
        [
            "el",
            "la",
            "los",
            "las",
            "un",
            "una",
            "unos",
            "unas",
            "de",
            "del",
            "al",
            "en",
            "y",
            "o",
            "que",
            "qué",
            "se",
            "mi",
            "mis",
            "tu",
            "su",
            "es",
            "son",
            "está",
            "por",
            "para",
            "con",
            "como",
            "cómo",
            "cuál",
            "cuándo",
            "dónde",
            "me",
            "lo",
            "le",
            "ya",
            "no",
            "sí",
            "hay",
            "hola",
        ]
    ),
    "pt": frozenset(
        [
            "o",
            "a",
            "os",
            "as",
            "um",
            "uma",
            "de",
            "do",
            "da",
            "em",
            "e",
            "ou",
            "que",
            "se",
            "meu",
            "minha",
            "é",
            "por",
            "para",
            "com",
            "como",
            "qual",
            "não",
            "olá",
        ]
    ),
    "fr": frozenset(
        [
            "le",
            "la",
            "les",
            "un",
            "une",
            "des",
            "de",
            "du",
            "en",
            "et",
            "ou",
            "que",
            "qui",
            "se",
            "mon",
            "ma",
            "mes",
            "est",
            "pour",
            "avec",
            "comment",
            "ne",
            "pas",
        ]
    ),
    "de": frozenset(
        [
            "der",
            "die",
            "das",
            "ein",
            "eine",
            "und",
            "oder",
            "ich",
            "mein",
            "meine",
            "ist",
            "nicht",
            "mit",
            "für",
            "wie",
            "was",
            "wo",
            "hallo",
            "zu",
        ]
    ),
}
CJK_FUNCTION_CHARACTERS: Final = frozenset("的了吗我你们么是在要怎可以吧呢好")


def keywords(questions: Mapping[str, Sequence[str]], language: str | None) -> dict[str, list[str]]:
    """The ``KEYWORDS`` most distinctive terms of each topic of one language.

    Args:
        questions: ``{topic_id: its conversations' questions}``.
        language: The topics' language.

    Returns:
        ``{topic_id: terms, most distinctive first}`` (empty where a topic has no term).
    """
    ids = sorted(questions)
    asked = {topic: Counter(text[:LABEL_CHARS] for text in questions[topic]) for topic in ids}
    texts = sorted({text for found in asked.values() for text in found})
    if language in NO_SPACES:
        counter = CountVectorizer(analyzer=_bigrams)
    else:
        stop = sorted(ENGLISH_STOP_WORDS | STOP_WORDS.get(language or "", frozenset()))
        counter = CountVectorizer(analyzer="word", ngram_range=(1, 1), stop_words=stop, token_pattern=r"(?u)\b\w\w+\b")
    try:
        per_text = counter.fit_transform(texts)  # each distinct text once, then weighted by how often it is asked
    except ValueError:  # no term at all (emoji, masked text)
        return {topic: [] for topic in ids}
    position = {text: n for n, text in enumerate(texts)}
    asks = lil_matrix((len(ids), len(texts)))
    for row, topic in enumerate(ids):
        for text, times in asked[topic].items():
            asks[row, position[text]] = times
    counts = np.asarray((asks.tocsr() @ per_text).todense(), dtype=np.float64)
    distinct = {topic: sorted(asked[topic]) for topic in ids}
    terms = counter.get_feature_names_out()
    frequency = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    average = counts.sum() / max(len(ids), 1)
    weight = frequency * np.log1p(average / np.maximum(counts.sum(axis=0), 1))
    found: dict[str, list[str]] = {}
    analyzer = counter.build_analyzer()
    for row, topic in enumerate(ids):
        common = _common_terms(distinct[topic], analyzer)
        best = [n for n in np.argsort(-weight[row], kind="stable") if counts[row, n] > 0 and terms[n] in common]
        found[topic] = [str(terms[n]) for n in best[:KEYWORDS]]
    return found


def _bigrams(text: str) -> list[str]:
    """Character bigrams of a text without spaces, leaving out punctuation and function characters."""
    return [
        text[n : n + 2]
        for n in range(len(text) - 1)
        if text[n].isalnum() and text[n + 1].isalnum() and not {text[n], text[n + 1]} & CJK_FUNCTION_CHARACTERS
    ]


def _common_terms(questions: Sequence[str], analyzer: Any) -> set[str]:
    """Terms found in at least ``MIN_COVERAGE`` of a topic's distinct questions (all, for a small topic):
    a term of one odd phrasing does not label the topic."""
    seen: Counter[str] = Counter(term for question in questions for term in set(analyzer(question)))
    floor = MIN_COVERAGE * len(questions) if len(questions) >= SMALL_TOPIC else 0
    return {term for term, count in seen.items() if count >= floor}


def label(terms: Sequence[str], fallback: str) -> str:
    """``order / delivery / shipped``: the first terms, or ``fallback`` when there are none."""
    return " / ".join(terms[:LABEL_TERMS]) if terms else fallback
