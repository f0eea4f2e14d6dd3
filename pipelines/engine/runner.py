"""Runs providers into one dlt pipeline, one load per provider, and reports each outcome."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import dlt
from dlt.common.configuration.exceptions import ConfigFieldMissingException
from dlt.common.runtime import signals
from dlt.pipeline.exceptions import PipelineStepFailed

from sources.common.deletions import describe as describe_deletions
from sources.common.dlt_internals import run_trace
from sources.common.errors import ConfigurationError, StorageError
from sources.common.observer import RunObserver
from sources.common.privacy import PrivacyPolicy, configured_key
from sources.common.secrets import register, scrub
from sources.common.settings import where_to_set
from sources.common.source_run import SourceRun

from ..insights.settings import InsightsSettings
from ..warehouse.analytics import refresh_views
from ..warehouse.deletions import apply_deletions, delete_policy
from ..warehouse.ledger import WarehouseLedger
from ..warehouse.queries import row_counts
from ..warehouse.starts import fill_missing_starts
from ..warehouse.suppressions import enforce as enforce_suppressions
from .destinations import loader_file_format
from .duckdb_open import kept_open
from .factory import build_pipeline, locked_pipeline
from .failures import describe_failure, root_cause
from .interrupts import received_signal, stop_on_signals
from .locking import RunLocked, schema_migration_lock
from .memory import fewer_collections, release_freed_memory
from .outcome import ProviderOutcome, RunReport
from .recovery import (
    deduplicate_resumed_packages,
    discard_foreign_state,
    rebuild_from_destination,
    repair_working_folders,
    rows_by_table,
)
from .registry import PROVIDERS, is_placeholder, register_configured_secrets
from .target import Target, describe_warehouse, insights_target
from .workspace import StatePaths, key_at, prune_loaded_packages


def execute(
    target: Target,
    providers: Iterable[str],
    backfill: tuple[date, date | None] | None = None,
    on_start: Callable[[RunObserver], None] | None = None,
    on_repair: Callable[[str], None] | None = None,
    source_options: Mapping[str, Mapping[str, Any]] | None = None,
    views: bool = True,
    insights: bool = True,
) -> RunReport:
    """A whole run under the lock: repair, finish pending packages, each provider, the views.

    SIGINT and SIGTERM are intercepted for the duration (dlt's own handler): extraction stops
    at the next request, normalize and load stop at their next safe point, no further provider
    starts, and the report carries the signal.

    Args:
        target: Where to load.
        providers: Provider keys, in order.
        backfill: ``(since, until)`` to re-read a window without moving cursors.
        on_start: Called with each provider's observer before it runs (progress display).
        on_repair: Called with the one-line description of a crash repair.
        source_options: Per provider, arguments for its source (a shard's ids).
        views: Refresh the analytics views after the loads (an orchestrator does it downstream).
        insights: Refresh insights after the loads, unless ``[insights] enabled = false``.

    Returns:
        The report; its ``exit_code`` is the command's exit status.

    Raises:
        RunLocked: Another run holds the lock.
    """
    report = RunReport()
    register_configured_secrets()  # before anything can print or write one (main does too)
    target = target.resolved()  # once: the lock, the key, the suppressions and the state all follow from it
    paths = target.paths
    with stop_on_signals(), fewer_collections():
        try:
            with locked_pipeline(target) as pipeline:
                prepared = prepare_pipeline(pipeline, target, paths, on_repair, report)
                plan = RunPlan(list(providers), backfill, dict(source_options or {}), views, insights)
                load_all(pipeline, plan, target, on_start, prepared, report)
        except (RunLocked, ConfigurationError, StorageError):
            raise
        except (Exception, KeyboardInterrupt) as exc:
            if not signals.was_signal_received():
                if isinstance(exc, KeyboardInterrupt):
                    raise
                report.setup_error = describe_failure("warehouse", exc, paths.locks)  # e.g. the database is down
        finally:
            if signals.was_signal_received():
                report.signal = received_signal()
    return report


@dataclass(frozen=True)
class Prepared:
    """What setting a pipeline up yields for the loads that follow.

    Args:
        hash_key: The key that hashes personal data.
        recovered: Rows per table and provider that pending packages of an interrupted run loaded.
    """

    hash_key: bytes
    recovered: dict[str, Counter[str]]


def prepare_pipeline(
    pipeline: dlt.Pipeline,
    target: Target,
    paths: StatePaths,
    on_repair: Callable[[str], None] | None,
    report: RunReport,
) -> Prepared:
    """Repairs, restores state, finishes pending packages; returns the hashing key and recovered rows.

    Outside the run's trace: a repair may re-create the pipeline (``drop``), which ends any trace.
    """
    repairs = repair_working_folders(pipeline)
    if repairs:
        report.repairs = repairs.describe()
        if on_repair:
            on_repair(report.repairs)
    key = hashing_key(paths, on_repair)
    pipeline.sync_destination()
    recovered = _finish_pending_or_rebuild(pipeline, on_repair, report)
    if discard_foreign_state(pipeline) and on_repair:
        on_repair(
            f"the local state of pipeline {pipeline.pipeline_name!r} was ahead of what {describe_warehouse(target)} "
            "committed (another warehouse, or a dropped dataset): it now follows the warehouse's own state, "
            "and what the warehouse lacks is read again"
        )
    enforced = enforce_suppressions(pipeline, paths.suppressions_file, key).describe()
    if enforced and on_repair:
        on_repair(enforced)
    return Prepared(key, recovered)


def _finish_pending_or_rebuild(
    pipeline: dlt.Pipeline, on_repair: Callable[[str], None] | None, report: RunReport
) -> dict[str, Counter[str]]:
    try:
        return finish_pending(pipeline)
    except PipelineStepFailed as exc:
        if exc.step != "normalize" or signals.was_signal_received():
            raise
        # the same data would fail the same way on every run: drop it, rewind, extract again
        rebuild_from_destination(pipeline)
        report.repairs = f"dropped pending packages that cannot be normalized ({describe_failure('dlt', exc)})"
        if on_repair:
            on_repair(report.repairs)
        return {}


def hashing_key(paths: StatePaths, on_notice: Callable[[str], None] | None) -> bytes:
    """The key that hashes personal data (configured, else kept beside the state), registered as a secret.

    Args:
        paths: The state's paths (``Target.paths``), whose key file holds a generated key.
        on_notice: Told once, where a key was just generated (it must be backed up).

    Returns:
        The key.
    """
    key, notice = key_at(paths.key_file, configured_key())
    register(key.decode())
    if notice and on_notice:
        on_notice(notice)
    return key


@dataclass(frozen=True)
class RunPlan:
    """What one run loads: providers in order, a backfill window, per-provider source arguments."""

    providers: list[str]
    backfill: tuple[date, date | None] | None = None
    source_options: dict[str, Mapping[str, Any]] = field(default_factory=dict)
    views: bool = True
    insights: bool = True


@run_trace(send_state=True)
def load_all(
    pipeline: dlt.Pipeline,
    plan: RunPlan,
    target: Target,
    on_start: Callable[[RunObserver], None] | None,
    prepared: Prepared,
    report: RunReport,
) -> None:
    """Every provider, then the views and insights, as one dlt trace: ``dlt pipeline … trace`` shows all."""
    recovered = dict(prepared.recovered)
    report.outcomes = load_providers(
        pipeline, plan.providers, target, plan.backfill, on_start, prepared.hash_key, plan.source_options
    )
    for outcome in report.outcomes:
        outcome.recovered_rows = dict(recovered.pop(outcome.provider, {}))
    for provider, rows in recovered.items():  # a provider this run did not ask for
        report.outcomes.append(
            ProviderOutcome(provider, RunObserver(provider), recovered_rows=dict(rows), started=False)
        )
    if plan.views and any(o.ok for o in report.outcomes) and not signals.was_signal_received():
        report.views_error = refresh_analytics(pipeline)
    loaded = any(o.ok and any(o.loaded_rows.values()) for o in report.outcomes)
    if plan.insights and loaded and not signals.was_signal_received():
        refresh_insights_after_load(pipeline, target, report)  # its own extract and load, in the run's trace


def finish_pending(pipeline: dlt.Pipeline) -> dict[str, Counter[str]]:
    """Normalizes and loads what an interrupted run left, before any provider extracts again.

    Left to ``pipeline.run``, pending packages would be loaded *instead of* extracting the next
    provider, silently. Here they are finished first and their rows attributed to the provider
    (dlt schema) each package belongs to.

    Args:
        pipeline: The pipeline, repaired.

    Returns:
        Rows per table of the recovered packages, per provider.
    """
    recovered: dict[str, Counter[str]] = {}
    extracted = list(pipeline.list_extracted_load_packages())
    if not extracted and not pipeline.list_normalized_load_packages():
        return recovered
    schema_of = {load_id: pipeline.get_load_package_info(load_id).schema_name for load_id in extracted}
    if extracted:
        info = pipeline.normalize()
        for load_id, metrics in (info.metrics if info else {}).items():
            rows = recovered.setdefault(schema_of.get(load_id, "unknown"), Counter())
            for metric in metrics:
                for table, table_metrics in metric["table_metrics"].items():
                    if not table.startswith("_dlt"):
                        rows[table] += table_metrics.items_count
    for load_id in pipeline.list_normalized_load_packages():
        package = pipeline.get_load_package_info(load_id)
        if load_id not in schema_of:
            rows = recovered.setdefault(package.schema_name, Counter())
            rows.update(rows_by_table(package.jobs.get("new_jobs", [])))
    deduplicate_resumed_packages(pipeline.working_dir)
    pipeline.load()
    prune_loaded_packages(pipeline.working_dir)
    return {provider: rows for provider, rows in recovered.items() if provider in PROVIDERS}


def load_providers(
    pipeline: dlt.Pipeline,
    providers: Iterable[str],
    target: Target,
    backfill: tuple[date, date | None] | None = None,
    on_start: Callable[[RunObserver], None] | None = None,
    hash_key: bytes | None = None,
    source_options: Mapping[str, Mapping[str, Any]] | None = None,
) -> list[ProviderOutcome]:
    """Loads each provider in turn; one provider's failure does not stop the others.

    Stops before the next provider once SIGINT or SIGTERM was received.

    Args:
        pipeline: From ``build_pipeline`` (or ``locked_pipeline``).
        providers: Provider keys.
        target: For the loader file format.
        backfill: ``(since, until)`` to re-read a window without moving cursors.
        on_start: Called with each provider's observer before it runs (progress display).
        hash_key: The key that hashes personal data (the configured one when None).
        source_options: Per provider, arguments for its source (a shard's ids).

    Returns:
        One outcome per provider.
    """
    outcomes = []
    for provider in providers:
        observer = RunObserver(provider)
        if signals.was_signal_received():
            outcomes.append(ProviderOutcome(provider, observer, started=False))
            continue
        if on_start:
            on_start(observer)
        options = (source_options or {}).get(provider, {})
        outcomes.append(load_provider(pipeline, provider, observer, target, backfill, hash_key, options))
    return outcomes


def load_provider(
    pipeline: dlt.Pipeline,
    provider: str,
    observer: RunObserver,
    target: Target,
    backfill: tuple[date, date | None] | None,
    hash_key: bytes | None,
    options: Mapping[str, Any],
) -> ProviderOutcome:
    """One provider's extract, normalize and load, its deletions and its outcome; never raises but on Ctrl-C."""
    outcome = ProviderOutcome(provider, observer)
    started = time.monotonic()
    try:
        source = _make_source(provider, observer, backfill, hash_key, options)
        policy = delete_policy()
        outcome.loaded_rows, before = _extract_normalize_load(pipeline, source, target, observer)
        apply_deletions(pipeline, provider, observer.deletions, policy)
        fill_missing_starts(pipeline, provider)
        for line in describe_deletions(provider, observer.deletions, where_to_set(provider, "conversation_ids")):
            observer.note(line)
        after = row_counts(pipeline) if before is not None else {}
        outcome.new_rows = {
            t: after.get((provider, t), 0) - (before or {}).get((provider, t), 0) for t in outcome.loaded_rows
        }
        if observer.failures:  # the rest loaded; still a failed run for cron and the exit status
            outcome.error = scrub(f"{provider}: " + "; ".join(observer.failures))
    except (Exception, KeyboardInterrupt) as exc:
        if signals.was_signal_received():
            outcome.interrupted = True
        elif isinstance(exc, KeyboardInterrupt):
            raise
        else:
            outcome.error = describe_failure(provider, exc, pipeline.pipelines_dir)
            outcome.config_error = isinstance(root_cause(exc), ConfigurationError | ConfigFieldMissingException)
    outcome.seconds = time.monotonic() - started
    return outcome


BIG_EXTRACT_ROWS = 20_000  # below this, returning freed memory to the OS costs more than it saves


def _extract_normalize_load(
    pipeline: dlt.Pipeline, source: Any, target: Target, observer: RunObserver
) -> tuple[dict[str, int], dict[tuple[str, str], int] | None]:
    """One provider's load, step by step, so that nothing pending can replace its extract.

    Returns:
        Rows loaded per table, and the warehouse's row counts just before the load (None when
        nothing was loaded: a run with nothing new skips counting what is new).
    """
    extracted = pipeline.extract(source, loader_file_format=loader_file_format(target.destination))  # type: ignore[arg-type]
    big = sum(observer.rows.values()) >= BIG_EXTRACT_ROWS
    if big:
        release_freed_memory()
    try:
        info = pipeline.normalize()
    except PipelineStepFailed:
        if not signals.was_signal_received():
            # a package that cannot be normalized would block every later run: drop it and
            # rewind the state it carries, so its data is extracted again next time
            for load_id in extracted.loads_ids:
                if load_id in pipeline.list_extracted_load_packages():
                    pipeline.abort_packages(load_id=load_id)
        raise
    if big:
        release_freed_memory()
    counts = info.row_counts if info else {}
    loaded = {table: count for table, count in counts.items() if not table.startswith("_dlt")}
    before = row_counts(pipeline) if any(loaded.values()) else None
    if target.destination != "duckdb":  # parallel shards: table changes take turns
        with schema_migration_lock(pipeline):
            pipeline.sync_schema()
    with kept_open(pipeline) if any(loaded.values()) else nullcontext():  # else only state: one job
        pipeline.load()
    prune_loaded_packages(pipeline.working_dir)
    return loaded, before


def _make_source(
    provider: str,
    observer: RunObserver,
    backfill: tuple[date, date | None] | None,
    hash_key: bytes | None,
    options: Mapping[str, Any],
) -> Any:
    """The provider's source, run with the engine's observer, privacy policy, warehouse ledger and window.

    ``options`` are the source's own arguments (a shard's ids), but ``repair``: the conversations an
    audit re-reads whole.
    """
    if provider not in PROVIDERS:
        raise ConfigurationError(f"unknown provider {provider!r}; known: {', '.join(PROVIDERS)}")
    if is_placeholder(dlt.secrets.get(f"sources.{provider}.api_key")):
        raise ConfigurationError(
            f"{provider}: api_key is missing or still the example placeholder; "
            f"set {where_to_set(provider, 'api_key', secret=True)}"
        )
    arguments = dict(options)
    since, until = backfill or (None, None)
    run_with = SourceRun(
        observer=observer,
        privacy=PrivacyPolicy.from_config(provider, hash_key or configured_key(), observer.count),
        ledger=WarehouseLedger,
        backfill_since=since.isoformat() if since else None,
        backfill_until=until.isoformat() if until else None,
        repair=tuple(arguments.pop(REPAIR, ())),
    )
    return PROVIDERS[provider](**arguments, run_with=run_with)


REPAIR = "repair"  # the source option naming the conversations ``chatsync audit --repair`` re-reads


def refresh_insights_after_load(pipeline: dlt.Pipeline, target: Target, report: RunReport) -> None:
    """The run's insights step: recompute what the loads changed; a failure is a warning in ``report``.

    The loads are committed before this starts, so nothing here can lose them. scikit-learn and the
    models are imported only now, and not at all with ``[insights] enabled = false``.
    """
    started = time.monotonic()
    try:
        settings = InsightsSettings.from_config()
        if not settings.enabled:
            return
        from ..insights.refresh import refresh_insights  # heavy: only when insights run

        pipeline = build_pipeline(insights_target(target))  # under this run's lock: its own small state
        summary = refresh_insights(pipeline, settings, file_format=loader_file_format(target.destination))
        report.insights = summary.describe()
    except Exception as exc:
        kept = "; the loaded data is kept (chatsync insights retries)"
        report.insights_error = describe_failure("insights", exc) + kept
        pipeline.abort_packages()  # a half-made insights package must not block the next run
    finally:
        report.insights_seconds = time.monotonic() - started


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
