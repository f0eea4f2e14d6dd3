"""``/conversations``: the conversations the filters select, newest or most relevant first, with search snippets.

Its ``.csv`` twin (``export.py``) writes the whole result; a page beyond the end redirects to the last.
"""

from __future__ import annotations

import math
from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from ...warehouse.read_model import OUTCOME_CHOICES, OUTCOME_NAMES, ConversationPage, ReadModel
from ..filters import PAGE_SIZE, PERIODS, Filters, choices_of
from ..snapshot import snapshot
from .base import reading, respond, transcript_path


def read(request: Request, model: ReadModel, filters: Filters, limit: int | None) -> dict[str, Any]:
    """The page (or, without ``limit``, every row) of what ``filters`` select, with the filters' choices."""
    snap = snapshot(request, model)
    choices = choices_of(snap)
    filters.check_known(choices)
    query = filters.query(snap.newest_day)
    offset = (filters.page - 1) * PAGE_SIZE if limit is not None else 0
    found: ConversationPage = model.conversations(query, limit, offset)
    for position, row in enumerate(found.rows, offset + 1):
        key = (row["provider"], row["conversation_id"])
        row["bot"] = snap.bot(row["provider"], row["bot_id"])
        row["link"] = transcript_path(*key) + (f"?{filters.link(page=1)}&at={position}" if limit else "")
    return {
        "filters": filters,
        "rows": found.rows,
        "total": found.total,
        "page": filters.page,
        "pages": max(1, math.ceil(found.total / PAGE_SIZE)),
        "sql": found.sql,
        "choices": choices,
        "outcomes": [(o, OUTCOME_NAMES[o]) for o in OUTCOME_CHOICES],
        "periods": list(PERIODS),
        "insights": model.has_insights,
        "includes_deleted": model.includes_deleted,
    }


async def page(request: Request) -> Response:
    """One page of the list; a page beyond the end redirects to the last."""
    filters = Filters.parse(request.query_params)
    with reading(request) as model:
        data = read(request, model, filters, PAGE_SIZE)
    if filters.page > data["pages"]:
        suffix = ".json" if request.url.path.endswith(".json") else ""
        return RedirectResponse(f"/conversations{suffix}?{filters.link(page=data['pages'])}", 303)
    return respond(request, "conversations.html", data)
