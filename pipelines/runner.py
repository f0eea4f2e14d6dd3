"""Runs providers into one dlt pipeline, one load per provider, and reports each outcome."""

from __future__ import annotations

import hashlib
import os
import re
import signal
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field, replace
from datetime import date
from enum import IntEnum
from pathlib import Path
from signal import SIGINT, SIGTERM
from typing import Any

import dlt
from dlt.common.configuration.exceptions import ConfigFieldMissingException
from dlt.common.runtime import signals
from dlt.pipeline.exceptions import PipelineStepFailed
from dlt.pipeline.pipeline import with_runtime_trace

from sources.common.errors import ChatsyncError, ConfigurationError, CredentialsError
from sources.common.observer import RunObserver
from sources.common.privacy import PrivacyPolicy, configured_key
from sources.common.secrets import register
from sources.common.secrets import scrub as scrub_secrets
from sources.common.settings import where_to_set

from .analytics import refresh_views
from .destinations import DEFAULT_DUCKDB_FILE, loader_file_format, make_destination, require_extra
from .locking import RunLocked, advisory_lock, file_lock, schema_migration_lock
from .recovery import (
    deduplicate_resumed_packages,
    discard_foreign_state,
    rebuild_from_destination,
    repair_working_folders,
    rows_by_table,
)
from .registry import PROVIDERS, is_placeholder, register_configured_secrets
from .suppressions import enforce as enforce_suppressions
from .warehouse import row_counts
from .workspace import (
    absolute_duckdb_path,
    configure_dlt_defaults,
    default_pipelines_dir,
    describe_os_error,
    lock_dir,
    make_private,
    pii_key,
    project_dir,
    prune_loaded_packages,
    release_freed_memory,
    stamp,
)

PIPELINE_NAME = "chat_history"
MAX_PIPELINE_NAME = 64
DATASET_NAME = "chat_history"


class ExitCode(IntEnum):
    """The exit status of every command; documented in the README."""

    OK = 0
    FAILED = 1  # a provider or bot failed (or the views): one ``error:`` line each
    USAGE = 2  # usage or configuration error
    PARTIAL = 3  # everything loaded except some conversations, each named in an ``error:`` line
    LOCKED = 75  # another run holds the pipeline's lock: nothing was done (EX_TEMPFAIL)
    SIGINT = 130
    SIGTERM = 143


def scoped_pipeline_name(base: str, destination: str, dataset: str) -> str:
    """The dlt pipeline (state, cursors, lock) of ``base`` loading one destination and dataset.

    dlt keeps one state per pipeline name: two warehouses loaded through one name would share
    cursors, and the second would silently miss what the first already loaded. Each (destination,
    dataset) pair therefore gets its own name; DuckDB's default dataset keeps the bare name, which
    is what installations made before this rule use.

    Args:
        base: ``chat_history``, or a shard's ``chat_history__<provider>__<shard>``.
        destination: ``duckdb``, ``postgres`` or ``bigquery``.
        dataset: The dataset (schema) loaded.

    Returns:
        ``base``, or ``<base>__<destination>__<dataset>`` (cut, with a hash, to 64 characters).
    """
    if destination == "duckdb" and dataset == DATASET_NAME:
        return base
    name = f"{base}__{destination}__{re.sub(r'[^a-z0-9_]', '_', dataset.lower())}"
    if len(name) <= MAX_PIPELINE_NAME:
        return name
    digest = hashlib.sha1(name.encode()).hexdigest()[:8]  # dlt's schema names stop at 64 characters
    return f"{name[: MAX_PIPELINE_NAME - 9]}_{digest}"


@dataclass(frozen=True)
class Target:
    """Where a run loads to. ``pipeline_name`` is the base name; ``state_name`` the dlt pipeline."""

    destination: str = "duckdb"
    dataset: str = DATASET_NAME
    pipeline_name: str = PIPELINE_NAME
    pipelines_dir: str | None = None
    duckdb_path: str | None = None
    staging_layout: str | None = None  # the merge staging dataset; default dlt's "<dataset>_staging"

    @property
    def state_name(self) -> str:
        """The dlt pipeline that holds this target's state: see ``scoped_pipeline_name``."""
        return scoped_pipeline_name(self.pipeline_name, self.destination, self.dataset)

    def resolved(self) -> Target:
        """This target with project-local defaults made explicit and paths made absolute."""
        duckdb_path = self.duckdb_path
        if self.destination == "duckdb":
            duckdb_path = absolute_duckdb_path(duckdb_path or configured_duckdb_path())
        return replace(self, pipelines_dir=default_pipelines_dir(self.pipelines_dir), duckdb_path=duckdb_path)


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


