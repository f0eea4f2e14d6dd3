"""One topic space for every language: fitted from the data, then kept: new conversations join topics.

Fit (``fit``): questions are multilingual sentence vectors (``representations``), each language's
mean subtracted (what is left says what is asked, not in which language). Distinct questions are
grouped by average-linkage clustering under a cosine distance (``MERGE_DISTANCE``), so the data
decides how many topics there are; topics holding less than ``min_share`` of the conversations
fold into their nearest topic, or into ``other`` when none is near; a few rounds of nearest-centroid
reassignment settle the borders. Languages the model does not cover are fitted the same way per
language, on TF-IDF vectors. A pasted page is no question: it goes to ``other``.

Kept (``assign``): the model stores each topic's centroid and each language's mean; a new
conversation joins the nearest centroid.

Refit (``match_ids``): a new fit's topics take the ids of the old topics whose conversations they
hold (one to one, most shared conversations first), so ids survive wherever the topic survives.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import linear_sum_assignment
from sklearn.cluster import AgglomerativeClustering

from .representations import Vectors, lexical, unit_rows

OTHER: Final = "other"  # pastes and questions too rare to be a topic of their own
MERGE_DISTANCE: Final[Mapping[str, float]] = {"multilingual": 0.8, "lexical": 0.85}
FIT_SAMPLE: Final = 3_000  # distinct questions clustered by linkage; the others join the nearest topic
FOLD_SIMILARITY: Final = 0.2  # a tiny topic joins its nearest topic at least this similar, else other
REFINE_ROUNDS: Final = 5
PASTE_CHARS: Final = 400  # a longer opening is a paste, not a question
SAME_TOPIC: Final = 0.5  # a refit topic keeps an old id when at least this share of it was that topic
ALL_LANGUAGES: Final = "*"  # the mean of every language (for one the model has not seen)


def is_paste(text: str) -> bool:
    """Whether an opening is a pasted page rather than a question."""
    return len(text) > PASTE_CHARS


@dataclass
class Fit:
    """A fit: each text's topic number (-1: other) and each topic's unit centroid."""

    labels: NDArray[np.int64]
    centroids: dict[int, NDArray[np.float32]] = field(default_factory=dict)


def language_means(unit: Vectors, languages: Sequence[str | None]) -> dict[str, NDArray[np.float32]]:
    """Each language's mean vector, and every language's (``ALL_LANGUAGES``)."""
    means = {ALL_LANGUAGES: unit.mean(axis=0)}
    keys = np.array([language or "und" for language in languages])
    for language in sorted(set(keys)):
        means[str(language)] = unit[keys == language].mean(axis=0)
    return {key: np.asarray(value, dtype=np.float32) for key, value in means.items()}


def centred(unit: Vectors, languages: Sequence[str | None], means: Mapping[str, NDArray[np.float32]]) -> Vectors:
    """Vectors less their language's mean, at unit length: what is asked, not in which language."""
    if not len(unit):
        return unit
    shift = np.stack([means.get(language or "und", means.get(ALL_LANGUAGES, 0 * unit[0])) for language in languages])
    moved = unit - shift
    alone = np.linalg.norm(moved, axis=1) < 1e-3  # the only question of its language: its mean is itself
    moved[alone] = unit[alone]
    return unit_rows(moved)


def fit(unit: Vectors, kind: str, min_share: float, max_topics: int) -> Fit:
    """Clusters unit vectors (one per conversation) into topics.

    Args:
        unit: One unit row per conversation (centred, for multilingual vectors).
        kind: ``multilingual`` or ``lexical``: which distance makes one topic.
        min_share: Topics smaller than this share of the conversations fold away.
        max_topics: The most topics to keep.

    Returns:
        The topic number of each row (-1 for ``other``) and the topics' centroids.
    """
    if len(unit) == 0:
        return Fit(np.zeros(0, dtype=np.int64))
    distinct, inverse, counts = np.unique(unit, axis=0, return_inverse=True, return_counts=True)
    inverse = inverse.reshape(-1)
    weights = counts.astype(np.float64)
    if len(distinct) < 3:
        return Fit(np.zeros(len(unit), dtype=np.int64), {0: _centroid(unit)})
    groups = _linkage(distinct, weights, MERGE_DISTANCE[kind])
    groups = _fold(distinct, weights, groups, min_share * weights.sum(), max_topics)
    groups = _refine(distinct, weights, groups)
    numbers = {old: new for new, old in enumerate(sorted(set(groups.tolist()) - {-1}))}
    numbers[-1] = -1
    labels = np.array([numbers[int(g)] for g in groups], dtype=np.int64)
    centroids = {n: _centroid(distinct[labels == n], weights[labels == n]) for n in sorted(set(labels.tolist()) - {-1})}
    return Fit(labels[inverse], centroids)


def _linkage(distinct: Vectors, weights: NDArray[np.float64], distance: float) -> NDArray[np.int64]:
    """Average-linkage groups of (a sample of) the distinct texts; the rest join the nearest group."""
    if len(distinct) <= FIT_SAMPLE:
        sample = np.arange(len(distinct))
    else:  # the most asked questions shape the topics; the sample is the same on every run
        sample = np.sort(np.argsort(-weights, kind="stable")[:FIT_SAMPLE])
    groups = AgglomerativeClustering(
        n_clusters=None, distance_threshold=distance, metric="cosine", linkage="average"
    ).fit_predict(distinct[sample])
    centroids = _centroids(distinct[sample], np.asarray(groups), weights[sample])
    return np.asarray((distinct @ centroids.T).argmax(axis=1), dtype=np.int64)


