"""Timestamps: parsed with pendulum, always timezone-aware UTC."""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pendulum

from .errors import MalformedResponseError


@dataclass(frozen=True)
class Window:
    """A half-open time window ``[since, until)``; either end may be open."""

    since: datetime | None = None
    until: datetime | None = None

    @classmethod
    def between(cls, since: str | None, until: str | None) -> Window | None:
        """The backfill window of two optional ISO-8601 bounds; None when both are absent."""
        if not since and not until:
            return None
        return cls(parse_timestamp(since) if since else None, parse_timestamp(until) if until else None)

    @property
    def whole(self) -> bool:
        """Whether the window is the whole history (a repair's re-read), not a backfill's range."""
        return self.since is None and self.until is None

    def admits(self, moment: datetime | None) -> bool:
        """Whether ``moment`` falls inside; an unknown moment only falls inside the whole history."""
        if moment is None:
            return self.whole
        return (self.since is None or moment >= self.since) and (self.until is None or moment < self.until)


@functools.lru_cache(maxsize=65_536, typed=True)  # a timestamp is parsed by several steps; bool is not 1
def parse_timestamp(value: str | int | float | datetime | date) -> datetime:
    """Parses an ISO-8601 string, an epoch (seconds or milliseconds) or a date, to aware UTC.

    Args:
        value: The timestamp as a provider sends it.

    Returns:
        A timezone-aware datetime in UTC.

    Raises:
        ValueError: When the value is not a timestamp.
    """
    if isinstance(value, bool):
        raise ValueError(f"not a timestamp: {value!r}")
    if isinstance(value, int | float):
        seconds = value / 1000 if value > 10**11 else value
        try:
            return datetime.fromtimestamp(seconds, tz=UTC)
        except (OverflowError, OSError, ValueError):
            raise ValueError(f"not a timestamp: {value!r}") from None
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=UTC)
        return moment.astimezone(UTC)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    documented = _iso_with_offset(value)
    if documented is not None:
        return documented
    value = _upper_separators(value)
    documented = _iso_with_offset(value)
    if documented is not None:
        return documented
    try:
        parsed = pendulum.parse(value, tz="UTC")
    except (pendulum.parsing.exceptions.ParserError, ValueError) as exc:
        raise ValueError(f"not a timestamp: {value!r}") from exc
    if not isinstance(parsed, datetime):
        if isinstance(parsed, date):
            return datetime(parsed.year, parsed.month, parsed.day, tzinfo=UTC)
        raise ValueError(f"not a timestamp: {value!r}")
    return to_plain_utc(parsed)  # pendulum loses the zone in arithmetic with stdlib timezones


def _upper_separators(text: str) -> str:
    """RFC 3339 (5.6) allows ``t`` and ``z`` in lowercase: ``2026-11-25t21:32:59.2z``."""
    text = text.strip()
    if len(text) > 10 and text[10] == "t":
        text = f"{text[:10]}T{text[11:]}"
    return text[:-1] + "Z" if text.endswith("z") else text


def _iso_with_offset(text: str) -> datetime | None:
    """The providers' documented form (``2026-03-15T13:59:11Z``, ``…01.920296+00:00``), parsed
    by the stdlib at a tenth of pendulum's cost; None for anything else, which pendulum reads."""
    if len(text) < 20 or text[10:11] != "T":
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is None:
        return None
    return moment if moment.tzinfo is UTC else moment.astimezone(UTC)


def required_timestamp(provider: str, record: Any, context: str, field: str = "created_at") -> datetime:
    """A record's timestamp, which the contract says is always there.

    Args:
        provider: Provider key, for the error.
        record: A record as received (anything, since it is untrusted).
        context: Where it came from, e.g. ``conversation con_1``.
        field: The timestamp field.

    Returns:
        The timestamp, aware UTC.

    Raises:
        MalformedResponseError: When the field is missing or not a timestamp.
    """
    value = record.get(field) if isinstance(record, dict) else None
    if value is None or value == "":
        raise MalformedResponseError(provider, f"{context}: a record lacks {field}")
    try:
        return parse_timestamp(value)
    except (TypeError, ValueError):
        raise MalformedResponseError(provider, f"{context}: unparsable {field} {value!r}") from None


def format_z_seconds(moment: datetime) -> str:
    """``2026-03-15T13:59:11Z``: whole seconds, UTC."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def to_plain_utc(moment: datetime) -> datetime:
    """A stdlib datetime in UTC (pendulum subclasses confuse some writers)."""
    if type(moment) is datetime and moment.tzinfo is UTC:
        return moment
    utc = moment.astimezone(UTC)
    return datetime(utc.year, utc.month, utc.day, utc.hour, utc.minute, utc.second, utc.microsecond, tzinfo=UTC)


DEFAULT_FUTURE_TOLERANCE_HOURS = 24.0


class FutureGuard:
    """Keeps timestamps from the future out of every cursor, frontier and data clock.

    A message dated ``9999-12-31`` is loaded as sent, but a cursor moved to it would hide every
    later message for ever. Anything later than now plus ``tolerance`` (clock skew) is therefore
    loaded without moving any cursor, with one warning per conversation.

    Args:
        tolerance: How far ahead of our clock a timestamp may be.
        warn: Receives the warnings (e.g. ``RunObserver.warn``).
    """

    def __init__(self, tolerance: timedelta, warn: Callable[[str], None]) -> None:
        self.limit = datetime.now(UTC) + tolerance
        self._warn = warn
        self._warned: set[str] = set()
        self._lock = threading.Lock()

    @classmethod
    def hours(cls, hours: float, warn: Callable[[str], None]) -> FutureGuard:
        """A guard with a tolerance in hours (the ``future_tolerance_hours`` setting)."""
        return cls(timedelta(hours=hours), warn)

    def admits(self, moment: datetime, where: str) -> bool:
        """Whether ``moment`` may move a cursor; warns once per ``where`` when it may not."""
        if moment <= self.limit:
            return True
        with self._lock:
            first = where not in self._warned
            self._warned.add(where)
        if first:
            self._warn(f"{where}: timestamp {moment.isoformat()} is in the future; loaded, but no cursor moves past it")
        return False

    def latest(self, moments: Iterable[datetime], where: str) -> datetime | None:
        """The latest of ``moments`` that may move a cursor, or None."""
        admitted = [m for m in moments if self.admits(m, where)]
        return max(admitted) if admitted else None


def utc_stamp(moment: datetime) -> str:
    """``2026-11-29T19:19:16Z``: the one timestamp format chatsync prints (naive means UTC)."""
    aware = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return aware.strftime("%Y-%m-%dT%H:%M:%SZ")


def stamp() -> str:
    """Now, in chatsync's one timestamp format."""
    return utc_stamp(datetime.now(UTC))