def configured_duckdb_path() -> str:
    """The DuckDB file from dlt config, else ``chatsync.duckdb`` in the working directory."""
    configured = dlt.secrets.get("destination.duckdb.credentials", str)
    return configured or DEFAULT_DUCKDB_FILE


def build_pipeline(target: Target) -> dlt.Pipeline:
    """The one pipeline every provider loads through.

    Args:
        target: Destination, dataset and pipeline location.

    Returns:
        The dlt pipeline.
    """
    target = target.resolved()
    require_extra(target.destination)
    if target.pipelines_dir:
        make_private(Path(target.pipelines_dir)).chmod(0o700)
    if target.duckdb_path and Path(target.duckdb_path).is_file():
        Path(target.duckdb_path).chmod(0o600)  # a file made before chatsync kept files private
    configure_dlt_defaults()
    return dlt.pipeline(
        pipeline_name=target.state_name,
        destination=make_destination(target.destination, target.duckdb_path, target.staging_layout),
        dataset_name=target.dataset,
        pipelines_dir=target.pipelines_dir,  # type: ignore[arg-type]  # None means dlt's default
    )


@contextmanager
def reading_pipeline(target: Target) -> Iterator[dlt.Pipeline | None]:
    """A pipeline that only reads the warehouse, and creates nothing in the project.

    DuckDB is opened read-only (a reader that holds the file writable would block the next run),
    and not at all when the file does not exist (None). dlt's working folder is a temporary one.

    Args:
        target: The warehouse to read.

    Yields:
        The pipeline, or None when there is no DuckDB file yet.
    """
    import tempfile

    from dlt.destinations.impl.duckdb.configuration import DuckDbCredentials

    target = target.resolved()
    require_extra(target.destination)
    if target.destination == "duckdb" and not Path(str(target.duckdb_path)).is_file():
        yield None
        return
    destination: Any = make_destination(target.destination, target.duckdb_path)
    if target.destination == "duckdb":
        credentials = DuckDbCredentials(str(target.duckdb_path))
        credentials.read_only = True
        destination = dlt.destinations.duckdb(credentials)
    with tempfile.TemporaryDirectory(prefix="chatsync-read-") as scratch:
        yield dlt.pipeline(
            pipeline_name=target.state_name, destination=destination, dataset_name=target.dataset, pipelines_dir=scratch
        )


@contextmanager
def locked_pipeline(target: Target) -> Iterator[dlt.Pipeline]:
    """The pipeline, held exclusively (file lock; on Postgres also an advisory lock).

    Args:
        target: Where to load.

    Yields:
        The pipeline, for as long as the lock is held.

    Raises:
        RunLocked: Another run holds the lock.
    """
    target = target.resolved()
    lock_path = lock_dir(target.pipelines_dir) / f"{target.state_name}.lock"
    with file_lock(lock_path, f"the lock of pipeline {target.state_name!r} ({lock_path})"), duckdb_lock(target):
        pipeline = build_pipeline(target)
        warehouse_key = f"chatsync:{PIPELINE_NAME}:{target.dataset}"
        with advisory_lock(pipeline, warehouse_key, shared=target.pipeline_name != PIPELINE_NAME):
            yield pipeline


@contextmanager
def duckdb_lock(target: Target) -> Iterator[None]:
    """One writer per DuckDB file, whichever pipeline or orchestrator it runs for.

    Every pipeline has its own lock, but DuckDB lets one process write a file: a CLI run during a
    Dagster shard's must be told it was skipped (75), not fail on DuckDB's own file lock.
    """
    path = target.duckdb_path
    if target.destination != "duckdb" or not path or path.startswith(":") or "://" in path:
        yield
        return
    lock_path = Path(path + ".lock")
    with file_lock(lock_path, f"the warehouse lock of duckdb {path} ({lock_path})"):
        yield


