"""Per-conversation isolation: a bad conversation is skipped, recorded, and retried next run.

A conversation whose payload is broken, or that still fails after every retry, must not hold back
the healthy ones. It is skipped: its cursor stays where it was, the run names it in an ``error:``
line and exits 3 ("partial"), and it is recorded in ``sync_errors`` (one row per provider and
conversation, with first and last time seen and a count) so persistent failures can be queried.
When it later loads, its row gets ``resolved_at``.

If most conversations fail because the provider is down, the run stops asking (``Breaker``).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

from .errors import (
    AccessDeniedError,
    MalformedResponseError,
    NotFoundError,
    ProviderError,
    ProviderUnavailableError,
    RequestRejectedError,
)
from .http import ProviderHttp
from .ledger import Ledger
from .observer import RunObserver
from .rows import TableRows
from .tables import SYNC_ERRORS
from .wording import counted

# Errors that concern one conversation; a CredentialsError concerns every one and fails the provider.
CONVERSATION_ERRORS: Final = (
    NotFoundError,
    MalformedResponseError,
    ProviderUnavailableError,
    RequestRejectedError,
    AccessDeniedError,
)


def cause_of(error: ProviderError) -> str:
    """The error's text without the ``provider:`` prefix."""
    return str(error).removeprefix(f"{error.provider}: ")


class SyncErrors:
    """The ``sync_errors`` rows of one provider run.

    Args:
        provider: Provider key.
        observer: Receives a ``skip`` for every failed conversation.
        ledger: Reads the unresolved rows left by earlier runs.
    """

    def __init__(self, provider: str, observer: RunObserver, ledger: Ledger) -> None:
        self.provider = provider
        self._observer = observer
        self._open = ledger.open_sync_errors(provider)
        self._table_missing = ledger.missing(SYNC_ERRORS)  # made on the first run, so queries on it work
        self._rows: dict[str, dict[str, Any]] = {}
        self._unreachable: dict[str, bool] = {}
        self._now = datetime.now(UTC)
        self._lock = threading.Lock()

    @property
    def unresolved(self) -> set[str]:
        """Conversations that failed in an earlier run and have not loaded since."""
        return set(self._open)

    def failed(self, bot_id: str | None, conversation_id: str, error: ProviderError | str) -> None:
        """Records one skipped conversation; reported by ``finish``."""
        cause = error if isinstance(error, str) else cause_of(error)
        first_seen, count = self._open.get(conversation_id, (self._now, 0))
        with self._lock:
            self._unreachable[conversation_id] = isinstance(error, ProviderUnavailableError)
            self._rows[conversation_id] = {
                "provider": self.provider,
                "bot_id": bot_id,
                "conversation_id": conversation_id,
                "error": cause,
                "first_seen": first_seen,
                "last_seen": self._now,
                "failure_count": count + 1,
                "resolved_at": None,
            }

    def loaded(self, bot_id: str | None, conversation_id: str) -> None:
        """Marks a conversation that failed before as resolved, now that it loaded."""
        if conversation_id not in self._open:
            return
        first_seen, count = self._open[conversation_id]
        with self._lock:
            self._rows[conversation_id] = {
                "provider": self.provider,
                "bot_id": bot_id,
                "conversation_id": conversation_id,
                "error": "resolved",
                "first_seen": first_seen,
                "last_seen": first_seen,
                "failure_count": count,
                "resolved_at": self._now,
            }

    def finish(self, breaker: Breaker) -> TableRows:
        """Reports the skipped conversations and returns the rows to merge into ``sync_errors``.

        When the provider was down (``breaker.down``), that is one provider failure, not one
        skipped conversation per id: the unreachable ones are neither reported nor recorded.

        Args:
            breaker: The run's breaker.

        Returns:
            The rows; yield them after the conversations' rows.
        """
        with self._lock:
            rows = dict(self._rows)
        if breaker.down:
            self._observer.fail(breaker.describe())
            rows = {cid: row for cid, row in rows.items() if not self._unreachable.get(cid)}
        for cid, row in rows.items():
            if row["resolved_at"] is None:
                label = f"bot {row['bot_id']}, conversation {cid}" if row["bot_id"] else f"conversation {cid}"
                self._observer.skip(label, row["error"])
        return TableRows(SYNC_ERRORS, list(rows.values()), create_empty=self._table_missing)


@dataclass
class Breaker:
    """Trips when the provider looks down: most conversations unreachable after every retry.

    Args:
        min_attempts: Conversations to see before judging.
        max_failure_ratio: Share of unreachable conversations that trips it.
    """

    min_attempts: int = 10
    max_failure_ratio: float = 0.5
    attempts: int = 0
    failures: int = 0
    last_cause: str = ""
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def record(self, outcome: object) -> None:
        """Counts one conversation's outcome (a result, or the error it ended with)."""
        with self._lock:
            self.attempts += 1
            if isinstance(outcome, ProviderUnavailableError):
                self.failures += 1
                self.last_cause = cause_of(outcome)

    @property
    def tripped(self) -> bool:
        """Whether to stop asking."""
        return self.attempts >= self.min_attempts and self.failures > self.max_failure_ratio * self.attempts

    @property
    def down(self) -> bool:
        """Whether the provider, not some conversations, failed: tripped, or nothing reachable."""
        return self.tripped or (self.attempts > 0 and self.failures == self.attempts)

    def describe(self) -> str:
        """Why the provider counts as down, for its ``error:`` line."""
        if self.tripped:
            return (
                f"stopped early: {self.failures} of {self.attempts} conversations unreachable "
                f"(last: {self.last_cause}); the provider looks down"
            )
        return f"{self.last_cause} (all {counted(self.attempts, 'conversation')})"


class NotFoundTally:
    """The configured items (conversations, bots) that answered 404 in one run.

    Some missing is a per-item outcome (deleted at the provider, or a typo in the list). All of
    them missing is what a wrong base URL looks like, so that fails the provider instead, and no
    item is reported as missing.

    Args:
        http: The provider's client (for the base URL and the error).
        what: The kind of item, e.g. ``conversation``.
    """

    def __init__(self, http: ProviderHttp, what: str) -> None:
        self._http = http
        self.what = what
        self.missing: dict[str, NotFoundError] = {}

    def add(self, item_id: str, error: NotFoundError) -> None:
        """Records one item that answered 404."""
        self.missing[item_id] = error

    def settle(self, total: int) -> list[str]:
        """The missing items, in order; raises when every one of ``total`` configured items is.

        Raises:
            WrongEndpointError: All of them answered 404.
        """
        if total and len(self.missing) >= total:
            url = next(iter(self.missing.values())).url
            every = f"every configured {self.what} ({total})" if total > 1 else f"the one configured {self.what}"
            raise self._http.wrong_endpoint(url, f"{every} answered HTTP 404")
        return list(self.missing)
