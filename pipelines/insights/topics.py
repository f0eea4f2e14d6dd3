"""Topics per language: fitted from the data, then kept: new conversations join existing topics.

Fit (``fit_language``): the language's questions are over-clustered with k-means (at most
``OVERCLUSTER`` groups), then groups whose centroids are close (average-linkage cosine distance
below the language's threshold) are merged, and at most ``max_topics`` remain. The threshold
decides how many topics there are, not a fixed k.

Kept (``assign``): the model is the topics' exemplar questions, stored in the warehouse
(``topic_model``); a new conversation joins the topic whose exemplars' centroid is nearest.

Refit (``match_ids``): a new fit's topics take the ids of the old topics they match (Hungarian
matching on centroid similarity), so ids survive wherever the topic survives.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final

import numpy as np
from scipy.optimize import linear_sum_assignment
from sklearn.cluster import AgglomerativeClustering, KMeans, MiniBatchKMeans
from sklearn.preprocessing import normalize

from .representations import Vectors, representation_of, vectors, without_zero_rows

OVERCLUSTER: Final = 60
MINI_BATCH_ABOVE: Final = 20_000  # distinct texts; k-means beyond this uses mini-batches
MERGE_DISTANCE: Final[Mapping[str, float]] = {"en": 0.65, "zh": 0.35}
DEFAULT_MERGE_DISTANCE: Final[Mapping[str, float]] = {"embedding": 0.5, "lexical": 0.85}
EXEMPLARS: Final = 25
SAME_TOPIC: Final = 0.5  # a refit topic keeps an old id when their centroids are at least this similar
UNDECIDED: Final = "und"  # the language part of topic ids of conversations whose language is NULL


def merge_distance(language: str | None) -> float:
    """The centroid distance under which two groups are one topic, for a language."""
    return MERGE_DISTANCE.get(language or "", DEFAULT_MERGE_DISTANCE[representation_of(language)])


@dataclass
class Fit:
    """One language's topics: a label per text and each topic's exemplar texts."""

    labels: list[int]
    exemplars: dict[int, list[str]] = field(default_factory=dict)


def fit_language(texts: Sequence[str], language: str | None, max_topics: int) -> Fit:
    """Clusters one language's questions into topics (numbered from 0).

    Args:
        texts: Cleaned question texts, one per conversation (repeats welcome).
        language: Their language (None: undecidable).
        max_topics: The most topics to keep.

    Returns:
        The topic of each text and the exemplars of each topic.
    """
    distinct = sorted(set(texts))
    if len(distinct) < 3:
        labels = [0] * len(texts)
        return Fit(labels, {0: distinct[:EXEMPLARS]})
    weights = Counter(texts)
    unit = vectors(representation_of(language), distinct)
    counts = np.array([weights[t] for t in distinct], dtype=np.float64)
    groups = _overcluster(unit, counts)
    centroids = _centroids(unit, groups, counts)  # weighted: a thousand one-off pastes must not pull them
    merged = _merge(centroids, merge_distance(language), max_topics)
    topic_of_text = {text: int(merged[groups[n]]) for n, text in enumerate(distinct)}
    labels = [topic_of_text[text] for text in texts]
    return Fit(labels, _exemplars(distinct, unit, [topic_of_text[t] for t in distinct], weights))


def _overcluster(unit: Vectors, weights: np.ndarray) -> np.ndarray:
    k = min(OVERCLUSTER, len(unit))
    big = len(unit) > MINI_BATCH_ABOVE
    model = MiniBatchKMeans(k, random_state=0, n_init=3) if big else KMeans(k, random_state=0, n_init=3)
    return np.asarray(model.fit_predict(unit, sample_weight=weights))


def _centroids(unit: Vectors, labels: np.ndarray, weights: np.ndarray | None = None) -> Vectors:
    """Each group's unit centroid, its members weighted (by how often each text is asked) when given."""
    count = int(labels.max()) + 1
    sums = np.zeros((count, unit.shape[1]), dtype=np.float64)
    np.add.at(sums, labels, unit if weights is None else unit * weights[:, None])
    return without_zero_rows(np.asarray(normalize(sums), dtype=np.float32))


