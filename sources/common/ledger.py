"""What the warehouse already holds, as the sources ask for it while extracting.

The sources do not read the warehouse: whoever runs them hands them a ``LedgerFactory`` (the engine
gives ``pipelines.warehouse.ledger.WarehouseLedger``, which reads the pipeline's destination). A
source run without one (``EmptyLedger``) sees an empty warehouse: it reads everything, and the merge
keeps one copy of each row.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol


class Ledger(Protocol):
    """Facts about what the warehouse holds, one connection for a whole extract (a context manager)."""

    def __enter__(self) -> Ledger: ...

    def __exit__(self, *exc: object) -> None: ...

    def missing(self, table: str) -> bool:
        """Whether a query found ``table`` absent from the warehouse."""
        ...

    def message_counts(self, provider: str, bot_id: str) -> dict[str, int | None]:
        """``reported_message_count`` of every loaded conversation of one bot."""
        ...

    def conversation_flags(self, provider: str, bot_id: str | None = None) -> dict[str, bool]:
        """Every loaded conversation of a provider (or of one bot), and whether it is marked deleted."""
        ...

    def bot_names(self, provider: str) -> dict[str, str]:
        """The name each bot of a provider was last loaded with."""
        ...

    def message_ids(self, provider: str, conversation_id: str) -> set[str]:
        """The ``message_id`` of every loaded message of one conversation."""
        ...

    def open_sync_errors(self, provider: str) -> dict[str, tuple[Any, int]]:
        """Unresolved ``sync_errors`` of one provider: ``{conversation_id: (first_seen, count)}``."""
        ...

    def suppressions(self) -> dict[tuple[str, str], set[str]]:
        """Keyed hashes of erased conversations and users: ``{(provider, kind): {hash, …}}``."""
        ...


LedgerFactory = Callable[[], Ledger]


class EmptyLedger:
    """A warehouse that holds nothing yet: what a source sees when it is run without a ledger."""

    def __enter__(self) -> EmptyLedger:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def missing(self, table: str) -> bool:
        """Every table is absent."""
        return True

    def message_counts(self, provider: str, bot_id: str) -> dict[str, int | None]:
        """None loaded."""
        return {}

    def conversation_flags(self, provider: str, bot_id: str | None = None) -> dict[str, bool]:
        """None loaded."""
        return {}

    def bot_names(self, provider: str) -> dict[str, str]:
        """None known."""
        return {}

    def message_ids(self, provider: str, conversation_id: str) -> set[str]:
        """None loaded."""
        return set()

    def open_sync_errors(self, provider: str) -> dict[str, tuple[Any, int]]:
        """None recorded."""
        return {}

    def suppressions(self) -> dict[tuple[str, str], set[str]]:
        """None recorded (the engine's ledger reads them from the warehouse)."""
        return {}
