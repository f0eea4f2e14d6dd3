"""Texts as vectors, per language: static word embeddings where measured best, TF-IDF elsewhere.

- ``embedding``: WordLlama's ``l2_supercat`` (256 dimensions), whose weights ship in its wheel. It
  groups paraphrases that share no keyword ("where is my order" / "track my delivery"). Its loader
  looks for the tokenizer file where the wheel does not put it and would download it, so it is
  loaded from a cache folder made of the wheel's own file, with downloads disabled.
- ``lexical``: TF-IDF of word 1-2-grams and character 2-4-grams (so CJK and Arabic work), reduced
  by SVD. It is fitted on the texts at hand, so a model made of stored exemplar texts refits it.

Which one each language gets was measured on the simulator's planted intents (docs/insights.md).
"""

from __future__ import annotations

import functools
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final

import numpy as np
from numpy.typing import NDArray
from scipy.sparse import hstack
from sklearn.decomposition import TruncatedSVD
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.preprocessing import normalize

EMBEDDED_LANGUAGES: Final = frozenset({"en", "zh"})
SVD_DIMENSIONS: Final = 100
WORDLLAMA_CONFIG: Final = "l2_supercat"

Vectors = NDArray[np.float32]


def representation_of(language: str | None) -> str:
    """``embedding`` or ``lexical``: what represents a language's texts."""
    return "embedding" if language in EMBEDDED_LANGUAGES else "lexical"


@functools.cache
def _wordllama() -> Any:
    import wordllama
    from wordllama import WordLlama

    package = Path(wordllama.__file__).parent
    tokenizer = WordLlama._wordllama.l2_supercat.tokenizer_config
    cache = Path(tempfile.mkdtemp(prefix="chatsync-wordllama-"))
    (cache / "tokenizers").mkdir()
    shutil.copy(package / "tokenizers" / tokenizer, cache / "tokenizers" / tokenizer)
    try:
        return WordLlama.load(WORDLLAMA_CONFIG, cache_dir=cache, disable_download=True)
    finally:
        shutil.rmtree(cache, ignore_errors=True)


def vectors(kind: str, texts: Sequence[str]) -> Vectors:
    """Unit vectors of ``texts`` (one row each), fitted on ``texts`` themselves where lexical.

    Args:
        kind: ``embedding`` or ``lexical``.
        texts: Cleaned, non-empty texts.

    Returns:
        An ``len(texts) x d`` array of unit rows.
    """
    if not texts:
        return np.zeros((0, 1), dtype=np.float32)
    distinct = sorted(set(texts))  # each text once: repeats change neither TF-IDF's vocabulary nor a vector
    if kind == "embedding":
        embedded = np.asarray(_wordllama().embed(distinct), dtype=np.float32)
        unique = np.asarray(normalize(embedded), dtype=np.float32)
    else:
        unique = _lexical(distinct)
    position = {text: n for n, text in enumerate(distinct)}
    return without_zero_rows(unique)[[position[text] for text in texts]]


def without_zero_rows(unit: Vectors) -> Vectors:
    """``unit`` with each all-zero row (a text none of whose terms survived) made the first axis: such
    texts group together, and cosine distances stay defined."""
    empty = ~unit.any(axis=1)
    if empty.any():
        unit = unit.copy()
        unit[empty, 0] = 1.0
    return unit


def _lexical(texts: Sequence[str]) -> Vectors:
    words = TfidfVectorizer(analyzer="word", ngram_range=(1, 2), sublinear_tf=True, min_df=1, max_df=0.5)
    chars = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 4), sublinear_tf=True, min_df=1, max_df=0.5)
    parts = []
    for vectorizer in (words, chars):
        try:
            parts.append(vectorizer.fit_transform(texts))
        except ValueError:  # no term left (every text identical, or one text)
            continue
    if not parts:
        return np.ones((len(texts), 1), dtype=np.float32)
    matrix = hstack(parts).tocsr()
    dimensions = min(SVD_DIMENSIONS, matrix.shape[1] - 1, len(texts) - 1)
    dense = matrix.toarray() if dimensions < 2 else TruncatedSVD(dimensions, random_state=0).fit_transform(matrix)
    return np.asarray(normalize(dense), dtype=np.float32)
