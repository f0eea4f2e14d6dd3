"""What the engine hands a provider's source beside the provider's own settings: one ``run_with``."""

from __future__ import annotations

from dataclasses import dataclass

from .batching import Extraction
from .ledger import EmptyLedger, LedgerFactory
from .observer import RunObserver
from .privacy import PrivacyPolicy, policy_for
from .timeutil import Window


@dataclass(frozen=True)
class SourceRun:
    """How a provider's source is run: what ``chatsync run``, ``backfill`` and ``audit --repair`` give it.

    Args:
        observer: Receives progress, warnings and shape counters (a new one when None).
        privacy: The personal-data policy; by default the one configured under ``[chatsync.privacy]``.
        ledger: What the warehouse holds (the engine's ``WarehouseLedger``); without it the source
            extracts as into an empty warehouse, and the merge keeps one copy of each row.
        backfill_since: With ``backfill_until``, re-read only this window, cursors untouched (ISO-8601).
        backfill_until: End (exclusive) of the backfill window; open when omitted.
        repair: Re-read only these conversations, whole, as a backfill does (cursors untouched), and
            write what the warehouse lacks: ``chatsync audit --repair``.
    """

    observer: RunObserver | None = None
    privacy: PrivacyPolicy | None = None
    ledger: LedgerFactory = EmptyLedger
    backfill_since: str | None = None
    backfill_until: str | None = None
    repair: tuple[str, ...] = ()

    def started(self, provider: str) -> StartedRun:
        """This run made concrete for one provider: its observer, window, repairs and extraction."""
        observer = self.observer if self.observer is not None else RunObserver(provider)
        window = Window() if self.repair else Window.between(self.backfill_since, self.backfill_until)
        policy = policy_for(provider, self.privacy, observer.count)
        return StartedRun(observer, window, frozenset(self.repair), Extraction(policy, self.ledger))


@dataclass(frozen=True)
class StartedRun:
    """A ``SourceRun`` as a source uses it.

    Args:
        observer: The run's observer.
        window: The backfill (or the whole history, for a repair); None for an incremental run.
        repair: The conversations a repair re-reads (empty otherwise).
        extraction: The privacy policy and ledger its resource runs with.
    """

    observer: RunObserver
    window: Window | None
    repair: frozenset[str]
    extraction: Extraction
