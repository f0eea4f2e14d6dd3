"""``[chatsync.orchestration]``: where the shards load, the schedule, retries and the pool."""

# No ``from __future__ import annotations``: Dagster reads the context and resource annotations.
from dataclasses import dataclass
from datetime import date
from typing import Any

from dagster import (
    Backoff,
    Jitter,
    RetryPolicy,
)

from sources.common.errors import ConfigurationError

from ...engine.target import Target
from ..shards import (
    DEFAULT_AUDIT_SCHEDULE,
    DEFAULT_SCHEDULE,
    orchestration_schedule,
    orchestration_target,
    setting,
)
from .constants import DUCKDB_POOL


@dataclass(frozen=True)
class OrchestrationSettings:
    """``[chatsync.orchestration]``: where shards load, when, and how failures are retried."""

    target: Target
    schedule: str = DEFAULT_SCHEDULE
    schedule_running: bool = False  # Dagster users expect a new schedule to start stopped
    audit_schedule: str = DEFAULT_AUDIT_SCHEDULE
    backfill_start: str = "2025-01-01"
    retries: int = 3
    retry_delay_seconds: float = 60.0

    @classmethod
    def from_config(cls) -> "OrchestrationSettings":
        """The settings from dlt config (``.dlt/config.toml`` or ``CHATSYNC__ORCHESTRATION__…``).

        Raises:
            ConfigurationError: A setting cannot be used.
        """

        try:
            return cls(
                target=orchestration_target(),
                schedule=orchestration_schedule(),
                schedule_running=_as_bool(setting("schedule_running", cls.schedule_running)),
                audit_schedule=str(setting("audit_schedule", cls.audit_schedule)),
                backfill_start=date.fromisoformat(str(setting("backfill_start", cls.backfill_start))).isoformat(),
                retries=int(setting("retries", cls.retries)),
                retry_delay_seconds=float(setting("retry_delay_seconds", cls.retry_delay_seconds)),
            )
        except ValueError as exc:
            raise ConfigurationError(f"[chatsync.orchestration]: {exc}") from None

    @property
    def pool(self) -> str | None:
        """The concurrency pool that serialises writers, where the warehouse needs it (DuckDB)."""
        return DUCKDB_POOL if self.target.destination == "duckdb" else None

    def retry_policy(self) -> RetryPolicy:
        """Dagster retries a failed shard; a lock held by another run is the usual transient cause."""
        return RetryPolicy(
            max_retries=self.retries,
            delay=self.retry_delay_seconds,
            backoff=Backoff.EXPONENTIAL,
            jitter=Jitter.PLUS_MINUS,
        )


def _as_bool(value: Any) -> bool:
    return value if isinstance(value, bool) else str(value).strip().lower() in ("1", "true", "yes", "on")
