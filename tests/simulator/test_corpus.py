"""The corpus is deterministic, realistic and grows with the virtual clock."""

from __future__ import annotations

import itertools
from collections import Counter
from datetime import timedelta

from simulator import Corpus


def _snapshot(corpus: Corpus) -> list[tuple[str, int, str, int]]:
    return [
        (c.external_id, m.seq, m.content, m.ts_us) for c in corpus.conversations() for m in corpus.visible_messages(c)
    ]


def test_same_seed_same_corpus_and_other_seed_differs() -> None:
    assert _snapshot(Corpus(seed=3, size=500)) == _snapshot(Corpus(seed=3, size=500))
    assert _snapshot(Corpus(seed=3, size=500)) != _snapshot(Corpus(seed=4, size=500))


def test_size_is_roughly_the_number_of_messages() -> None:
    corpus = Corpus(seed=1, size=5_000)
    total = len(_snapshot(corpus))
    assert 3_500 <= total <= 6_500


def test_growth_is_independent_of_the_steps_taken() -> None:
    one_step, two_steps = Corpus(seed=5, size=800), Corpus(seed=5, size=800)
    one_step.advance(timedelta(days=2))
    two_steps.advance(timedelta(days=1))
    two_steps.advance(timedelta(days=1))
    assert _snapshot(one_step) == _snapshot(two_steps)


def test_advancing_adds_to_old_conversations_and_creates_new_ones() -> None:
    corpus = Corpus(seed=2, size=3_000)
    start = corpus.now
    before = {c.external_id: len(corpus.visible_messages(c)) for c in corpus.conversations()}
    corpus.advance(timedelta(days=3))
    after = {c.external_id: (c, len(corpus.visible_messages(c))) for c in corpus.conversations()}
    grown_old = [
        c
        for cid, (c, n) in after.items()
        if cid in before and n > before[cid] and c.started_at < start - timedelta(days=1)
    ]
    assert grown_old, "some conversations started over a day ago gain messages"
    assert len(after) > len(before)


def test_realistic_shapes() -> None:
    corpus = Corpus(seed=9, size=20_000)
    roles: Counter[str] = Counter()
    shared_second = spans_days = no_reply = empty = long_texts = unicode = 0
    for conversation in corpus.conversations():
        messages = corpus.visible_messages(conversation)
        roles.update(m.role for m in messages)
        seconds = Counter(m.ts_us // 1_000_000 for m in messages)
        shared_second += sum(1 for n in seconds.values() if n > 1)
        if messages and messages[-1].ts_us - messages[0].ts_us > 86_400 * 1_000_000:
            spans_days += 1
        if messages and all(m.role == "user" for m in messages):
            no_reply += 1
        empty += sum(1 for m in messages if m.content == "")
        long_texts += sum(1 for m in messages if len(m.content) > 2_000)
        unicode += sum(1 for m in messages if not m.content.isascii())
        for question, answer in itertools.pairwise(messages):
            if question.role == "user" and answer.role == "assistant":
                assert 0 <= answer.ts_us - question.ts_us <= 30 * 1_000_000
    assert {"user", "assistant", "system", "agent"} <= set(roles)
    assert shared_second > 100 and spans_days > 10 and no_reply > 10
    assert empty > 0 and long_texts > 0 and unicode > 1_000


def test_a_million_messages_stay_compact() -> None:
    corpus = Corpus(seed=1, size=1_000_000)
    conversations = list(corpus.conversations())
    assert len(conversations) > 100_000
    # messages are generated on demand, not held: only the LRU keeps a few thousand
    assert corpus._messages.cache_info().currsize == 0  # type: ignore[attr-defined]
    sample = conversations[::5_000]
    assert sum(len(corpus.visible_messages(c)) for c in sample) > 0
