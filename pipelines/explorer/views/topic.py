"""``/topics/{id}``: one topic, its questions in each language, its trend by day, its gap and newest conversations."""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from ...warehouse.read_model import ConversationQuery
from ..filters import PAGE_SIZE
from ..snapshot import snapshot
from .base import reading, respond, transcript_path


async def page(request: Request) -> Response:
    """One topic; 404 for an unknown id."""
    topic_id = request.path_params["topic_id"]
    with reading(request) as model:
        snap = snapshot(request, model)
        found = snap.topic(topic_id)
        if found is None:
            raise HTTPException(404)
        gap = next((g for g in snap.gaps if g["topic_id"] == topic_id), None)
        days = model.topic_days(topic_id)
        newest = model.conversations(ConversationQuery(topic=topic_id), PAGE_SIZE)
    for row in newest.rows:
        row["bot"] = snap.bot(row["provider"], row["bot_id"])
        row["link"] = transcript_path(row["provider"], row["conversation_id"])
    data = {"topic": found, "gap": gap, "days": days, "rows": newest.rows, "total": newest.total}
    return respond(request, "topic.html", data)