def _fold(
    distinct: Vectors, weights: NDArray[np.float64], groups: NDArray[np.int64], floor: float, max_topics: int
) -> NDArray[np.int64]:
    """Folds the smallest group into its nearest until every group holds ``floor`` conversations."""
    groups = groups.copy()
    while True:
        ids = sorted(set(groups.tolist()) - {-1})
        if len(ids) <= 1:
            return groups
        sizes = {g: float(weights[groups == g].sum()) for g in ids}
        smallest = min(ids, key=lambda g: (sizes[g], g))
        if sizes[smallest] >= floor and len(ids) <= max_topics:
            return groups
        centroids = {g: _centroid(distinct[groups == g], weights[groups == g]) for g in ids}
        others = [g for g in ids if g != smallest]
        similarity = {g: float(centroids[smallest] @ centroids[g]) for g in others}
        nearest = max(others, key=lambda g: (similarity[g], -g))
        near_enough = similarity[nearest] >= FOLD_SIMILARITY or len(ids) > max_topics
        groups[groups == smallest] = nearest if near_enough else -1


def _refine(distinct: Vectors, weights: NDArray[np.float64], groups: NDArray[np.int64]) -> NDArray[np.int64]:
    """Nearest-centroid rounds (k-means steps from the linkage's topics); ``other`` stays other."""
    ids = sorted(set(groups.tolist()) - {-1})
    if len(ids) < 2:
        return groups
    kept = groups >= 0
    for _ in range(REFINE_ROUNDS):
        centroids = np.stack([_centroid(distinct[groups == g], weights[groups == g]) for g in ids])
        nearest = np.array(ids)[(distinct @ centroids.T).argmax(axis=1)]
        moved = np.where(kept, nearest, -1)
        if (moved == groups).all() or any(not (moved == g).any() for g in ids):
            return groups
        groups = moved
    return groups


def _centroid(unit: Vectors, weights: NDArray[np.float64] | None = None) -> NDArray[np.float32]:
    total = unit.sum(axis=0) if weights is None else (unit * weights[:, None]).sum(axis=0)
    norm = float(np.linalg.norm(total))
    return np.asarray(total / norm if norm else total, dtype=np.float32)


def _centroids(unit: Vectors, labels: NDArray[np.int64], weights: NDArray[np.float64]) -> Vectors:
    count = int(labels.max()) + 1
    return np.stack([_centroid(unit[labels == n], weights[labels == n]) for n in range(count)])


def assign(unit: Vectors, centroids: Mapping[str, NDArray[np.float32]]) -> list[str]:
    """The nearest topic of each (centred) vector.

    Args:
        unit: Unit rows.
        centroids: ``{topic_id: unit centroid}`` of the model.

    Returns:
        A topic id per row (``other`` when the model has no topic).
    """
    if not len(unit):
        return []
    ids = sorted(centroids)
    if not ids:
        return [OTHER] * len(unit)
    matrix = np.stack([centroids[topic] for topic in ids])
    return [ids[int(n)] for n in (unit @ matrix.T).argmax(axis=1)]


def assign_lexical(texts: Sequence[str], exemplars: Mapping[str, Sequence[str]]) -> list[str]:
    """The nearest topic of each text of a language the multilingual model does not cover.

    Args:
        texts: Cleaned question texts.
        exemplars: ``{topic_id: exemplar texts}`` of the language's topics.

    Returns:
        A topic id per text.
    """
    if not texts:
        return []
    ids = sorted(exemplars)
    if len(ids) <= 1:
        return [ids[0] if ids else OTHER] * len(texts)
    pooled = [t for topic in ids for t in exemplars[topic]]
    unit = lexical([*pooled, *texts])
    owner = np.array([n for n, topic in enumerate(ids) for _ in exemplars[topic]])
    centroids = _centroids(unit[: len(pooled)], owner, np.ones(len(pooled)))
    return [ids[int(n)] for n in (unit[len(pooled) :] @ centroids.T).argmax(axis=1)]


def match_ids(before: Sequence[str | None], labels: Sequence[int], next_number: int) -> dict[int, str]:
    """Ids for a refit's topics: the old id most of a topic's conversations had, one to one; else a new one.

    Args:
        before: Each conversation's topic before the refit (None: it had none).
        labels: Each conversation's topic number in the refit (-1: other).
        next_number: The first number no id has used.

    Returns:
        ``{topic number: topic id}`` (``-1`` is ``other``).
    """
    numbers = sorted(set(labels) - {-1})
    old_ids = sorted({b for b in before if b is not None and b != OTHER})
    ids: dict[int, str] = {-1: OTHER}
    if numbers and old_ids:
        shared = np.zeros((len(numbers), len(old_ids)))
        row_of = {n: r for r, n in enumerate(numbers)}
        column_of = {o: c for c, o in enumerate(old_ids)}
        for old, new in zip(before, labels, strict=True):
            if new != -1 and old in column_of:
                shared[row_of[new], column_of[old]] += 1
        sizes = Counter(labels)
        rows, columns = linear_sum_assignment(-shared)
        for row, column in zip(rows, columns, strict=True):
            if shared[row, column] >= SAME_TOPIC * sizes[numbers[row]]:
                ids[numbers[row]] = old_ids[column]
    for number in numbers:
        if number not in ids:
            ids[number] = f"t{next_number}"
            next_number += 1
    return ids


def id_number(topic_id: str) -> int:
    """The number of a ``t17`` id (0 for any other id)."""
    return int(topic_id[1:]) if topic_id.startswith("t") and topic_id[1:].isdigit() else 0
