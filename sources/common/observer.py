"""How a source tells the CLI what it is doing: progress, warnings and counters."""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, field

from .deletions import Deletions


@dataclass
class RunObserver:
    """Collects progress and problems of one provider's run; the CLI renders it.

    Thread-safe, because fan-out workers report concurrently.
    """

    provider: str
    requests: int = 0
    rows: Counter[str] = field(default_factory=Counter)
    warnings: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    counters: Counter[str] = field(default_factory=Counter)
    notes: list[str] = field(default_factory=list)
    deletions: Deletions = field(default_factory=Deletions)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def on_request(self) -> None:
        """One HTTP response received (retries included)."""
        with self._lock:
            self.requests += 1

    def on_rows(self, table: str, count: int) -> None:
        """Rows handed to dlt for ``table``."""
        with self._lock:
            self.rows[table] += count

    def warn(self, message: str) -> None:
        """A problem that did not stop the run, e.g. one conversation not found."""
        with self._lock:
            self.warnings.append(message)

    def note(self, message: str) -> None:
        """Something an operator should know that is not a problem, e.g. conversations deleted at the provider."""
        with self._lock:
            self.notes.append(message)

    def count(self, name: str, amount: int = 1) -> None:
        """A named counter shown in the summary, e.g. unrecognised message shapes."""
        if not amount:
            return
        with self._lock:
            self.counters[name] += amount

    def skip(self, what: str, cause: str) -> None:
        """One conversation was skipped (bad payload, or failing after every retry); exit status 3.

        Args:
            what: The conversation, e.g. ``conversation con_1`` or ``bot b, session s``.
            cause: Why, one line.
        """
        with self._lock:
            self.skipped.append(f"{what} skipped: {cause}")

    def fail(self, message: str) -> None:
        """A part of the run failed (e.g. one bot forbidden) while the rest loaded; exit status 1."""
        with self._lock:
            self.failures.append(message)
