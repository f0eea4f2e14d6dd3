"""Paging strategies, as small dlt paginator objects."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from dlt.sources.helpers.rest_client.paginators import BasePaginator
from requests import Request, Response

from .errors import MalformedResponseError, ProviderError
from .payload import lookup, record_id
from .timeutil import format_z_seconds, required_timestamp


class OverlappingTimeCursorPaginator(BasePaginator):
    """Pages newest-first through a timestamp cursor without losing boundary-second ties.

    Timestamps have one-second resolution and whether the cursor bound is exclusive is not
    documented, so the next cursor is the page's oldest timestamp **plus one second**: the page
    boundary's second is read again (its duplicates are dropped by the caller). When a page brings
    no id not seen on the page before:

    - if the page is shorter than asked, nothing older exists, whatever ``has_more`` says: paging
      ends (an API that sends ``has_more`` for ever cannot make it loop);
    - if it is full, more messages share that second than one page holds: the page size is raised
      to the API maximum, and if even that is not enough paging stops with an error rather than
      skip messages.

    ``has_more`` counts only when it is JSON ``true``. Records are checked for a usable id and
    timestamp before the cursor is computed from them.

    Args:
        provider: For error messages.
        page_size: The ``limit`` of the first request.
        cursor_param: Query parameter of the cursor, e.g. ``before``.
        timestamp_field: Field of each record holding its timestamp.
        id_field: Field of each record holding its id.
        has_more_path: Dotted path to the "more pages" flag in the response.
        limit_param: Query parameter of the page size.
        max_limit: The API's maximum page size.
    """

    def __init__(
        self,
        provider: str,
        page_size: int,
        cursor_param: str = "before",
        timestamp_field: str = "created_at",
        id_field: str = "id",
        has_more_path: str = "pagination.has_more",
        limit_param: str = "limit",
        max_limit: int = 100,
    ) -> None:
        super().__init__()
        self.provider = provider
        self.page_size = page_size
        self.cursor_param = cursor_param
        self.timestamp_field = timestamp_field
        self.id_field = id_field
        self.has_more_path = has_more_path
        self.limit_param = limit_param
        self.max_limit = max_limit
        self._cursor: str | None = None
        self._previous_ids: set[str] = set()
        self._escalated = False

    def update_state(self, response: Response, data: list[Any] | None = None) -> None:
        """Computes the next cursor from the page itself, not from ``next_cursor``."""
        records = data or []
        if not records or lookup(response.json(), self.has_more_path) is not True:
            self._has_next_page = False
            return
        ids = {self._id(record) for record in records}
        oldest = min(required_timestamp(self.provider, r, "a page", self.timestamp_field) for r in records)
        if ids <= self._previous_ids:
            if len(records) < (self.max_limit if self._escalated else self.page_size):
                self._has_next_page = False  # has_more with nothing new on a short page: the end
                return
            self._on_stall(oldest)
        self._previous_ids = ids
        self._cursor = format_z_seconds(oldest + timedelta(seconds=1))

    def _id(self, record: Any) -> str:
        identity = record_id(record.get(self.id_field)) if isinstance(record, dict) else None
        if identity is None:
            raise MalformedResponseError(self.provider, f"a record without a usable {self.id_field}")
        return identity

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
