"""The 7-day trend of topics from ``topic_daily`` rows (cheap to import: no model, no scikit-learn)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

WEEK_DAYS = 7


def as_date(value: Any) -> date:
    """A ``topic_daily.day`` as a date, whatever the destination's driver returned."""
    if isinstance(value, datetime):
        return value.date()
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def weekly(rows: Iterable[tuple[Any, Any, Any]]) -> dict[str, tuple[int, int]]:
    """Per topic, its conversations in the 7 days up to the newest day and in the 7 before.

    Args:
        rows: ``(topic_id, day, conversations)`` of ``topic_daily``.

    Returns:
        ``{topic_id: (last 7 days, previous 7 days)}``; the days are the data's, not the wall clock's.
    """
    found = [(topic, as_date(day), int(count)) for topic, day, count in rows]
    if not found:
        return {}
    end = max(day for _, day, _ in found)
    counts: dict[str, tuple[int, int]] = {}
    for topic, day, count in found:
        last, previous = counts.get(topic, (0, 0))
        age = (end - day).days
        counts[topic] = (last + count * (age < WEEK_DAYS), previous + count * (WEEK_DAYS <= age < 2 * WEEK_DAYS))
    return counts
