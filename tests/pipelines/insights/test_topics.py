"""Topics across languages, on the simulator's phrasebook embedded for real: a new question gets a topic of its own."""

from __future__ import annotations

import random
from collections import Counter

import numpy as np

from pipelines.insights.representations import embed
from pipelines.insights.topics import OTHER, assign, centred, fit, language_means, match_ids
from simulator.intents import INTENTS, LANGUAGES

NEW_INTENT = "gift_cards"


def _conversations(count: int, intents: list[str], rng: random.Random) -> list[tuple[str, str, str]]:
    """``(intent, language, question)`` drawn as the simulator draws them."""
    by_name = {intent.name: intent for intent in INTENTS}
    languages, shares = zip(*LANGUAGES, strict=True)
    drawn = []
    for _ in range(count):
        intent, language = rng.choice(intents), rng.choices(languages, shares)[0]
        drawn.append((intent, language, rng.choice(by_name[intent].questions[language])))
    return drawn


def test_a_new_question_after_a_refit_is_a_new_topic_holding_it() -> None:
    rng = random.Random(3)
    old_intents = [intent.name for intent in INTENTS if intent.name != NEW_INTENT]
    old = _conversations(900, old_intents, rng)
    new = _conversations(80, [NEW_INTENT], rng)
    unit = embed([q for _, _, q in old + new])
    languages = [language for _, language, _ in old + new]

    means = language_means(unit[: len(old)], languages[: len(old)])
    first = fit(centred(unit[: len(old)], languages[: len(old)], means), "multilingual", 0.02, 30)
    ids = match_ids([None] * len(old), [int(n) for n in first.labels], 1)
    centroids = {ids[n]: centroid for n, centroid in first.centroids.items()}
    before = [ids[int(n)] for n in first.labels]
    before += assign(centred(unit[len(old) :], languages[len(old) :], means), centroids)  # they join old topics
    assert not set(before[len(old) :]) - set(centroids), "before the refit, the new question hides in old topics"

    all_means = language_means(unit, languages)
    refit = fit(centred(unit, languages, all_means), "multilingual", 0.02, 30)
    refit_ids = match_ids(before, [int(n) for n in refit.labels], 1 + len(centroids))
    after = [refit_ids[int(n)] for n in refit.labels]
    topic, held = Counter(after[len(old) :]).most_common(1)[0]
    assert topic not in centroids and topic != OTHER, "its biggest topic is a new one"
    assert held / len(new) >= 0.8
    kept = sum(a == b for a, b in zip(after[: len(old)], before[: len(old)], strict=True)) / len(old)
    assert kept >= 0.95, "the old conversations keep their ids"
    assert np.isclose(sum(Counter(after).values()), len(old) + len(new))


def test_a_stored_language_mean_comes_back_at_its_length() -> None:
    """New conversations are centred with the stored means: a mean normalised on the way back would shift them all."""
    from pipelines.insights.representations import pack, unpack

    unit = embed(["Where is my order?", "Track my delivery", "Wann kommt meine Bestellung an?"])
    mean = unit.mean(axis=0)
    assert np.linalg.norm(unpack(pack(mean), unit=False) - mean) < 0.02
    assert abs(float(np.linalg.norm(unpack(pack(unit[0])))) - 1) < 1e-6


def test_the_summary_reads_as_a_sentence_for_any_count() -> None:
    from pipelines.insights.refresh import InsightsSummary

    one = InsightsSummary(recomputed=1, conversations=1, topics=1, gaps=1, seconds=0.1).describe()
    assert one == "1 of 1 conversation recomputed, 1 topic, 1 knowledge gap (0.1 s)"
    many = InsightsSummary(recomputed=0, conversations=2_000, topics=0, gaps=2, migrated=3, seconds=2).describe()
    assert many.startswith("0 of 2,000 conversations recomputed, 0 topics, 2 knowledge gaps; 3 per-language topics")
