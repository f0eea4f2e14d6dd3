"""Paging strategies, as small dlt paginator objects."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from dlt.common import jsonpath
from dlt.sources.helpers.rest_client.paginators import BasePaginator
from requests import Request, Response

from .errors import ProviderError
from .timeutil import format_z_seconds, parse_timestamp


class OverlappingTimeCursorPaginator(BasePaginator):
    """Pages newest-first through a timestamp cursor without losing boundary-second ties.

    Timestamps have one-second resolution and whether the cursor bound is exclusive is not
    documented, so the next cursor is the page's oldest timestamp **plus one second**: the page
    boundary's second is read again (its duplicates are dropped by the caller). When a page brings
    nothing new, more messages share that second than one page holds; the page size is raised
    to the API maximum, and if even that is not enough the paginator stops with an error rather
    than skip messages.

    Args:
        provider: For error messages.
        cursor_param: Query parameter of the cursor, e.g. ``before``.
        timestamp_field: Field of each record holding its timestamp.
        id_field: Field of each record holding its id.
        has_more_path: JSONPath to the "more pages" flag in the response.
        limit_param: Query parameter of the page size.
        max_limit: The API's maximum page size.
    """

    def __init__(
        self,
        provider: str,
        cursor_param: str = "before",
        timestamp_field: str = "created_at",
        id_field: str = "id",
        has_more_path: str = "pagination.has_more",
        limit_param: str = "limit",
        max_limit: int = 100,
    ) -> None:
        super().__init__()
        self.provider = provider
        self.cursor_param = cursor_param
        self.timestamp_field = timestamp_field
        self.id_field = id_field
        self.has_more_path = has_more_path
        self.limit_param = limit_param
        self.max_limit = max_limit
        self._cursor: str | None = None
        self._previous_ids: set[Any] = set()
        self._escalated = False

    def update_state(self, response: Response, data: list[Any] | None = None) -> None:
        """Computes the next cursor from the page itself, not from ``next_cursor``."""
        records = data or []
        has_more = jsonpath.find_values(self.has_more_path, response.json())
        if not records or not (has_more and has_more[0]):
            self._has_next_page = False
            return
        ids = {record[self.id_field] for record in records}
        oldest = min(parse_timestamp(record[self.timestamp_field]) for record in records)
        if ids <= self._previous_ids:
            self._on_stall(oldest)
        self._previous_ids = ids
        self._cursor = format_z_seconds(oldest + timedelta(seconds=1))

    def _on_stall(self, second: datetime) -> None:
        if self._escalated:
            raise ProviderError(
                self.provider,
                f"more than {self.max_limit} messages share the second {format_z_seconds(second)}; "
                "cannot page past it without losing some",
            )
        self._escalated = True

    def update_request(self, request: Request) -> None:
        """Sets the cursor (and, after a stall, the maximum page size) on the next request."""
        if request.params is None:
            request.params = {}
        request.params[self.cursor_param] = self._cursor
        if self._escalated:
            request.params[self.limit_param] = self.max_limit
