"""``chatsync run`` and ``chatsync backfill``: the loads, with live progress, a summary and the exit status."""

from __future__ import annotations

import argparse
from datetime import date
from typing import Any

import dlt

from sources.common.errors import ConfigurationError
from sources.common.observer import RunObserver
from sources.common.secrets import scrub

from ..engine.alerts import alert_on_run
from ..engine.outcome import RunReport
from ..engine.registry import configured_providers, unconfigured_providers
from ..engine.runner import execute
from ..engine.status import record_runs
from ..engine.target import Target
from .console import (
    emit,
    live_progress,
    print_run_report,
    say_info,
    warn,
)
from .parser import target_of


def load_command(args: argparse.Namespace) -> int:
    """``chatsync run`` and ``chatsync backfill``: load, summarise, record the outcome; returns the exit status."""
    target = target_of(args)
    if args.command == "backfill":
        if args.until and args.until <= args.since:
            raise ConfigurationError("--until must be after --since")
        providers, window = [args.provider], (args.since, args.until)
    else:
        providers, window = args.provider or configured_providers(), None
        if not args.provider:
            for name in unconfigured_providers():
                say_info(f"{name} not configured (no api_key, or the example placeholder); skipped")
    if not providers:
        raise ConfigurationError(
            "no provider configured: set [sources.<provider>] api_key in .dlt/secrets.toml, "
            "or SOURCES__<PROVIDER>__API_KEY (see README, first run)"
        )
    emit("run_start", f"{args.command} of {', '.join(providers)}", command=args.command, providers=providers)
    report = run_with_progress(target, providers, window, quiet=args.quiet or args.log_format == "json")
    record_outcome(report, target)
    print_run_report(report, "chatsync backfill" if window else "chatsync run")
    emit("wrote", describe_target(target))
    alert_on_run(args.command, report)
    return report.exit_code()


def record_outcome(report: RunReport, target: Target) -> None:
    """Records the run for ``chatsync status``; a record that cannot be written is a warning, not a failure."""
    unrecorded = record_runs(report, target)
    if unrecorded:
        warn(unrecorded)


def run_with_progress(
    target: Target, providers: list[str], window: tuple[date, date | None] | None = None, quiet: bool = False
) -> RunReport:
    """Runs the providers under the run lock, with a live progress display unless ``quiet``.

    Raises:
        RunLocked: Another run holds the lock.
    """
    observers: list[RunObserver] = []
    if quiet:
        return execute(target, providers, backfill=window, on_repair=warn)
    with live_progress(observers):
        return execute(target, providers, backfill=window, on_start=observers.append, on_repair=warn)


def describe_target(target: Target) -> str:
    """Where a run wrote: the destination, its file or database (credentials masked), the dataset."""
    resolved = target.resolved()
    if resolved.destination == "duckdb":
        where = f"duckdb {resolved.duckdb_path}"
    else:
        credentials: Any = dlt.secrets.get(f"destination.{resolved.destination}.credentials")
        where = f"{resolved.destination} {scrub(str(credentials)) if isinstance(credentials, str) else ''}".strip()
    state = resolved.pipelines_dir or "DLT_DATA_DIR/pipelines"
    return f"{where}, dataset {resolved.dataset}; pipeline state in {state}"