def _merge(centroids: Vectors, distance: float, max_topics: int) -> np.ndarray:
    if len(centroids) < 2:
        return np.zeros(len(centroids), dtype=int)
    merged = AgglomerativeClustering(
        n_clusters=None, distance_threshold=distance, metric="cosine", linkage="average"
    ).fit_predict(centroids)
    if int(merged.max()) + 1 > max_topics:
        merged = AgglomerativeClustering(n_clusters=max_topics, metric="cosine", linkage="average").fit_predict(
            centroids
        )
    return np.asarray(merged)


def _exemplars(distinct: list[str], unit: Vectors, topics: list[int], weights: Counter[str]) -> dict[int, list[str]]:
    """Per topic, its texts nearest its centroid (frequent ones first among equals)."""
    labels = np.array(topics)
    centroids = _centroids(unit, labels, np.array([weights[text] for text in distinct], dtype=np.float64))
    chosen: dict[int, list[str]] = {}
    for topic in sorted(set(topics)):
        members = np.flatnonzero(labels == topic)
        closeness = unit[members] @ centroids[topic]
        order = sorted(
            range(len(members)), key=lambda i: (-round(float(closeness[i]), 3), -weights[distinct[members[i]]])
        )
        chosen[topic] = [distinct[members[i]] for i in order[:EXEMPLARS]]
    return chosen


def assign(texts: Sequence[str], language: str | None, exemplars: Mapping[str, Sequence[str]]) -> list[str]:
    """The nearest existing topic of each text, by its exemplars' centroid.

    Args:
        texts: Cleaned question texts.
        language: Their language.
        exemplars: ``{topic_id: exemplar texts}`` of the language's model.

    Returns:
        A topic id per text.
    """
    if not texts:
        return []
    ids = sorted(exemplars)
    if len(ids) == 1:
        return [ids[0]] * len(texts)
    pooled = [t for topic in ids for t in exemplars[topic]]
    unit = vectors(representation_of(language), [*pooled, *texts])
    owner = np.array([n for n, topic in enumerate(ids) for _ in exemplars[topic]])
    centroids = _centroids(unit[: len(pooled)], owner)
    nearest = (unit[len(pooled) :] @ centroids.T).argmax(axis=1)
    return [ids[int(n)] for n in nearest]


def match_ids(
    language: str | None,
    old: Mapping[str, Sequence[str]],
    new: Mapping[int, Sequence[str]],
    prefix: str,
    next_number: int,
) -> dict[int, str]:
    """Ids for a refit's topics: an old topic's id where its centroid matches, else a fresh one.

    Args:
        language: The language refitted.
        old: ``{topic_id: exemplars}`` before the refit.
        new: ``{new topic number: exemplars}`` of the refit.
        prefix: The language part of ids (``en``, ``es``, ``und``).
        next_number: The first number never used by an id of this language.

    Returns:
        ``{new topic number: topic id}``.
    """
    old_ids, new_numbers = sorted(old), sorted(new)
    ids: dict[int, str] = {}
    if old_ids and new_numbers:
        pooled = [t for topic in old_ids for t in old[topic]] + [t for n in new_numbers for t in new[n]]
        unit = vectors(representation_of(language), pooled)
        owners = [n for n, topic in enumerate(old_ids) for _ in old[topic]]
        owners += [len(old_ids) + n for n, number in enumerate(new_numbers) for _ in new[number]]
        centroids = _centroids(unit, np.array(owners))
        similarity = centroids[len(old_ids) :] @ centroids[: len(old_ids)].T
        rows, columns = linear_sum_assignment(-similarity)
        for row, column in zip(rows, columns, strict=True):
            if similarity[row, column] >= SAME_TOPIC:
                ids[new_numbers[row]] = old_ids[column]
    for number in new_numbers:
        if number not in ids:
            ids[number] = f"{prefix}-{next_number}"
            next_number += 1
    return ids
