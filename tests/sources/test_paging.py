"""The overlapping timestamp-cursor paginator, page by page: cursors, stalls, the end, bad records."""

from __future__ import annotations

import json
from typing import Any

import pytest
from requests import Request, Response

from sources.common.errors import MalformedResponseError, ProviderError
from sources.common.paging import OverlappingTimeCursorPaginator


def page(records: list[dict[str, Any]], has_more: Any = True) -> tuple[Response, list[dict[str, Any]]]:
    """A response as the API sends it (a built ``requests.Response``, no network), and its records."""
    response = Response()
    response.status_code = 200
    response._content = json.dumps({"data": records, "pagination": {"has_more": has_more}}).encode()
    return response, records


def message(mid: str, second: int) -> dict[str, Any]:
    return {"id": mid, "created_at": f"2026-03-01T10:00:{second:02d}Z"}


def next_request(paginator: OverlappingTimeCursorPaginator) -> dict[str, Any]:
    request = Request("GET", "http://api/chat/history", params={"limit": paginator.page_size})
    paginator.update_request(request)
    return dict(request.params)


def test_the_next_cursor_is_the_oldest_second_of_the_page_plus_one() -> None:
    paginator = OverlappingTimeCursorPaginator("example_ai", page_size=3)
    paginator.update_state(*page([message("c", 30), message("b", 20), message("a", 12)]))
    assert paginator.has_next_page
    assert next_request(paginator) == {"limit": 3, "before": "2026-03-01T10:00:13Z"}, "the boundary second again"


@pytest.mark.parametrize("has_more", [False, None, "true", 1])
def test_only_json_true_means_more(has_more: Any) -> None:
    paginator = OverlappingTimeCursorPaginator("example_ai", page_size=2)
    paginator.update_state(*page([message("b", 20), message("a", 12)], has_more=has_more))
    assert not paginator.has_next_page


def test_an_empty_page_ends_paging_whatever_has_more_says() -> None:
    paginator = OverlappingTimeCursorPaginator("example_ai", page_size=2)
    paginator.update_state(*page([], has_more=True))
    assert not paginator.has_next_page


def test_a_short_page_with_nothing_new_ends_an_api_that_says_has_more_for_ever() -> None:
    paginator = OverlappingTimeCursorPaginator("example_ai", page_size=3)
    paginator.update_state(*page([message("b", 20), message("a", 12)]))
    paginator.update_state(*page([message("b", 20), message("a", 12)]))
    assert not paginator.has_next_page


def test_a_full_page_of_one_second_raises_the_page_size_then_fails_rather_than_skip() -> None:
    paginator = OverlappingTimeCursorPaginator("example_ai", page_size=2, max_limit=4)
    tied = [message("b", 12), message("a", 12)]
    paginator.update_state(*page(tied))
    paginator.update_state(*page(tied))  # nothing new on a full page: more share the second than fit
    assert paginator.has_next_page
    assert next_request(paginator) == {"limit": 4, "before": "2026-03-01T10:00:13Z"}, "the API maximum"
    four = [message(m, 12) for m in "dcba"]
    paginator.update_state(*page(four))
    with pytest.raises(ProviderError, match="more than 4 messages share the second 2026-03-01T10:00:12Z"):
        paginator.update_state(*page(four))


@pytest.mark.parametrize("record", [{"created_at": "2026-03-01T10:00:00Z"}, {"id": None, "created_at": "x"}, "text"])
def test_a_record_without_a_usable_id_is_a_malformed_response(record: Any) -> None:
    paginator = OverlappingTimeCursorPaginator("example_ai", page_size=2)
    with pytest.raises(MalformedResponseError, match="without a usable id"):
        paginator.update_state(*page([message("b", 20), record]))


def test_a_record_without_a_timestamp_is_refused_before_any_cursor_is_made() -> None:
    paginator = OverlappingTimeCursorPaginator("example_ai", page_size=2)
    with pytest.raises(ProviderError):
        paginator.update_state(*page([message("b", 20), {"id": "a"}]))
    assert next_request(paginator)["before"] is None, "no cursor from a bad page"
