"""What a provider holds, read for ``chatsync audit``: the provider's half of a completeness proof.

Each provider's ``audit.census`` reads what its API gives: cheaply (a listing's counts, one
``limit=1`` request, one history) or whole (every message of the chosen conversations). It never
writes and never touches state. ``pipelines.audit`` compares the census with the warehouse.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .errors import NotFoundError, ProviderError
from .fanout import fan_out
from .http import ProviderHttp
from .isolation import CONVERSATION_ERRORS, NotFoundTally, cause_of

Choose = Callable[[list[str]], list[str]]  # which of the listed conversations a full audit re-reads


def every(ids: list[str]) -> list[str]:
    """Chooses every conversation (no ``--sample``)."""
    return ids


@dataclass
class Held:
    """What the provider holds of one conversation, as far as this audit read.

    Attributes:
        bot_id: Its bot, where the provider has bots.
        owner: The end user's id as the provider sends it (for the erasure filter).
        user_messages: OwlBot's ``messagenbr``, the user messages it counts.
        items: Feedloop's number of history items.
        newest_id: example-ai's newest message id (None for an empty conversation).
        rows: A whole read: the conversation's canonical ``messages`` rows, before the privacy policy.
        error: Why it could not be read (it is then neither complete nor incomplete).
        readable: The most messages the API returns of one conversation (Intercom: the opening message
            and 500 parts); a longer one is capped, never complete. None: no cap.
    """

    bot_id: str | None = None
    owner: str | None = None
    user_messages: int | None = None
    items: int | None = None
    newest_id: str | None = None
    rows: list[dict[str, Any]] | None = None
    error: str | None = None
    readable: int | None = None

    @property
    def capped(self) -> bool:
        """Whether the provider holds more messages than its API returns."""
        return self.readable is not None and self.items is not None and self.items > self.readable


@dataclass
class Census:
    """One provider's side of an audit.

    Attributes:
        provider: Provider key.
        held: The conversations that exist, by id.
        gone: Conversations asked for that answered the provider's documented not-found.
        complete_listing: ``held`` names every conversation the provider has (a full listing), so
            a loaded conversation absent from it is deleted.
        chosen: The conversations read whole (``--full``), in the order read.
    """

    provider: str
    held: dict[str, Held] = field(default_factory=dict)
    gone: set[str] = field(default_factory=set)
    complete_listing: bool = False
    chosen: list[str] = field(default_factory=list)


def read_configured(
    found: Census,
    http: ProviderHttp,
    asked: list[str],
    read: Callable[[str], Held],
    max_workers: int,
    bot_id: str | None = None,
) -> None:
    """Reads each configured conversation asked for (concurrently) into ``found``.

    A 404 puts it in ``gone``, unless every one answers 404, which is a wrong URL as in a run
    (``NotFoundTally``); any other error makes it unreadable.

    Raises:
        WrongEndpointError: Every conversation asked for answered 404.
    """
    tally = NotFoundTally(http, "conversation")
    for cid, outcome in fan_out(asked, read, max_workers, tolerate=CONVERSATION_ERRORS):
        if isinstance(outcome, NotFoundError):
            tally.add(cid, outcome)
        elif isinstance(outcome, ProviderError):
            found.held[cid] = Held(bot_id, error=cause_of(outcome))
        else:
            found.held[cid] = outcome
    found.gone = set(tally.settle(len(asked)))
