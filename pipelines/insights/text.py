"""What of a message is featurised: markup stripped, whitespace folded, length capped."""

from __future__ import annotations

import hashlib
import html
import re
import unicodedata
from typing import Final

_TAG: Final = re.compile(r"<[^>]{0,500}>")
_SPACE: Final = re.compile(r"\s+")
_WORDISH: Final = re.compile(r"\w", re.UNICODE)


def clean(text: str | None, limit: int) -> str:
    """The text to featurise: tags dropped, entities decoded, whitespace folded, cut at ``limit``.

    Args:
        text: A message's content; None when redacted or not text.
        limit: Characters kept (cut before the work, so a 100 KB paste costs what 2 KB costs).

    Returns:
        The cleaned text; empty when nothing is left.
    """
    if not text:
        return ""
    cut = text[: limit * 2]
    if "<" not in cut and "&" not in cut:  # no markup, no entity: most texts, at a fraction of the cost
        return " ".join(cut.split())[:limit]
    cut = html.unescape(_TAG.sub(" ", cut))
    return _SPACE.sub(" ", cut).strip()[:limit]


def has_words(text: str) -> bool:
    """Whether a cleaned text has a letter or digit (an emoji-only message has none)."""
    return bool(_WORDISH.search(text))


def normalised(text: str) -> str:
    """Case- and accent-folded, punctuation-free: what two replies must share to be "the same"."""
    if text.isascii():  # nothing to decompose: most replies, at a fraction of the cost
        kept = text.casefold()
    else:
        decomposed = unicodedata.normalize("NFKD", text.casefold())
        kept = "".join(c for c in decomposed if not unicodedata.combining(c))
    return _SPACE.sub(" ", re.sub(r"[^\w\s]", " ", kept)).strip()


def fingerprint(text: str) -> str | None:
    """A short stable hash of a reply's normalised text; None for an empty reply."""
    folded = normalised(text)
    if not folded:
        return None
    return hashlib.sha1(folded.encode("utf-8")).hexdigest()[:16]
