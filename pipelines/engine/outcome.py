"""What a run did: each provider's outcome, and the run's report and exit status."""

from __future__ import annotations

from dataclasses import dataclass, field
from signal import SIGTERM
from typing import Any

from sources.common.observer import RunObserver

from .exit_codes import ExitCode


@dataclass
class ProviderOutcome:
    """How one provider's load went."""

    provider: str
    observer: RunObserver
    error: str | None = None
    seconds: float = 0.0
    loaded_rows: dict[str, int] = field(default_factory=dict)
    new_rows: dict[str, int] = field(default_factory=dict)  # rows the warehouse did not hold before
    recovered_rows: dict[str, int] = field(default_factory=dict)
    interrupted: bool = False
    started: bool = True
    config_error: bool = False  # the provider's settings are missing or wrong: exit 2

    @property
    def ok(self) -> bool:
        """Whether the provider loaded without error (skipped conversations aside)."""
        return self.error is None and not self.interrupted and self.started

    @property
    def status(self) -> str:
        """``ok``, ``partial``, ``failed``, ``interrupted`` or ``not started``."""
        if not self.started:
            return "not started"
        if self.interrupted:
            return "interrupted"
        if self.error:
            return "failed"
        return "partial" if self.observer.skipped else "ok"


@dataclass
class RunReport:
    """Everything one ``run`` or ``backfill`` did."""

    outcomes: list[ProviderOutcome] = field(default_factory=list)
    repairs: str | None = None
    signal: int | None = None
    views_error: str | None = None
    setup_error: str | None = None  # the warehouse or dlt's working folders failed before any provider
    insights: str | None = None  # what the insights refresh did, one line
    insights_error: str | None = None  # why it failed: a warning, never the run's exit status
    insights_seconds: float = 0.0

    def to_json(self) -> dict[str, Any]:
        """Each provider's outcome, for ``chatsync status`` and the JSON log."""
        return {
            o.provider: {
                "status": o.status,
                "error": o.error,
                "skipped": list(o.observer.skipped),
                "requests": o.observer.requests,
                "rows_loaded": o.loaded_rows,
                "rows_new": o.new_rows,
                "seconds": round(o.seconds, 3),
            }
            for o in self.outcomes
            if o.started
        }

    def exit_code(self) -> ExitCode:
        """The documented exit status of this run."""
        if self.signal is not None:
            return ExitCode.SIGTERM if self.signal == SIGTERM else ExitCode.SIGINT
        if any(o.config_error for o in self.outcomes):
            return ExitCode.USAGE
        if self.setup_error or self.views_error or any(o.error for o in self.outcomes):
            return ExitCode.FAILED
        if any(o.observer.skipped for o in self.outcomes):
            return ExitCode.PARTIAL
        return ExitCode.OK
