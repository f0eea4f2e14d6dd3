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
from collections import defaultdict
from collections.abc import Iterable
from typing import Any, Final

import numpy as np

from .text import normalised

CANNED_MIN_CONVERSATIONS: Final = 5
CANNED_AGREEMENT: Final = 0.7  # how far a reply's questions agree (see canned_replies)
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

    A reply is canned when it answers at least ``CANNED_MIN_CONVERSATIONS`` conversations of at
    least ``min_topics`` topics, and the questions it answered do not point one way: the length of
    the mean of their (language-centred, unit) vectors is under ``CANNED_AGREEMENT``. The questions
    one fixed answer serves agree (near 1); a fallback's are scattered over what the bot cannot
    answer (near 0). The topic bar keeps out answers to one question only.

    Args:
        first_replies: ``(reply fingerprint, topic id, the question's centred unit vector or None)``
            of every conversation.
        min_topics: The fewest topics a canned reply spans.

    Returns:
        The canned fingerprints.
    """
    topics: defaultdict[str, set[str]] = defaultdict(set)
    sums: dict[str, Any] = {}
    counts: defaultdict[str, int] = defaultdict(int)
    for reply, topic, vector in first_replies:
        if reply is None or topic is None:
            continue
        topics[reply].add(topic)
        if vector is not None:
            sums[reply] = vector if reply not in sums else sums[reply] + vector
            counts[reply] += 1
    canned = set()
    for reply, found in topics.items():
        if len(found) < min_topics or counts[reply] < CANNED_MIN_CONVERSATIONS:
            continue
        if float(np.linalg.norm(sums[reply])) / counts[reply] < CANNED_AGREEMENT:
            canned.add(reply)
    return frozenset(canned)
