"""Fallbacks and deflections: a bot reply that does not answer.

Three sources, each documented (docs/insights.md):

- built-in phrases in English, Spanish, German, French, Portuguese and Indonesian;
- the user's ``[insights] fallback_phrases``;
- unsupervised: a first reply repeated verbatim to questions that are far apart in meaning is
  canned (one fixed answer to one question, however often given and however the question is
  phrased or in whichever language, is a good answer): see ``canned_replies``.

A reply matches a phrase when its normalised text (case, accents and punctuation folded) contains
the phrase's normalised text.
"""

from __future__ import annotations

import functools
from collections import Counter, defaultdict
from collections.abc import Iterable
from typing import Any, Final

import numpy as np

from .text import normalised

CANNED_MIN_CONVERSATIONS: Final = 5
CANNED_AGREEMENT: Final = 0.12  # how alike the questions of a reply's topics are (see canned_replies)
TOPIC_SHARE: Final = 0.1  # a topic holding less of a reply's conversations is a stray, not one of its topics
SCANNED: Final = 500  # a fallback says so early; a long answer is not read to its end

BUILT_IN: Final[dict[str, tuple[str, ...]]] = {
    "en": (
        "i don't know",
        "i do not know",
        "i'm not sure",
        "i am not sure",
        "i don't understand",
        "i do not understand",
        "could you rephrase",
        "can you rephrase",
        "please rephrase",
        "i can't help with that",
        "i cannot help with that",
        "i'm unable to help",
        "i am unable to help",
        "i don't have information",
        "i do not have information",
        "i couldn't find",
        "i could not find",
        "i'm sorry, i didn't get that",
        "sorry, i didn't understand",
        "i don't have an answer",
        "i have no answer",
    ),
    "es": (
        "no sé",
        "no lo sé",
        "no estoy seguro",
        "no entiendo",
        "no te entiendo",
        "puedes reformular",
        "podrías reformular",
        "no puedo ayudarte con eso",
        "no tengo información",
        "no encontré",
        "no tengo una respuesta",
    ),
    "de": (
        "ich weiß nicht",
        "ich bin mir nicht sicher",
        "ich verstehe nicht",
        "ich habe das nicht verstanden",
        "können sie das umformulieren",
        "kannst du das umformulieren",
        "dabei kann ich nicht helfen",
        "dazu habe ich keine informationen",
        "ich konnte nichts finden",
    ),
    "fr": (
        "je ne sais pas",
        "je ne suis pas sûr",
        "je ne comprends pas",
        "je n'ai pas compris",
        "pouvez-vous reformuler",
        "peux-tu reformuler",
        "je ne peux pas vous aider",
        "je n'ai pas d'information",
        "je n'ai pas trouvé",
    ),
    "pt": (
        "não sei",
        "não tenho certeza",
        "não entendi",
        "não compreendo",
        "pode reformular",
        "não posso ajudar com isso",
        "não tenho informações",
        "não encontrei",
    ),
    "id": (
        "saya tidak tahu",
        "saya tidak yakin",
        "saya tidak mengerti",
        "bisa diulangi",
        "mohon ulangi",
        "saya tidak dapat membantu",
        "saya tidak punya informasi",
        "saya tidak menemukan",
    ),
    "zh": ("我不知道", "我不太明白", "换个说法", "没有找到相关"),
}


class FallbackPhrases:
    """Every built-in phrase and the user's, normalised once."""

    def __init__(self, extra: Iterable[str] = ()) -> None:
        phrases = [p for group in BUILT_IN.values() for p in group] + list(extra)
        self._phrases = tuple(sorted({normalised(p) for p in phrases if normalised(p)}))

    def matches(self, reply: str) -> bool:
        """Whether a cleaned reply contains a fallback phrase (in its first ``SCANNED`` characters)."""
        return self._matches(reply[:SCANNED])

    @functools.lru_cache(maxsize=65_536)  # noqa: B019  (one instance a refresh; canned replies recur)
    def _matches(self, reply: str) -> bool:
        folded = f" {normalised(reply)} "
        return any(f" {phrase} " in folded for phrase in self._phrases)


def canned_replies(first_replies: Iterable[tuple[str | None, str | None, Any]], min_topics: int) -> frozenset[str]:
    """Fingerprints of first replies given to questions far apart in meaning: canned fallbacks.

    A reply's conversations are grouped by topic; the topics holding at least a tenth of them (and
    two) are its topics. It is canned when it has at least ``min_topics`` of them and their
    questions do not mean the same thing: the mean pairwise similarity of the topics' centroids
    (of language-centred unit vectors) is under ``CANNED_AGREEMENT``. One fixed answer to one
    question serves the same question even where a fit split it over two topics (their centroids
    agree); a fallback serves unrelated questions (their centroids are near orthogonal).

    Args:
        first_replies: ``(reply fingerprint, topic id, the question's centred unit vector or None)``
            of every conversation.
        min_topics: The fewest topics a canned reply spans.

    Returns:
        The canned fingerprints.
    """
    sums: defaultdict[str, dict[str, Any]] = defaultdict(dict)
    counts: defaultdict[str, Counter[str]] = defaultdict(Counter)
    for reply, topic, vector in first_replies:
        if reply is None or topic is None or vector is None:
            continue
        found = sums[reply]
        found[topic] = vector if topic not in found else found[topic] + vector
        counts[reply][topic] += 1
    canned = set()
    for reply, topics in counts.items():
        total = sum(topics.values())
        if total < CANNED_MIN_CONVERSATIONS:
            continue
        held = [t for t, n in topics.items() if n >= max(2, TOPIC_SHARE * total)]
        if len(held) < min_topics:
            continue
        centroids = np.stack([sums[reply][t] / max(float(np.linalg.norm(sums[reply][t])), 1e-9) for t in held])
        similarity = centroids @ centroids.T
        pairs = len(held) * (len(held) - 1)
        if (float(similarity.sum()) - float(np.trace(similarity))) / pairs < CANNED_AGREEMENT:
            canned.add(reply)
    return frozenset(canned)
