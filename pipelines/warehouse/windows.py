"""The one meaning of "last 7 days": whole UTC days up to the newest day with a conversation (the data's clock)."""

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


def week_back(day: date, end: date) -> int | None:
    """0 for the 7 UTC days up to ``end`` (its day included), 1 for the 7 before, None for older or later days.

    The one definition of "last 7 days" (the topics' trend, the knowledge gaps' counts, the report and
    the explorer): whole UTC days, ending at the newest day with a conversation, the data's clock.
    """
    age = (end - day).days
    return None if age < 0 or age >= 2 * WEEK_DAYS else age // WEEK_DAYS


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
        back = week_back(day, end)
        counts[topic] = (last + count * (back == 0), previous + count * (back == 1))
    return counts
