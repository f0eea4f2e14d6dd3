"""The explorer's Starlette app: the route table (``routes``), the security headers and the error pages.

Read-only by construction: every connection is opened read-only, every query is parameterised,
templates autoescape, and unknown paths or ids answer 404, never a traceback. Each page is a module of
``views``; each has a ``.json`` twin with the data it shows.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, Final

import jinja2
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.base import BaseHTTPMiddleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.templating import Jinja2Templates

from .filters import PAGE_SIZE, BadRequest
from .present import FILTERS, GLOBALS
from .routes import ROUTES
from .views.base import respond
from .warehouse import Busy, Warehouse

HERE: Final = Path(__file__).parent
CSP: Final = (
    "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
    "base-uri 'none'; frame-ancestors 'none'"
)
BUSY_RETRY_SECONDS: Final = 2
TOKEN_COOKIE: Final = "chatsync_explore"

Handler = Callable[[Request], Awaitable[Response]]


def templates() -> Jinja2Templates:
    """The pages' templates: autoescaped (markup in a message is text), with the presentation filters."""
    environment = jinja2.Environment(loader=jinja2.FileSystemLoader(HERE / "templates"), autoescape=True)
    environment.filters.update(FILTERS)
    environment.globals.update(GLOBALS)
    environment.globals["page_size"] = PAGE_SIZE
    return Jinja2Templates(env=environment)


async def not_found(request: Request, exc: Exception) -> Response:
    """404: no such page, conversation or topic."""
    return _error(request, 404, "Not found", "No such page, conversation or topic.")


async def bad_request(request: Request, exc: Exception) -> Response:
    """400 with the reason and the known values."""
    return _error(request, 400, "Bad request", str(exc))


async def busy(request: Request, exc: Exception) -> Response:
    """503 while a load holds DuckDB's file; the browser retries."""
    response = respond(request, "busy.html", {"retry": BUSY_RETRY_SECONDS}, 503)
    response.headers["Retry-After"] = str(BUSY_RETRY_SECONDS)
    return response


async def failed(request: Request, exc: Exception) -> Response:
    """500 without a traceback: the log has the cause."""
    detail = "The warehouse could not answer this page; the explorer's log has the cause."
    return _error(request, 500, "Something failed", detail)


def _error(request: Request, status: int, title: str, detail: str) -> Response:
    return respond(request, "error.html", {"title": title, "detail": detail, "status": status}, status)


def create_app(warehouse: Warehouse, token: str | None = None) -> Starlette:
    """The explorer over one warehouse; with ``token``, every request must carry it.

    Args:
        warehouse: Where to read.
        token: A bearer (``Authorization: Bearer …``) or query (``?token=…``) token, or None on loopback.

    Returns:
        The ASGI app.
    """
    app = Starlette(
        routes=ROUTES,
        middleware=[Middleware(Guard, token=token)],
        exception_handlers={404: not_found, 405: not_found, BadRequest: bad_request, Busy: busy, Exception: failed},
    )
    app.state.warehouse = warehouse
    app.state.templates = templates()
    return app


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
