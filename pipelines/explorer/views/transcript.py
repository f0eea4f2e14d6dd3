"""``/conversations/{provider}/{id}``: one conversation, its fallback and handoff marked, with its place in the list.

Reached from a list, the link carries the list's filters and the row's position: the page then offers
the previous and next conversation of that list and a link back to the same page of results.
"""

from __future__ import annotations

import math
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from ...warehouse.read_model import ReadModel
from ..filters import PAGE_SIZE, Filters
from ..snapshot import Snapshot, snapshot
from .base import reading, respond, transcript_path, wants_json


def mark(conversation: dict[str, Any]) -> None:
    """Marks the reply judged a fallback (the first reply of an unanswered conversation) and where a human took over."""
    messages = conversation["messages"]
    insight = conversation["insight"] or {}
    asked = next((n for n, m in enumerate(messages) if m["role"] == "user"), None)
    if insight.get("outcome") == "unanswered" and asked is not None:
        reply = next((n for n, m in enumerate(messages) if n > asked and m["role"] == "assistant"), None)
        if reply is not None:
            messages[reply]["mark"] = "fallback"
    handoff = next((n for n, m in enumerate(messages) if m["role"] == "agent"), None)
    if handoff is not None:
        messages[handoff]["mark"] = "handoff"


def _place(model: ReadModel, snap: Snapshot, filters: Filters, provider: str, conversation_id: str) -> dict[str, Any]:
    query = filters.query(snap.newest_day)
    before, after, position = model.neighbours(query, provider, conversation_id)
    if position is None:
        return {}
    link = filters.link(page=1)

    def at(key: tuple[str, str] | None, offset: int) -> str | None:
        return None if key is None else f"{transcript_path(*key)}?{link}&at={position + offset}"

    back = filters.link(page=math.ceil(position / PAGE_SIZE))
    return {"previous": at(before, -1), "next": at(after, 1), "position": position, "back": f"/conversations?{back}"}


async def page(request: Request) -> Response:
    """One transcript; 404 for an unknown conversation."""
    provider, conversation_id = request.path_params["provider"], request.path_params["conversation_id"]
    filters = Filters.parse(request.query_params)
    in_list = "at" in request.query_params
    with reading(request) as model:
        found = model.transcript(provider, conversation_id)
        if found is None and wants_json(request):
            conversation_id = conversation_id.removesuffix(".json")
            found = model.transcript(provider, conversation_id)
        if found is None:
            raise HTTPException(404)
        snap = snapshot(request, model)
        place = _place(model, snap, filters, provider, conversation_id) if in_list else {}
        topic = snap.topic(found["insight"]["topic_id"]) if found["insight"] and found["insight"]["topic_id"] else None
    mark(found)
    found["bot"] = snap.bot(provider, found["bot_id"]) if found["bot_id"] else None
    found["topic"] = None if topic is None else {"topic_id": topic["topic_id"], "label": topic["label"]}
    return respond(request, "transcript.html", {"c": found, "place": place})
