"""``chatsync report``: the terminal summary of the warehouse and, with ``--html``, the HTML report."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from pathlib import Path

from sources.common.errors import ConfigurationError

from ..engine.exit_codes import ExitCode
from ..engine.factory import locked_pipeline
from ..engine.failures import describe_failure
from ..engine.target import Target
from ..report.data import collect_report
from ..report.html import write_html
from ..report.sections import print_report_data
from ..warehouse.analytics import refresh_views
from .console import say_error, stdout
from .parser import target_of


def report_command(args: argparse.Namespace) -> int:
    """``chatsync report``: the terminal summary and, with ``--html``, the HTML report."""
    target = target_of(args)
    return write_report(target, args.html)


def write_report(target: Target, html_path: str | None) -> int:
    """Prints the terminal summary and, with ``html_path``, writes the HTML report.

    It refreshes the views, so it takes the run lock like a load (DuckDB allows one writer): while
    a run is in progress it exits 75 at once.

    Args:
        target: The warehouse to read.
        html_path: Where to write the HTML report, if anywhere.

    Returns:
        The exit status.

    Raises:
        RunLocked: A run holds the lock.
    """
    resolved = target.resolved()
    if resolved.destination == "duckdb" and not Path(str(resolved.duckdb_path)).is_file():
        # a read-only command creates nothing: no empty warehouse, no state folder
        where = resolved.duckdb_path
        raise ConfigurationError(f"nothing loaded yet: no warehouse at {where}; run `chatsync run` first")
    with locked_pipeline(target) as pipeline:
        if not refresh_views(pipeline):
            raise ConfigurationError(f"nothing loaded yet in dataset {target.dataset!r}: run `chatsync run` first")
        try:
            data = collect_report(pipeline)
        except Exception as exc:  # the warehouse refused a query (memory, a lost connection): one line, exit 1
            say_error(describe_failure("report", exc))
            return ExitCode.FAILED
    print_report_data(data, stdout)
    if html_path:
        written = write_html(data, Path(html_path), target.dataset, datetime.now(UTC))
        stdout.print(f"report: [bold]{written}[/]")
    return ExitCode.OK
