"""The query parameters of a conversation list, checked: a value no query can use is a 400 naming the choices.

Only the request is checked here; what the filters select is the read model's
(``warehouse.read_model.ConversationQuery``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from datetime import date, timedelta
from typing import Any, Final
from urllib.parse import urlencode

from ..warehouse.read_model import OUTCOME_CHOICES, ConversationQuery
from ..warehouse.search import Search
from .snapshot import Snapshot

PAGE_SIZE: Final = 50
MAX_PARAMETER: Final = 300
PERIODS: Final = {"today": 0, "7d": 6, "30d": 29}  # days before the newest day with a conversation
SORTS: Final = ("newest", "relevance")


class BadRequest(ValueError):
    """A filter value the explorer cannot use: answered with 400 and the reason."""


@dataclass(frozen=True)
class Filters:
    """The query parameters shared by ``/conversations``, its ``.json`` and ``.csv`` twins and a transcript's links."""

    q: str = ""
    provider: str = ""
    bot_id: str = ""
    outcome: str = ""
    topic: str = ""
    language: str = ""
    period: str = ""
    since: str = ""
    until: str = ""
    deleted: str = ""
    min_messages: str = ""
    sort: str = ""
    page: int = 1

    @classmethod
    def parse(cls, params: Mapping[str, str]) -> Filters:
        """The filters of a request; unknown parameters are ignored.

        Raises:
            BadRequest: A value that is too long, not a date, not a number or not one of its choices.
        """
        values: dict[str, Any] = {}
        for field in fields(cls):
            raw = params.get(field.name, "")
            if len(raw) > MAX_PARAMETER or "\x00" in raw:
                raise BadRequest(f"{field.name}: too long, or holds a NUL byte")
            values[field.name] = raw.strip()
        values["page"] = _whole(values["page"] or "1", "page", minimum=1)
        filters = cls(**values)
        filters._check_form()
        return filters

    def _check_form(self) -> None:
        try:
            Search.parse(self.q)
        except ValueError as error:
            raise BadRequest(f"q: {error}") from None
        _choice("outcome", self.outcome, OUTCOME_CHOICES)
        _choice("period", self.period, tuple(PERIODS))
        _choice("sort", self.sort, SORTS)
        _choice("deleted", self.deleted, ("yes", "no"))
        for name in ("since", "until"):
            if getattr(self, name):
                _day(getattr(self, name), name)
        if self.min_messages:
            _whole(self.min_messages, "min_messages", minimum=0)

    def check_known(self, choices: Choices) -> None:
        """Raises ``BadRequest`` for a provider, bot, topic or language the warehouse does not hold."""
        _choice("provider", self.provider, tuple(choices.providers))
        _choice("bot_id", self.bot_id, tuple(b for _, b, _ in choices.bots))
        _choice("topic", self.topic, tuple(t for t, _ in choices.topics))
        _choice("language", self.language, tuple(choices.languages))

    def query(self, newest_day: date | None) -> ConversationQuery:
        """What the read model selects for these filters; a period counts back from the newest day."""
        since = _day(self.since, "since") if self.since else None
        if self.period and newest_day is not None:
            since = newest_day - timedelta(days=PERIODS[self.period])
        return ConversationQuery(
            search=Search.parse(self.q),
            provider=self.provider,
            bot_id=self.bot_id,
            outcome=self.outcome,
            topic=self.topic,
            language=self.language,
            since=since,
            until=_day(self.until, "until") + timedelta(days=1) if self.until else None,  # the day itself included
            deleted=None if not self.deleted else self.deleted == "yes",
            min_messages=int(self.min_messages or 0),
            sort=self.sort or ("relevance" if self.q else "newest"),
        )

    def link(self, **changes: Any) -> str:
        """The query string of these filters with ``changes`` (empty values left out)."""
        changed = replace(self, **changes)
        pairs = [(f.name, getattr(changed, f.name)) for f in fields(changed)]
        return urlencode([(k, v) for k, v in pairs if v not in ("", None) and not (k == "page" and v == 1)])

    @property
    def any(self) -> bool:
        """Whether any filter is set (the page aside)."""
        return bool(self.link(page=1))


@dataclass(frozen=True)
class Choices:
    """What the filter selects offer, from the warehouse: each a value and what the page shows for it."""

    providers: list[str]
    bots: list[tuple[str, str, str]]  # provider, bot id, label
    topics: list[tuple[str, str]]  # id, label
    languages: list[str]


def choices_of(snap: Snapshot) -> Choices:
    """The filters' choices from the warehouse's snapshot."""
    return Choices(
        providers=sorted({str(b["provider"]) for b in snap.bots}),
        bots=[(b["provider"], b["bot_id"], b["label"]) for b in snap.bots if b["bot_id"]],
        topics=[
            (t["topic_id"], t["label"] or t["topic_id"]) for t in sorted(snap.topics, key=lambda t: t["label"] or "")
        ],
        languages=snap.languages,
    )


def _choice(name: str, value: str, known: tuple[str, ...]) -> None:
    if value and value not in known:
        shown = ", ".join(known[:30]) + (f" and {len(known) - 30} more" if len(known) > 30 else "")
        raise BadRequest(f"{name}: {value!r} is not one of {shown or '(none in this warehouse)'}")


def _day(value: str, name: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise BadRequest(f"{name}: a date, YYYY-MM-DD") from None


def _whole(value: str, name: str, minimum: int) -> int:
    try:
        number = int(value)
    except ValueError:
        raise BadRequest(f"{name}: a whole number") from None
    if number < minimum or number > 10**9:
        raise BadRequest(f"{name}: a whole number from {minimum}")
    return number