def execute(
    target: Target,
    providers: Iterable[str],
    backfill: tuple[date, date | None] | None = None,
    on_start: Callable[[RunObserver], None] | None = None,
    on_repair: Callable[[str], None] | None = None,
    source_options: Mapping[str, Mapping[str, Any]] | None = None,
    views: bool = True,
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

    Returns:
        The report; its ``exit_code`` is the command's exit status.

    Raises:
        RunLocked: Another run holds the lock.
    """
    report = RunReport()
    register_configured_secrets()  # before anything can print or write one (main does too)
    with stop_on_signals():
        try:
            with locked_pipeline(target) as pipeline:
                prepared = _prepare(pipeline, target, on_repair, report)
                plan = RunPlan(list(providers), backfill, dict(source_options or {}), views)
                run(pipeline, plan, target, on_start, prepared, report)
        except (RunLocked, ConfigurationError):
            raise
        except (Exception, KeyboardInterrupt) as exc:
            if not signals.was_signal_received():
                if isinstance(exc, KeyboardInterrupt):
                    raise
                report.setup_error = describe_failure("warehouse", exc)  # e.g. the database is down
        finally:
            if signals.was_signal_received():
                report.signal = received_signal()
    return report


@contextmanager
def stop_on_signals() -> Iterator[None]:
    """dlt's signal handling (stop at the next safe point; a second signal forces), in chatsync's words.

    dlt's handler writes its own "CTRL-C received…" line to a terminal; this one writes a
    ``stopping:`` line in chatsync's format instead and otherwise does what dlt's does.
    """
    with signals.intercepted_signals():
        if threading.current_thread() is threading.main_thread():
            for number in (SIGINT, SIGTERM):
                if signal.getsignal(number) is signals._signal_receiver:
                    signal.signal(number, _on_signal)
        yield


def _on_signal(number: int, frame: Any) -> None:
    if signals._signal_counts.get(number):  # the second: dlt escalates (force stop)
        signals._signal_receiver(number, frame)
        return
    signals._signal_counts[number] = 1
    signals.set_received_signal(number)
    name = "SIGTERM" if number == SIGTERM else "SIGINT"
    line = f"{stamp()} stopping: {name} received; finishing at the next safe point (again to force)\n"
    with suppress(OSError):  # no logging or printing in a signal handler
        os.write(sys.stderr.fileno(), line.encode())
    signals.exit_event.set()


def _prepare(
    pipeline: dlt.Pipeline, target: Target, on_repair: Callable[[str], None] | None, report: RunReport
) -> tuple[bytes, dict[str, Counter[str]]]:
    """Repairs, restores state, finishes pending packages; returns the hashing key and recovered rows.

    Outside the run's trace: a repair may re-create the pipeline (``drop``), which ends any trace.
    """
    repairs = repair_working_folders(pipeline)
    if repairs:
        report.repairs = repairs.describe()
        if on_repair:
            on_repair(report.repairs)
    key = hashing_key(target, on_repair)
    pipeline.sync_destination()
    recovered = _finish_pending_or_rebuild(pipeline, on_repair, report)
    if discard_foreign_state(pipeline) and on_repair:
        on_repair(
            f"the local state of pipeline {pipeline.pipeline_name!r} was ahead of what {describe_warehouse(target)} "
            "committed (another warehouse, or a dropped dataset): it now follows the warehouse's own state, "
            "and what the warehouse lacks is read again"
        )
    enforced = enforce_suppressions(pipeline, target.resolved().pipelines_dir, key).describe()
    if enforced and on_repair:
        on_repair(enforced)
    return key, recovered


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


def describe_warehouse(target: Target) -> str:
    """``duckdb /path/file.duckdb, dataset X`` or ``postgres, dataset X`` (no credentials)."""
    resolved = target.resolved()
    where = f"duckdb {resolved.duckdb_path}" if resolved.destination == "duckdb" else resolved.destination
    return f"{where}, dataset {resolved.dataset}"


def hashing_key(target: Target, on_notice: Callable[[str], None] | None) -> bytes:
    """The key that hashes personal data (configured, else kept beside the state), registered as a secret.

    Args:
        target: Whose state dir holds a generated key.
        on_notice: Told once, where a key was just generated (it must be backed up).

    Returns:
        The key.
    """
    key, notice = pii_key(target.resolved().pipelines_dir, configured_key())
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


@with_runtime_trace(send_state=True)
def run(
    pipeline: dlt.Pipeline,
    plan: RunPlan,
    target: Target,
    on_start: Callable[[RunObserver], None] | None,
    prepared: tuple[bytes, dict[str, Counter[str]]],
    report: RunReport,
) -> None:
    """Every provider, then the views, as one dlt trace ("run"): ``dlt pipeline … trace`` shows all."""
    key, recovered = prepared
    report.outcomes = sync(pipeline, plan.providers, target, plan.backfill, on_start, key, plan.source_options)
    for outcome in report.outcomes:
        outcome.recovered_rows = dict(recovered.pop(outcome.provider, {}))
    for provider, rows in recovered.items():  # a provider this run did not ask for
        report.outcomes.append(
            ProviderOutcome(provider, RunObserver(provider), recovered_rows=dict(rows), started=False)
        )
    if plan.views and any(o.ok for o in report.outcomes) and not signals.was_signal_received():
        report.views_error = refresh_analytics(pipeline)


def received_signal() -> int:
    """The number of the signal dlt's handler received (only valid once one was)."""
    interrupt = signals.exception_for_signal()
    return int(getattr(interrupt, "signal_code", SIGINT))


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


def sync(
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
        outcomes.append(_run_one(pipeline, provider, observer, target, backfill, hash_key, options))
    return outcomes


def _run_one(
    pipeline: dlt.Pipeline,
    provider: str,
    observer: RunObserver,
    target: Target,
    backfill: tuple[date, date | None] | None,
    hash_key: bytes | None,
    options: Mapping[str, Any],
) -> ProviderOutcome:
    outcome = ProviderOutcome(provider, observer)
    started = time.monotonic()
    try:
        source = _make_source(provider, observer, backfill, hash_key, options)
        before = row_counts(pipeline)
        outcome.loaded_rows = _extract_normalize_load(pipeline, source, target)
        after = row_counts(pipeline)
        outcome.new_rows = {t: after.get((provider, t), 0) - before.get((provider, t), 0) for t in outcome.loaded_rows}
        if observer.failures:  # the rest loaded; still a failed run for cron and the exit status
            outcome.error = scrub(f"{provider}: " + "; ".join(observer.failures))
    except (Exception, KeyboardInterrupt) as exc:
        if signals.was_signal_received():
            outcome.interrupted = True
        elif isinstance(exc, KeyboardInterrupt):
            raise
        else:
            outcome.error = describe_failure(provider, exc)
            outcome.config_error = isinstance(_root_cause(exc), ConfigurationError | ConfigFieldMissingException)
    outcome.seconds = time.monotonic() - started
    return outcome


def _extract_normalize_load(pipeline: dlt.Pipeline, source: Any, target: Target) -> dict[str, int]:
    """One provider's load, step by step, so that nothing pending can replace its extract."""
    extracted = pipeline.extract(source, loader_file_format=loader_file_format(target.destination))  # type: ignore[arg-type]
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
    release_freed_memory()
    if target.destination != "duckdb":  # parallel shards: table changes take turns
        with schema_migration_lock(pipeline):
            pipeline.sync_schema()
    pipeline.load()
    prune_loaded_packages(pipeline.working_dir)
    counts = info.row_counts if info else {}
    return {table: count for table, count in counts.items() if not table.startswith("_dlt")}


def _make_source(
    provider: str,
    observer: RunObserver,
    backfill: tuple[date, date | None] | None,
    hash_key: bytes | None,
    options: Mapping[str, Any],
) -> Any:
    if provider not in PROVIDERS:
        raise ConfigurationError(f"unknown provider {provider!r}; known: {', '.join(PROVIDERS)}")
    privacy = PrivacyPolicy.from_config(provider, hash_key or configured_key(), observer.count)
    kwargs: dict[str, Any] = {**options, "observer": observer, "privacy": privacy}
    if is_placeholder(dlt.secrets.get(f"sources.{provider}.api_key")):
        raise ConfigurationError(
            f"{provider}: api_key is missing or still the example placeholder; "
            f"set {where_to_set(provider, 'api_key', secret=True)}"
        )
    if backfill is not None:
        since, until = backfill
        kwargs["backfill_since"] = since.isoformat()
        kwargs["backfill_until"] = until.isoformat() if until else None
    return PROVIDERS[provider](**kwargs)


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
        if isinstance(cause, CredentialsError):
            text += f"; the key came from {key_origin(provider)}"
    elif isinstance(cause, ConfigFieldMissingException):
        text = "; ".join(
            f"{provider}: missing setting {name}: set {where_to_set(provider, name, secret=name == 'api_key')}"
            for name in cause.fields
        )
    elif isinstance(cause, OSError) and cause.filename:  # e.g. a full disk: name the path and the space left
        text = f"{provider}: {cause.filename}: {describe_os_error(cause)}"
    elif isinstance(exc, PipelineStepFailed):
        text = f"{provider}: {exc.step} step failed: {type(cause).__name__}: {cause}"
    else:
        text = f"{provider}: {type(cause).__name__}: {cause}"
    return scrub(text.splitlines()[0] if text else provider)


def key_origin(provider: str) -> str:
    """Which setting supplied a provider's ``api_key``: the environment variable, else secrets.toml."""
    for name in (f"SOURCES__{provider.upper()}__{provider.upper()}__API_KEY", f"SOURCES__{provider.upper()}__API_KEY"):
        if os.environ.get(name):
            return f"the environment variable {name}"
    secrets_file = project_dir() / ".dlt" / "secrets.toml"
    return f"[sources.{provider}] api_key in {secrets_file} (no SOURCES__{provider.upper()}__API_KEY is set)"


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
    """``text`` without any registered secret (see ``execute``), and with DSN and URL credentials masked."""
    return scrub_secrets(text)


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
