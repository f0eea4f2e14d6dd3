"""The explorer's Starlette app: the pages, CSV export, the security headers and the error pages.

Read-only by construction: every connection is opened read-only, every query is parameterised,
templates autoescape, and unknown paths or ids answer 404, never a traceback.
"""

from __future__ import annotations

import csv
import hmac
import io
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any, Final

import jinja2
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.base import BaseHTTPMiddleware
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from . import pages
from .queries import LIST_COLUMNS, PAGE_SIZE, BadRequest, Filters
from .warehouse import Busy, Warehouse

HERE: Final = Path(__file__).parent
CSP: Final = (
    "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
    "base-uri 'none'; frame-ancestors 'none'"
)
BUSY_RETRY_SECONDS: Final = 2
TOKEN_COOKIE: Final = "chatsync_explore"

Handler = Callable[[Request], Awaitable[Response]]


def create_app(warehouse: Warehouse, token: str | None = None) -> Starlette:
    """The explorer over one warehouse; with ``token``, every request must carry it.

    Args:
        warehouse: Where to read.
        token: A bearer (``Authorization: Bearer …``) or query (``?token=…``) token, or None on loopback.

    Returns:
        The ASGI app.
    """
    environment = jinja2.Environment(loader=jinja2.FileSystemLoader(HERE / "templates"), autoescape=True)
    templates = Jinja2Templates(env=environment)  # autoescape on every template: markup in a message is text
    templates.env.globals["page_size"] = PAGE_SIZE

    def render(request: Request, name: str, status: int = 200, **context: Any) -> Response:
        response: Response = templates.TemplateResponse(
            request, name, {"warehouse": warehouse, **context}, status_code=status
        )
        return response

    def page(name: str, read: Callable[[Request, Any], dict[str, Any] | None]) -> Handler:
        async def handler(request: Request) -> Response:
            with warehouse.connect() as connection:
                found = read(request, connection)
            if found is None:
                raise HTTPException(404)
            return render(request, name, **found)

        return handler

    def overview(request: Request, connection: Any) -> dict[str, Any]:
        return {"overview": pages.overview(warehouse, connection)}

    def conversations(request: Request, connection: Any) -> dict[str, Any]:
        filters = Filters.parse(request.query_params)
        return {"filters": filters, **pages.conversation_list(warehouse, connection, filters, PAGE_SIZE)}

    def conversation(request: Request, connection: Any) -> dict[str, Any] | None:
        params = request.path_params
        found = pages.transcript(warehouse, connection, params["provider"], params["conversation_id"])
        return None if found is None else {"c": found}

    def topics(request: Request, connection: Any) -> dict[str, Any]:
        return {"topics": pages.topics(warehouse, connection)}

    def topic(request: Request, connection: Any) -> dict[str, Any] | None:
        return pages.topic(warehouse, connection, request.path_params["topic_id"])

    def gaps(request: Request, connection: Any) -> dict[str, Any]:
        return {"gaps": pages.gaps(warehouse, connection)}

    async def export(request: Request) -> Response:
        filters = Filters.parse(request.query_params)
        with warehouse.connect() as connection:  # read whole, then stream: the file is let go at once
            rows = pages.conversation_list(warehouse, connection, filters, None)["rows"]
        headers = {"Content-Disposition": 'attachment; filename="conversations.csv"'}
        return StreamingResponse(_csv(rows), media_type="text/csv; charset=utf-8", headers=headers)

    async def not_found(request: Request, exc: Exception) -> Response:
        return render(request, "error.html", 404, title="Not found", detail="No such page, conversation or topic.")

    async def bad_request(request: Request, exc: Exception) -> Response:
        return render(request, "error.html", 400, title="Bad request", detail=str(exc))

    async def busy(request: Request, exc: Exception) -> Response:
        response = render(request, "busy.html", 503, retry=BUSY_RETRY_SECONDS)
        response.headers["Retry-After"] = str(BUSY_RETRY_SECONDS)
        return response

    async def failed(request: Request, exc: Exception) -> Response:
        detail = "The warehouse could not answer this page; the explorer's log has the cause."
        return render(request, "error.html", 500, title="Something failed", detail=detail)

    routes = [
        Route("/", page("overview.html", overview)),
        Route("/conversations", page("conversations.html", conversations)),
        Route("/conversations.csv", export),
        Route("/conversations/{provider}/{conversation_id:path}", page("transcript.html", conversation)),
        Route("/topics", page("topics.html", topics)),
        Route("/topics/{topic_id}", page("topic.html", topic)),
        Route("/gaps", page("gaps.html", gaps)),
        Mount("/static", StaticFiles(directory=str(HERE / "static")), name="static"),
    ]
    return Starlette(
        routes=routes,
        middleware=[Middleware(Guard, token=token)],
        exception_handlers={
            404: not_found,
            405: not_found,
            BadRequest: bad_request,
            Busy: busy,
            Exception: failed,
        },
    )


def _csv(rows: list[dict[str, Any]]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(LIST_COLUMNS)
    for n, row in enumerate(rows, 1):
        writer.writerow(["" if row[c] is None else row[c] for c in LIST_COLUMNS])
        if n % 1000 == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


class Guard(BaseHTTPMiddleware):
    """The token (when one is set) and the security headers of every answer."""

    def __init__(self, app: Any, token: str | None) -> None:
        super().__init__(app)
        self.token = token

    async def dispatch(self, request: Request, call_next: Handler) -> Response:
        """Refuses a request without the token (401); adds CSP and friends to every answer."""
        given = self._given(request)
        if self.token is not None and not (given and hmac.compare_digest(given, self.token)):
            response: Response = Response("a token is required: ?token=… or Authorization: Bearer …", 401)
        else:
            response = await call_next(request)
            if self.token is not None and request.query_params.get("token"):
                response.set_cookie(TOKEN_COOKIE, self.token, httponly=True, samesite="strict")
        response.headers["Content-Security-Policy"] = CSP
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        return response

    @staticmethod
    def _given(request: Request) -> str | None:
        header = request.headers.get("authorization", "")
        if header.lower().startswith("bearer "):
            return header[7:].strip()
        return request.query_params.get("token") or request.cookies.get(TOKEN_COOKIE)
