"""How values read on a page: times as "2 h ago" (exact UTC on hover), sentiment as a word, shares, trend bars.

Registered as Jinja filters and globals by ``app.templates``; the ``.json`` twins carry the values themselves.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any, Final

from markupsafe import Markup, escape

from ..warehouse.read_model import OUTCOME_NAMES, sentiment_word

COLLAPSE_CHARS: Final = 1_200  # a message longer than this is collapsed, with "show all"
COLLAPSED_SHOWN: Final = 600
LINE_CHARS: Final = 110  # a question shown on one line


def utc(value: Any) -> str:
    """``2026-03-15 22:46 UTC``: the exact time, to the minute."""
    moment = _moment(value)
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC") if moment else "—"


def ago(value: Any, now: datetime | None = None) -> Markup:
    """``<time title="exact">2 h ago</time>``; ``—`` for no time."""
    moment = _moment(value)
    if moment is None:
        return Markup("—")
    seconds = ((now or datetime.now(UTC)) - moment).total_seconds()
    return Markup('<time datetime="{0}" title="{1}">{2}</time>').format(moment.isoformat(), utc(moment), _span(seconds))


def _span(seconds: float) -> str:
    future = seconds < 0
    seconds = abs(seconds)
    for size, unit in ((365 * 86400, "y"), (30 * 86400, "mo"), (86400, "d"), (3600, "h"), (60, "min")):
        if seconds >= size:
            text = f"{int(seconds // size)} {unit}"
            return f"in {text}" if future else f"{text} ago"
    return "just now"


def _moment(value: Any) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    parsed = datetime.fromisoformat(str(value))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def sentiment(value: Any) -> Markup:
    """The sentiment as a word, its number on hover; ``—`` where no model covers the language."""
    if value is None:
        return Markup('<span title="no sentiment model for this language">—</span>')
    return Markup('<span class="sentiment" title="{0:+.2f}">{1}</span>').format(float(value), sentiment_word(value))


def outcome(value: Any) -> str:
    """``handed off``, ``failed (unanswered or handed off)``: an outcome as words."""
    return OUTCOME_NAMES.get(str(value), str(value)) if value else "—"


def percent(value: Any) -> str:
    """``42%``; ``—`` for none."""
    return "—" if value is None else f"{100 * float(value):.0f}%"


def one_line(text: Any, limit: int = LINE_CHARS) -> str:
    """Text on one line, cut with ``…``."""
    flat = " ".join(str(text or "").split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def long_message(text: Any) -> bool:
    """Whether a message is collapsed on the transcript."""
    return len(str(text or "")) > COLLAPSE_CHARS


def head_of(text: Any) -> str:
    """The start of a collapsed message."""
    return str(text or "")[:COLLAPSED_SHOWN].rstrip() + "…"


def trend_svg(days: list[tuple[date, int, int]], width: int = 640, height: int = 120) -> Markup:
    """Conversations per UTC day as bars, the failed part darker: an inline SVG (no script, no download)."""
    if not days:
        return Markup("")
    top = max(n for _, n, _ in days) or 1
    step = width / len(days)
    bars = []
    for index, (day, conversations, failed) in enumerate(days):
        x = index * step
        full = height * conversations / top
        low = height * failed / top
        title = f"{day.isoformat()}: {conversations} conversations, {failed} failed"
        bars.append(
            Markup(
                '<g><title>{0}</title><rect class="all" x="{1:.1f}" y="{2:.1f}" width="{3:.1f}" height="{4:.1f}"/>'
                '<rect class="failed" x="{1:.1f}" y="{5:.1f}" width="{3:.1f}" height="{6:.1f}"/></g>'
            ).format(title, x, height - full, max(step - 1, 1), full, height - low, low)
        )
    label = f"conversations per day from {days[0][0]} to {days[-1][0]}, failed in dark"
    return Markup('<svg class="trend" viewBox="0 0 {0} {1}" role="img" aria-label="{2}">{3}</svg>').format(
        width, height, label, Markup("").join(bars)
    )


def highlight(snippet: tuple[str, str, str] | None) -> Markup:
    """A search snippet with its match in ``<mark>``."""
    if not snippet:
        return Markup("")
    before, match, after = snippet
    return Markup("{0}<mark>{1}</mark>{2}").format(before, match, after)


def to_json(data: Any) -> str:
    """A page's data as JSON: times as ISO 8601, dates as days."""
    return json.dumps(data, default=_plain, ensure_ascii=False, indent=1)


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, tuple | set | frozenset):
        return list(value)
    if hasattr(value, "__dataclass_fields__"):
        return {k: getattr(value, k) for k in value.__dataclass_fields__}
    return str(escape(value)) if isinstance(value, Markup) else str(value)


FILTERS: Final = {
    "ago": ago,
    "utc": utc,
    "sentiment": sentiment,
    "outcome": outcome,
    "percent": percent,
    "one_line": one_line,
    "head_of": head_of,
    "highlight": highlight,
}
GLOBALS: Final = {"long_message": long_message, "trend_svg": trend_svg}
