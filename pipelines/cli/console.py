"""Terminal output: live progress while loading, then a summary of each provider's outcome."""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Final

import dlt
from pythonjsonlogger.json import JsonFormatter
from rich.console import Console
from rich.live import Live
from rich.markup import escape
from rich.table import Table

from sources.common.dlt_internals import HARMLESS_DLT_WARNINGS
from sources.common.errors import ConfigurationError
from sources.common.observer import RunObserver
from sources.common.secrets import scrub
from sources.common.timeutil import stamp

from ..engine.exit_codes import ExitCode
from ..engine.outcome import ProviderOutcome, RunReport

console = Console(stderr=True)
stdout = Console()
LOG_EVERY_SECONDS = 30.0
PIPED_WIDTH = 10_000  # never cut a line that goes to a file or a pipe

for _output in (console, stdout):
    if not _output.is_terminal:
        _output.width = PIPED_WIDTH


def _progress_table(observers: list[RunObserver]) -> Table:
    table = Table(title="chatsync: loading", show_edge=False)
    for column in ("provider", "requests", "messages", "conversations", "warnings"):
        table.add_column(column, justify="right" if column != "provider" else "left")
    for observer in observers:
        table.add_row(
            observer.provider,
            str(observer.requests),
            str(observer.rows["messages"]),
            str(observer.rows["conversations"]),
            str(len(observer.warnings)),
        )
    return table


@contextmanager
def live_progress(observers: list[RunObserver]) -> Iterator[None]:
    """Shows progress: a live table on a terminal, a log line every 30 s otherwise (cron).

    Args:
        observers: Filled in as providers start; read on every refresh.
    """
    if console.is_terminal:
        with Live(get_renderable=lambda: _progress_table(observers), console=console, refresh_per_second=4):
            yield
        return
    stop = threading.Event()

    def log_periodically() -> None:
        while not stop.wait(LOG_EVERY_SECONDS):
            for o in observers:
                emit(
                    "progress",
                    f"{o.provider}: {o.requests} requests, {o.rows['messages']} messages, "
                    f"{o.rows['conversations']} conversations",
                    provider=o.provider,
                )

    thread = threading.Thread(target=log_periodically, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()


_STYLES: Final = {
    "stopped": "red",
    "error": "red",
    "warning": "yellow",
    "skipped": "yellow",
    "incomplete": "yellow",
    "info": "cyan",
    "progress": "dim",
}
_LEVELS: Final = {
    "error": logging.ERROR,
    "stopped": logging.ERROR,
    "warning": logging.WARNING,
    "skipped": logging.WARNING,
    "incomplete": logging.WARNING,
}
_json_log: logging.Logger | None = None
_quiet = False


def set_quiet(quiet: bool) -> None:
    """With ``quiet`` (``-q``), only warnings and errors are printed: a clean run prints nothing."""
    global _quiet
    _quiet = quiet
    stdout.quiet = quiet


def use_text_log() -> None:
    """Every event is one ``<timestamp> <event>: <message>`` line on stderr (the default)."""
    global _json_log
    _json_log = None


def use_json_log() -> None:
    """From now on, every event is one JSON object per line on stderr (for log shippers)."""
    global _json_log
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter("%(asctime)s %(levelname)s %(message)s", timestamp=True))
    logger = logging.getLogger("chatsync")
    logger.handlers = [handler]
    logger.setLevel(logging.INFO)
    logger.propagate = False
    _json_log = logger
    stdout.quiet = True  # the tables are for people; the events carry the same figures


TEXT_LABELS: Final = {"run_start": "started", "provider_outcome": "outcome"}


def emit(event: str, message: str, **fields: Any) -> None:
    """One event: ``<timestamp> <event>: <message>`` on stderr, or a JSON object with ``fields``."""
    level = _LEVELS.get(event, logging.INFO)
    if _quiet and level < logging.WARNING:
        return
    if _json_log is not None:
        _json_log.log(level, message, extra={"event": event, **fields})
        return
    style = _STYLES.get(event, "bold")
    label = TEXT_LABELS.get(event, event)  # the JSON log keeps the event's name; people read a word
    console.print(f"{stamp()} [{style}]{label}:[/] {escape(message)}", highlight=False, soft_wrap=True)


