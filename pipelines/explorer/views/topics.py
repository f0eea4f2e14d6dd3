"""``/topics``: every topic, sortable, filtered by language and by failed share."""

from __future__ import annotations

from typing import Any, Final

from starlette.requests import Request
from starlette.responses import Response

from ..filters import BadRequest
from ..snapshot import snapshot
from .base import reading, respond

SORTS: Final = {
    "conversations": lambda t: (-t["conversations"], t["topic_id"]),
    "failed": lambda t: (-t["failed_share"], -t["conversations"], t["topic_id"]),
    "last_7": lambda t: (-t["last_7"], t["topic_id"]),
    "change": lambda t: (-(t["last_7"] - t["previous_7"]), t["topic_id"]),
    "label": lambda t: ((t["label"] or "").lower(), t["topic_id"]),
}


def select(topics: list[dict[str, Any]], sort: str, language: str, min_failed: int) -> list[dict[str, Any]]:
    """The topics in ``sort`` order, those asked in ``language`` (when given) failing at least ``min_failed``%."""
    found = [
        t
        for t in topics
        if (not language or language in (t["examples"] or {})) and 100 * t["failed_share"] >= min_failed
    ]
    return sorted(found, key=SORTS[sort])


def _params(request: Request) -> tuple[str, str, int]:
    sort = request.query_params.get("sort", "conversations")
    if sort not in SORTS:
        raise BadRequest(f"sort: one of {', '.join(SORTS)}")
    raw = request.query_params.get("min_failed", "0") or "0"
    if not raw.isdigit() or int(raw) > 100:
        raise BadRequest("min_failed: a whole percentage from 0 to 100")
    return sort, request.query_params.get("language", "").strip(), int(raw)


async def page(request: Request) -> Response:
    """The topics."""
    sort, language, min_failed = _params(request)
    with reading(request) as model:
        snap = snapshot(request, model)
    topics, languages = snap.topics, snap.languages
    if language and language not in languages:
        raise BadRequest(f"language: {language!r} is not one of {', '.join(languages)}")
    shown = select(topics, sort, language, min_failed)
    data = {
        "topics": shown,
        "total": len(topics),
        "sort": sort,
        "language": language,
        "min_failed": min_failed,
        "languages": languages,
        "sorts": list(SORTS),
    }
    return respond(request, "topics.html", data)
