"""Counts as a sentence says them: ``1 conversation``, ``2 conversations``."""

from __future__ import annotations


def counted(count: int, noun: str, plural: str | None = None) -> str:
    """A count and its noun, singular for one.

    Args:
        count: How many.
        noun: The singular noun (may be several words: ``duplicate id``).
        plural: The plural when adding ``s`` is wrong.

    Returns:
        ``1 conversation``, ``2,048 conversations``.
    """
    return f"{count:,} {noun if count == 1 else plural or noun + 's'}"
