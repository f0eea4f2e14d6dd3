"""Readable topic labels: each topic's most distinctive words against the other topics (c-TF-IDF).

All questions of a topic in one language form one document; a word weighs by its frequency in the
topic times its rarity across topics, so "order" labels the order topic, not every topic.

What counts as a word: letters only (no number, no id such as ``user5700``), never a stop word
(scikit-learn's list for English, whose ``stopwordsiso`` list holds content
words such as "order"; ``stopwordsiso``'s for the other languages), never a piece of an e-mail address or a link
(removed first), never a fragment of a contraction ("hasn", "didn": a word with an apostrophe is
dropped whole). Chinese is segmented into words by ``rjieba``; Japanese into runs of one script
(kanji, katakana), which are its content words; a single character labels nothing.
"""

from __future__ import annotations

import functools
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Final

import numpy as np

KEYWORDS: Final = 5
LABEL_CHARS: Final = 300  # of each question: a pasted page labels nothing
LABEL_TERMS: Final = 3
MIN_COVERAGE: Final = 0.1  # a word of one odd phrasing does not label the topic
_ADDRESS: Final = re.compile(r"\S+@\S+|https?://\S+|www\.\S+", re.IGNORECASE)
_WORD: Final = re.compile(r"[^\W\d_]+(?:['\u2019][^\W\d_]+)*", re.UNICODE)
_JAPANESE: Final = re.compile(r"[\u4e00-\u9fff々]{2,}|[\u30a0-\u30ffー]{2,}")
_APOSTROPHE: Final = re.compile("['\\u2019]")
_CJK: Final = re.compile(r"^[\u4e00-\u9fff]+$")
# words of support questions that say nothing of the topic, beside the stop-word lists
EXTRA_STOP_WORDS: Final = frozenset(
    {"hi", "hello", "hey", "please", "thanks", "thank", "ok", "hola", "hallo", "bitte", "yet", "still"}
)


@functools.cache
def stop_words(language: str | None) -> frozenset[str]:
    """A language's stop words (``stopwordsiso``), with greetings and courtesy words."""
    import stopwordsiso
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    found: set[str] = set()
    if language == "en":
        found = set(ENGLISH_STOP_WORDS)
    elif language and stopwordsiso.has_lang(language):
        found = {word.casefold() for word in stopwordsiso.stopwords(language)}
    return frozenset(found | EXTRA_STOP_WORDS)


def words(text: str, language: str | None) -> list[str]:
    """The content words of one question, in order (see the module's rules)."""
    text = _ADDRESS.sub(" ", text[:LABEL_CHARS])
    if language == "zh":
        import rjieba

        tokens = [t for t in rjieba.cut(text) if len(t) >= 2 and _CJK.match(t)]
    elif language == "ja":
        tokens = _JAPANESE.findall(text)
    else:
        tokens = [t.casefold() for t in _WORD.findall(text) if not _APOSTROPHE.search(t) and len(t) >= 2]
    stop = stop_words(language)
    return [t for t in tokens if t not in stop]


def keywords(questions: Mapping[str, Sequence[str]], language: str | None) -> dict[str, list[str]]:
    """The ``KEYWORDS`` most distinctive words of each topic, in one language.

    Args:
        questions: ``{topic_id: its conversations' questions in that language}``.
        language: Their language.

    Returns:
        ``{topic_id: words, most distinctive first}`` (empty where a topic has no word).
    """
    ids = sorted(questions)
    counted: dict[str, Counter[str]] = {}
    covered: dict[str, Counter[str]] = {}
    for topic in ids:
        counted[topic], covered[topic] = _count(questions[topic], language)
    vocabulary = sorted({word for found in counted.values() for word in found})
    if not vocabulary:
        return {topic: [] for topic in ids}
    column = {word: n for n, word in enumerate(vocabulary)}
    counts = np.zeros((len(ids), len(vocabulary)))
    for row, topic in enumerate(ids):
        for word, times in counted[topic].items():
            counts[row, column[word]] = times
    frequency = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    average = counts.sum() / max(len(ids), 1)
    weight = frequency * np.log1p(average / np.maximum(counts.sum(axis=0), 1))
    found: dict[str, list[str]] = {}
    for row, topic in enumerate(ids):
        asked = max(len(questions[topic]), 1)
        common = {w for w, n in covered[topic].items() if n >= MIN_COVERAGE * asked}
        best = [n for n in np.argsort(-weight[row], kind="stable") if counts[row, n] > 0 and vocabulary[n] in common]
        found[topic] = [vocabulary[n] for n in best[:KEYWORDS]]
    return found


def _count(questions: Iterable[str], language: str | None) -> tuple[Counter[str], Counter[str]]:
    """Word counts over a topic's questions, and in how many questions each word appears."""
    counts: Counter[str] = Counter()
    covered: Counter[str] = Counter()
    cache: dict[str, list[str]] = {}
    for question in questions:
        found = cache.get(question)
        if found is None:
            found = cache[question] = words(question, language)
        counts.update(found)
        covered.update(set(found))
    return counts, covered


def label(terms: Sequence[str], fallback: str) -> str:
    """``order / delivery / shipped``: the first terms, or ``fallback`` when there are none."""
    return " / ".join(terms[:LABEL_TERMS]) if terms else fallback
