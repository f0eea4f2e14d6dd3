"""What a search means, on every warehouse: each word of the query occurs somewhere in the conversation.

A word matches as a substring of a message, ignoring case and accents ("contrasena" finds
"Contraseña", 退款 is found inside a Chinese sentence); the words are ANDed over the conversation's
messages. The match is one regular expression per word, the same on DuckDB (RE2) and Postgres
(its ARE engine): every letter is a class holding its upper and lower case and, for the letters
that carry accents in the languages most often seen, their accented forms. Neither engine is
asked to fold case itself, since Postgres folds only ASCII under the C locale.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Final

MAX_QUERY: Final = 200  # characters of a search; a longer one is refused
MAX_TERMS: Final = 8
SNIPPET_CONTEXT: Final = 70  # characters shown either side of the match

# The accented Latin letters (U+00C0 to U+024F) and the plain letter each folds to.
_ACCENTED: Final = "".join(
    c for c in map(chr, range(0xC0, 0x250)) if c.islower() and unicodedata.normalize("NFKD", c)[0] != c
)
_PLAIN: Final = "".join(unicodedata.normalize("NFKD", c)[0] for c in _ACCENTED)
_FOLDED_LETTERS: Final = "aeiouncyszg"
_VARIANTS: Final = {
    plain: sorted({plain, *(a for a, p in zip(_ACCENTED, _PLAIN, strict=True) if p == plain)})
    for plain in _FOLDED_LETTERS
}


def fold(text: str) -> str:
    """Lower case without accents: how a query's words are compared."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _letter(c: str) -> str:
    forms = set(_VARIANTS.get(c, [c]))
    forms |= {f.upper() for f in forms if len(f.upper()) == 1}
    if len(forms) == 1:
        return re.escape(c)
    return "[" + "".join(sorted(re.escape(f) if f in "\\]^-[" else f for f in forms)) + "]"


def word_pattern(word: str) -> str:
    """The regular expression of one folded word: its spellings in any case, with or without accents."""
    return "".join(_letter(c) for c in word)


@dataclass(frozen=True)
class Search:
    """A parsed query: its folded words and their patterns."""

    words: tuple[str, ...]

    @classmethod
    def parse(cls, query: str) -> Search:
        """The folded words of ``query`` (empty words dropped).

        Raises:
            ValueError: More than ``MAX_QUERY`` characters or ``MAX_TERMS`` words.
        """
        if len(query) > MAX_QUERY or len(query.split()) > MAX_TERMS:
            raise ValueError(f"at most {MAX_QUERY} characters and {MAX_TERMS} words")
        return cls(tuple(dict.fromkeys(w for w in (fold(part) for part in query.split()) if w)))

    @property
    def patterns(self) -> list[str]:
        """One pattern per word, ANDed over a conversation."""
        return [word_pattern(word) for word in self.words]

    @property
    def any_word(self) -> str:
        """One pattern matching a message holding any of the words."""
        return "|".join(f"(?:{p})" for p in self.patterns)

    def snippet(self, text: str) -> tuple[str, str, str] | None:
        """``(before, match, after)`` around the first word found in ``text``, cut to a line; None if none is."""
        if not self.words:
            return None
        found = re.search(self.any_word, text)
        if found is None:  # the match lies beyond the part of a long message that was read
            return _flat(text[: 2 * SNIPPET_CONTEXT], left=False) + "…", "", ""
        start, end = found.span()
        before = text[max(0, start - SNIPPET_CONTEXT) : start]
        after = text[end : end + SNIPPET_CONTEXT]
        lead = "…" if start > SNIPPET_CONTEXT else ""
        tail = "…" if end + SNIPPET_CONTEXT < len(text) else ""
        return lead + _flat(before, left=True), found.group(0), _flat(after, left=False) + tail


def _flat(text: str, left: bool) -> str:
    flat = " ".join(text.split())
    if left and text[-1:].isspace():
        flat += " "
    if not left and text[:1].isspace():
        flat = " " + flat
    return flat
