"""``/gaps``: the knowledge gaps, the one to fill first first, each linked to its failed conversations."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from ..snapshot import snapshot
from .base import reading, respond


async def page(request: Request) -> Response:
    """Every knowledge gap."""
    with reading(request) as model:
        gaps = snapshot(request, model).gaps
    return respond(request, "gaps.html", {"gaps": gaps})