def _line(label: str, style: str, message: str) -> None:
    emit(label, message)


def confirmed(command: str, action: str, caution: str, yes: bool) -> bool:
    """Whether to go ahead with ``action``: ``--yes``, or a "y" typed at the terminal.

    Args:
        command: The command, for the refusal (``reset``, ``forget --undo``).
        action: What it would do, e.g. ``lift user hmac:…``.
        caution: One sentence after the question.
        yes: ``--yes`` was given.

    Returns:
        True to go ahead; False (after saying so) when the answer was no.

    Raises:
        ConfigurationError: No ``--yes`` and no terminal to ask at.
    """
    if yes:
        return True
    if not sys.stdin.isatty():
        raise ConfigurationError(f"{command} would {action}; add --yes to do it without a terminal")
    if input(f"{action}? {caution} [y/N] ").strip().lower() in ("y", "yes"):
        return True
    stdout.print(f"{command}: nothing done")
    return False


def warn(message: str) -> None:
    """One ``warning:`` line on stderr."""
    _line("warning", "yellow", message)


def say_error(message: str) -> None:
    """One ``error:`` line on stderr (secrets scrubbed, markup shown as text)."""
    _line("error", "red", scrub(message))


def say_info(message: str) -> None:
    """One ``info:`` line on stderr."""
    _line("info", "cyan", message)


def say_skipped(message: str) -> None:
    """The ``skipped:`` line of a run refused by the lock."""
    _line("skipped", "yellow", scrub(message))


def _row_counts(rows: dict[str, int]) -> str:
    return ", ".join(f"{count} {table}" for table, count in sorted(rows.items()) if count) or "no rows"


def print_outcomes(outcomes: list[ProviderOutcome], title: str) -> None:
    """The run summary, then warnings, recovered rows and one ``error:`` line per failure or skip."""
    table = Table(title=f"{title} · {stamp()}")
    columns = ("provider", "status", "requests", "new messages", "rewritten", "new conversations", "seconds")
    for column in columns:
        table.add_column(column, justify="left" if column in ("provider", "status") else "right")
    for outcome in outcomes:
        if not outcome.started and not outcome.recovered_rows:
            continue
        observer = outcome.observer
        table.add_row(
            outcome.provider,
            STATUS_STYLE.get(outcome.status, "{}").format(outcome.status),
            str(observer.requests),
            str(outcome.new_rows.get("messages", 0)),
            str(outcome.loaded_rows.get("messages", 0) - outcome.new_rows.get("messages", 0)),
            str(outcome.new_rows.get("conversations", 0)),
            f"{outcome.seconds:.1f}",
        )
    if table.row_count:
        stdout.print(table)
    for outcome in outcomes:
        if outcome.started:
            emit_outcome(outcome)
    for outcome in outcomes:
        if outcome.recovered_rows:
            emit(
                "recovered",
                f"{outcome.provider}: recovered from an interrupted run: {_row_counts(outcome.recovered_rows)}",
                provider=outcome.provider,
                rows=outcome.recovered_rows,
            )
        for note in outcome.observer.notes:
            emit("info", note, provider=outcome.provider)
        for name, value in outcome.observer.counters.items():
            emit("count", f"{outcome.provider}: {value} {name}", provider=outcome.provider, count=value)
        for warning in outcome.observer.warnings:
            emit("warning", f"{outcome.provider}: {warning}", provider=outcome.provider)
    for outcome in outcomes:
        for skipped in outcome.observer.skipped:
            say_error(f"{outcome.provider}: {skipped}")
        if outcome.error:
            say_error(outcome.error)


STATUS_STYLE = {"ok": "[green]{}[/]", "partial": "[yellow]{}[/]", "failed": "[red]{}[/]", "interrupted": "[red]{}[/]"}


