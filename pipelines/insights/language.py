"""The language of a conversation's user messages: py3langid, whose model ships in its wheel."""

from __future__ import annotations

import functools
from typing import Any, Final

MIN_CONFIDENCE: Final = 0.3  # below this the language is undecidable: NULL, never a guess


@functools.cache
def _identifier() -> Any:
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


def detect(text: str) -> str | None:
    """The ISO 639-1 code of ``text``, or None when it is too short, wordless or ambiguous.

    Args:
        text: Cleaned user text (see ``text.clean``).

    Returns:
        A two-letter code, or None.
    """
    if len(text) < 3:
        return None
    code, confidence = _identifier().classify(text)
    if confidence < MIN_CONFIDENCE or len(code) != 2:
        return None
    return str(code)
