"""Terminal output: live progress while loading, then a summary of each provider's outcome."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.live import Live
from rich.table import Table

from sources.common.observer import RunObserver

from .runner import ProviderOutcome

console = Console(stderr=True)
stdout = Console()
LOG_EVERY_SECONDS = 30.0


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
                console.print(
                    f"{time.strftime('%H:%M:%S')} {o.provider}: {o.requests} requests, "
                    f"{o.rows['messages']} messages, {o.rows['conversations']} conversations"
                )

    thread = threading.Thread(target=log_periodically, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()


def print_outcomes(outcomes: list[ProviderOutcome], title: str) -> None:
    """The run summary, then warnings and one line per failure."""
    table = Table(title=title)
    for column in ("provider", "status", "requests", "messages", "conversations", "seconds"):
        table.add_column(column, justify="left" if column in ("provider", "status") else "right")
    for outcome in outcomes:
        observer = outcome.observer
        table.add_row(
            outcome.provider,
            "[green]ok[/]" if outcome.ok else "[red]failed[/]",
            str(observer.requests),
            str(outcome.loaded_rows.get("messages", 0)),
            str(outcome.loaded_rows.get("conversations", 0)),
            f"{outcome.seconds:.1f}",
        )
    stdout.print(table)
    for outcome in outcomes:
        for name, value in outcome.observer.counters.items():
            stdout.print(f"[yellow]{outcome.provider}: {value} {name}[/]", soft_wrap=True)
        for warning in outcome.observer.warnings:
            stdout.print(f"[yellow]warning: {outcome.provider}: {warning}[/]", soft_wrap=True)
    for outcome in outcomes:
        if outcome.error:
            console.print(f"[red]error:[/] {outcome.error}", highlight=False, soft_wrap=True)