def emit_outcome(outcome: ProviderOutcome) -> None:
    """A provider's outcome as an event (only in the JSON log: people read the table)."""
    if _json_log is None:
        return
    new = outcome.new_rows.get("messages", 0)
    emit(
        "provider_outcome",
        f"{outcome.provider}: {outcome.status}",
        provider=outcome.provider,
        status=outcome.status,
        error=outcome.error,
        requests=outcome.observer.requests,
        new_messages=new,
        rewritten_messages=outcome.loaded_rows.get("messages", 0) - new,
        new_conversations=outcome.new_rows.get("conversations", 0),
        skipped=list(outcome.observer.skipped),
        seconds=round(outcome.seconds, 3),
    )


def print_run_report(report: RunReport, title: str) -> None:
    """The outcomes of a run, then the views' error and how a signal stopped it, if so."""
    print_outcomes(report.outcomes, title)
    if report.setup_error:
        say_error(report.setup_error)
    if report.views_error:
        say_error(report.views_error)
    if report.insights:
        emit("insights", report.insights, seconds=round(report.insights_seconds, 3))
    if report.insights_error:
        warn(report.insights_error)
    if report.signal is not None:
        name = "SIGTERM" if report.exit_code() == ExitCode.SIGTERM else "SIGINT"
        emit("stopped", f"{name} received; nothing half-done was committed and the next run continues")
    emit("summary", f"exit {int(report.exit_code())}", exit_code=int(report.exit_code()), providers=report.to_json())


class DltLogHandler(logging.Handler):
    """Sends dlt's log records through chatsync's console or JSON log, one line each, secrets scrubbed.

    dlt re-creates its logger's formatter whenever a pipeline starts; this handler keeps
    chatsync's format by ignoring that. Tracebacks are shown with ``-v`` only.

    Args:
        verbose: ``-v``: the known-harmless warnings and every traceback too.
    """

    MAX_LINES: Final = 20  # a failing load retries and warns each time: a few lines tell, hundreds bury

    def __init__(self, verbose: bool) -> None:
        super().__init__()
        self.verbose = verbose
        self.shown = 0

    def setFormatter(self, fmt: logging.Formatter | None) -> None:
        """Ignored: chatsync formats every line itself."""

    def emit(self, record: logging.LogRecord) -> None:
        """Prints one record as an ``info:``, ``warning:`` or ``error:`` event."""
        message = record.getMessage()
        if not self.verbose and any(sign in message for sign in HARMLESS_DLT_WARNINGS):
            return
        if not self.verbose:
            self.shown += record.levelno >= logging.WARNING  # INFO lines were asked for: all of them
            if record.levelno >= logging.WARNING and self.shown > self.MAX_LINES:
                if self.shown == self.MAX_LINES + 1:
                    emit("info", "dlt: further dlt warnings of this run are not shown (-v shows them)")
                return
            message = message.strip().splitlines()[0] if message.strip() else ""
        elif record.exc_info:
            message += "\n" + logging.Formatter().formatException(record.exc_info)
        emit(_event_of(record.levelno), scrub(f"dlt: {message}"), logger=record.name)


def _event_of(level: int) -> str:
    if level >= logging.ERROR:
        return "error"
    return "warning" if level >= logging.WARNING else "info"


def route_dlt_logs(verbose: bool) -> None:
    """dlt's log records go through ``DltLogHandler`` from now on, at this invocation's level.

    dlt sets its logger's level once per process, from ``[runtime] log_level``; the handler applies
    the level of each invocation (``-v``: INFO, else the configured one), so that one command's
    choice never carries over into the next in the same process (tests, an orchestrator).
    """
    configured = str(dlt.config.get("runtime.log_level") or "WARNING").upper()
    handler = DltLogHandler(verbose)
    handler.setLevel(logging.INFO if verbose else logging.getLevelNamesMapping().get(configured, logging.WARNING))
    logger = logging.getLogger("dlt")
    logger.handlers = [handler]
    logger.propagate = False
