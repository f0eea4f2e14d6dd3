"""Runs providers into one dlt pipeline, one load per provider, and reports each outcome."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import dlt
from dlt.common.configuration.exceptions import ConfigFieldMissingException
from dlt.pipeline.exceptions import PipelineStepFailed

from sources.common.errors import ChatsyncError, ConfigurationError
from sources.common.observer import RunObserver

from .analytics import refresh_views
from .destinations import loader_file_format, make_destination
from .registry import PROVIDERS, secret_values

PIPELINE_NAME = "chat_history"
DATASET_NAME = "chat_history"


@dataclass(frozen=True)
class Target:
    """Where a run loads to."""

    destination: str = "duckdb"
    dataset: str = DATASET_NAME
    pipeline_name: str = PIPELINE_NAME
    pipelines_dir: str | None = None
    duckdb_path: str | None = None


@dataclass
class ProviderOutcome:
    """How one provider's load went."""

    provider: str
    observer: RunObserver
    error: str | None = None
    seconds: float = 0.0
    loaded_rows: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """Whether the provider loaded without error."""
        return self.error is None


def build_pipeline(target: Target) -> dlt.Pipeline:
    """The one pipeline every provider loads through.

    Args:
        target: Destination, dataset and pipeline location.

    Returns:
        The dlt pipeline.
    """
    return dlt.pipeline(
        pipeline_name=target.pipeline_name,
        destination=make_destination(target.destination, target.duckdb_path),
        dataset_name=target.dataset,
        pipelines_dir=target.pipelines_dir,  # type: ignore[arg-type]  # None means dlt's default
    )


def sync(
    pipeline: dlt.Pipeline,
    providers: Iterable[str],
    target: Target,
    backfill: tuple[date, date | None] | None = None,
    on_start: Callable[[RunObserver], None] | None = None,
) -> list[ProviderOutcome]:
    """Loads each provider in turn; one provider's failure does not stop the others.

    Args:
        pipeline: From ``build_pipeline``.
        providers: Provider keys.
        target: For the loader file format.
        backfill: ``(since, until)`` to re-read a window without moving cursors.
        on_start: Called with each provider's observer before it runs (progress display).

    Returns:
        One outcome per provider.
    """
    outcomes = []
    for provider in providers:
        observer = RunObserver(provider)
        if on_start:
            on_start(observer)
        outcomes.append(_run_one(pipeline, provider, observer, target, backfill))
    return outcomes


def _run_one(
    pipeline: dlt.Pipeline,
    provider: str,
    observer: RunObserver,
    target: Target,
    backfill: tuple[date, date | None] | None,
) -> ProviderOutcome:
    outcome = ProviderOutcome(provider, observer)
    started = time.monotonic()
    try:
        source = _make_source(provider, observer, backfill)
        pipeline.run(source, loader_file_format=loader_file_format(target.destination))  # type: ignore[arg-type]
        outcome.loaded_rows = _loaded_rows(pipeline)
        if observer.failures:  # the rest loaded; still a failed run for cron and the exit status
            outcome.error = scrub(f"{provider}: " + "; ".join(observer.failures))
    except Exception as exc:
        outcome.error = describe_failure(provider, exc)
    outcome.seconds = time.monotonic() - started
    return outcome


def _make_source(provider: str, observer: RunObserver, backfill: tuple[date, date | None] | None) -> Any:
    if provider not in PROVIDERS:
        raise ConfigurationError(f"unknown provider {provider!r}; known: {', '.join(PROVIDERS)}")
    kwargs: dict[str, Any] = {"observer": observer}
    if backfill is not None:
        since, until = backfill
        kwargs["backfill_since"] = since.isoformat()
        kwargs["backfill_until"] = until.isoformat() if until else None
    return PROVIDERS[provider](**kwargs)


def _loaded_rows(pipeline: dlt.Pipeline) -> dict[str, int]:
    trace = pipeline.last_trace
    info = trace.last_normalize_info if trace else None
    if info is None:
        return {}
    return {table: count for table, count in info.row_counts.items() if not table.startswith("_dlt")}


def describe_failure(provider: str, exc: BaseException) -> str:
    """One line naming the cause, with every configured secret scrubbed out.

    Args:
        provider: The provider that failed.
        exc: What was raised (often dlt's ``PipelineStepFailed`` wrapping the real cause).

    Returns:
        A single line.
    """
    cause = _root_cause(exc)
    if isinstance(cause, ChatsyncError):
        text = str(cause)
        text = text if text.startswith(f"{provider}:") else f"{provider}: {text}"
    elif isinstance(cause, ConfigFieldMissingException):
        fields = ", ".join(cause.fields)
        text = f"{provider}: missing configuration {fields} (see .dlt/example.secrets.toml)"
    elif isinstance(exc, PipelineStepFailed):
        text = f"{provider}: {exc.step} step failed: {type(cause).__name__}: {cause}"
    else:
        text = f"{provider}: {type(cause).__name__}: {cause}"
    return scrub(text.splitlines()[0] if text else provider)


def _root_cause(exc: BaseException) -> BaseException:
    seen: set[int] = set()
    current: BaseException = exc
    while id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, ChatsyncError | ConfigFieldMissingException):
            return current
        nested = current.__cause__ or current.__context__
        if nested is None:
            return current
        current = nested
    return current


def scrub(text: str) -> str:
    """Replaces every configured secret in ``text`` with ``***``."""
    for secret in secret_values():
        if len(secret) >= 4:
            text = text.replace(secret, "***")
    return text


def refresh_analytics(pipeline: dlt.Pipeline) -> str | None:
    """Refreshes the analytics views after a load.

    Args:
        pipeline: The pipeline that just loaded.

    Returns:
        None on success, else one line naming the failure.
    """
    try:
        refresh_views(pipeline)
    except Exception as exc:
        return scrub(f"analytics views: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}")
    return None
