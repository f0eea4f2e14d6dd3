"""What most pages need and only a write changes (bots, topics, gaps, languages): read once per change.

At a million messages, the bots alone (a count of distinct conversations per bot) take ~100 ms; the
explorer keeps the last snapshot and reads it again only when ``ReadModel.fingerprint`` changes (a
load, insights, a topic edit, a deletion or ``forget``), which costs a few milliseconds per page.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import date
from typing import Any

from starlette.requests import Request

from ..warehouse.read_model import ReadModel, bot_label
from ..warehouse.windows import as_date

_LOCK = threading.Lock()


@dataclass(frozen=True)
class Snapshot:
    """The warehouse's bots (with labels), topics, gaps and languages as of ``key``."""

    key: tuple[Any, ...]
    bots: list[dict[str, Any]]
    topics: list[dict[str, Any]]
    gaps: list[dict[str, Any]]
    languages: list[str]

    @property
    def newest_day(self) -> date | None:
        """The newest day with a message: where "last 7 days" and the period filters end."""
        newest = max((b["last_message"] for b in self.bots if b["last_message"]), default=None)
        return as_date(newest) if newest is not None else None

    def bot(self, provider: str, bot_id: str | None) -> str:
        """A bot's label."""
        return next(
            (b["label"] for b in self.bots if (b["provider"], b["bot_id"]) == (provider, bot_id)), bot_id or "—"
        )

    def topic(self, topic_id: str) -> dict[str, Any] | None:
        """One topic, or None."""
        return next((t for t in self.topics if t["topic_id"] == topic_id), None)


def _read(model: ReadModel, key: tuple[Any, ...]) -> Snapshot:
    bots = model.bots()
    names = {(b["provider"], b["bot_id"]): b["name"] for b in bots if b["name"]}
    for bot in bots:
        bot["label"] = bot_label(names, bot["provider"], bot["bot_id"])
    return Snapshot(key, bots, model.topics(), model.gaps(), model.languages())


def snapshot(request: Request, model: ReadModel) -> Snapshot:
    """The app's snapshot of the warehouse, read again when the warehouse changed."""
    key = model.fingerprint()
    with _LOCK:
        cached: Snapshot | None = getattr(request.app.state, "snapshot", None)
    if cached is not None and cached.key == key:
        return cached
    fresh = _read(model, key)
    with _LOCK:
        request.app.state.snapshot = fresh
    return fresh
