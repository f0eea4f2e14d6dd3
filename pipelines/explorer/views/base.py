"""What every page does: read through the read model on a short-lived connection, answer HTML or its ``.json`` twin."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import Response

from ...warehouse.read_model import ReadModel
from ..present import to_json
from ..warehouse import Warehouse


def warehouse(request: Request) -> Warehouse:
    """The warehouse the app serves."""
    found: Warehouse = request.app.state.warehouse
    return found


@contextmanager
def reading(request: Request) -> Iterator[ReadModel]:
    """The read model on a read-only connection, closed when the page has read what it shows."""
    with warehouse(request).read() as model:
        yield model


def wants_json(request: Request) -> bool:
    """Whether the ``.json`` twin was asked for."""
    return request.url.path.endswith(".json")


def respond(request: Request, template: str, data: dict[str, Any], status: int = 200) -> Response:
    """The page as HTML from ``template``, or its data as JSON for the ``.json`` twin."""
    if wants_json(request):
        public = {k: v for k, v in data.items() if not k.startswith("_")}
        return Response(to_json(public), status, media_type="application/json")
    templates = request.app.state.templates
    response: Response = templates.TemplateResponse(
        request, template, {"warehouse": warehouse(request), **data}, status_code=status
    )
    return response


def transcript_path(provider: str, conversation_id: str) -> str:
    """The transcript's path (the ids quoted)."""
    return f"/conversations/{quote(provider, safe='')}/{quote(conversation_id, safe='')}"
