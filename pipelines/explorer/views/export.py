"""``/conversations.csv``: the whole result of the filters, UTF-8 with a BOM (Excel reads 中文, ñ), a link per row."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Any, Final

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from ..filters import Filters
from ..present import utc
from .base import reading
from .conversations import read

COLUMNS: Final = (
    "provider",
    "bot",
    "bot_id",
    "conversation_id",
    "started_at",
    "messages",
    "topic",
    "topic_id",
    "outcome",
    "sentiment",
    "language",
    "question",
    "deleted_at",
    "link",
)
BOM: Final = "\ufeff"


async def page(request: Request) -> Response:
    """Every conversation the filters select, as CSV."""
    filters = Filters.parse(request.query_params)
    with reading(request) as model:  # read whole, then stream: the file is let go at once
        rows = read(request, model, filters, None)["rows"]
    base = str(request.base_url).rstrip("/")
    headers = {"Content-Disposition": 'attachment; filename="conversations.csv"'}
    return StreamingResponse(_csv(rows, base), media_type="text/csv; charset=utf-8", headers=headers)


def _cell(row: dict[str, Any], column: str, base: str) -> Any:
    if column == "link":
        return base + row["link"]
    value = row.get(column)
    if column in ("started_at", "deleted_at"):
        return utc(value) if value else ""
    return "" if value is None else value


def _csv(rows: list[dict[str, Any]], base: str) -> Iterator[str]:
    buffer = io.StringIO()
    buffer.write(BOM)
    writer = csv.writer(buffer)
    writer.writerow(COLUMNS)
    for n, row in enumerate(rows, 1):
        writer.writerow([_cell(row, c, base) for c in COLUMNS])
        if n % 1000 == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()
