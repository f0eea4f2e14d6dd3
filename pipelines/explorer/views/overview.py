"""``/``: per bot its conversations, messages, last message and how they ended; the last load; top topics and gaps."""

from __future__ import annotations

from typing import Any, Final

from starlette.requests import Request
from starlette.responses import Response

from ...warehouse.read_model import OUTCOMES, ReadModel
from ..snapshot import snapshot
from .base import reading, respond

TOP: Final = 5


def read(request: Request, model: ReadModel) -> dict[str, Any]:
    """What the overview shows."""
    snap = snapshot(request, model)
    bots = [dict(bot) for bot in snap.bots]
    if not bots:
        return {"loaded": False, "bots": []}
    mix = model.outcomes_by_bot()
    for bot in bots:
        counts = mix.get((bot["provider"], bot["bot_id"]), {})
        total = sum(counts.values())
        bot["outcomes"] = {o: counts.get(o, 0) for o in OUTCOMES}
        bot["judged"] = total
    return {
        "loaded": True,
        "last_load": model.last_load(),
        "bots": bots,
        "insights": model.has_insights,
        "topics": snap.topics[:TOP],
        "gaps": snap.gaps[:TOP],
        "outcomes": list(OUTCOMES),
    }


async def page(request: Request) -> Response:
    """The overview."""
    with reading(request) as model:
        data = read(request, model)
    return respond(request, "overview.html", data)
