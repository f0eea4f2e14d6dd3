"""Every RFC 3339 form a provider may send parses to the exact UTC instant."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from sources.common.timeutil import parse_timestamp

INSTANT = datetime(2026, 11, 25, 21, 32, 59, 200000, tzinfo=UTC)


@pytest.mark.parametrize(
    "text",
    [
        "2026-11-25T21:32:59.2Z",
        "2026-11-25T21:32:59.2z",  # RFC 3339 5.6: "T" and "Z" may be lowercase
        "2026-11-25t21:32:59.2Z",
        "2026-11-25t21:32:59.2z",
        "2026-11-25t21:32:59.200000+00:00",
        "2026-11-25T13:32:59.2-08:00",
        "2026-11-26t11:32:59.200000000+14:00",
        "2026-11-25T21:32:59.2-00:00",
    ],
)
def test_rfc3339_forms_give_the_exact_instant(text: str) -> None:
    assert parse_timestamp(text) == INSTANT


def test_garbage_is_still_refused() -> None:
    with pytest.raises(ValueError, match="not a timestamp"):
        parse_timestamp("the day after tomorrow")
