"""``chatsync demo``: the main job end to end, on the simulator, into DuckDB.

Starts the simulator, points every implemented provider at it through the ordinary dlt
configuration (environment variables), runs a full load, advances the virtual clock by a day,
runs an incremental load, and prints rows per provider and table with what was new.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

from rich.table import Table

from simulator import Corpus, Simulator

from .console import print_report, stdout
from .registry import PROVIDERS
from .runner import ExitCode, Target, build_pipeline
from .warehouse import row_counts
from .workspace import utc_stamp

ADVANCE = timedelta(days=1)


def _example_ai_config(sim: Simulator) -> dict[str, str]:
    return {"CONVERSATION_IDS": json.dumps(sim.corpus.conversation_ids("example_ai"))}


def _chatnode_config(sim: Simulator) -> dict[str, str]:
    return {"BOT_IDS": json.dumps([bot.bot_id for bot in sim.corpus.bots["chatnode"]])}


def _feedloop_config(sim: Simulator) -> dict[str, str]:
    return {"CONVERSATION_IDS": json.dumps(sim.corpus.conversation_ids("feedloop"))}


# Per provider: configuration beyond base_url and api_key that the simulator must supply.
# OwlBot needs none: it discovers its bots with checkToken.
EXTRA_CONFIG: dict[str, Callable[[Simulator], dict[str, str]]] = {
    "example_ai": _example_ai_config,
    "chatnode": _chatnode_config,
    "feedloop": _feedloop_config,
}


def simulator_environment(sim: Simulator) -> dict[str, str]:
    """The ``SOURCES__<P>__…`` variables that point every implemented provider at ``sim``."""
    environment: dict[str, str] = {}
    for provider in PROVIDERS:
        values = {"BASE_URL": sim.base_url(provider), "API_KEY": sim.settings.api_keys[provider]}
        extra = EXTRA_CONFIG.get(provider)
        if extra is not None:
            values |= extra(sim)
        environment |= {f"SOURCES__{provider.upper()}__{key}": value for key, value in values.items()}
    return environment


def configure_for_simulator(sim: Simulator) -> None:
    """Points every implemented provider at the simulator through the environment."""
    os.environ.update(simulator_environment(sim))


@contextmanager
def restored_environment() -> Iterator[None]:
    """Gives the environment back as it was: the demo's settings must not outlive it."""
    saved = dict(os.environ)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def run_demo(directory: str, seed: int = 7, size: int = 5_000) -> int:
    """Runs the demo; its warehouse and pipeline state live in ``directory`` (wiped first).

    Args:
        directory: Output folder.
        seed: Corpus seed.
        size: Approximate number of messages at the start.

    Returns:
        The exit status.
    """
    from .cli import run_with_progress, write_report

    root = Path(directory).resolve()
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    target = Target(pipelines_dir=str(root / "pipelines"), duckdb_path=str(root / "chatsync.duckdb"))
    with restored_environment(), Simulator(Corpus(seed=seed, size=size)) as sim:
        stdout.print(f"[bold]simulator[/] on {sim.url}, virtual clock at {utc_stamp(sim.corpus.now)}")
        configure_for_simulator(sim)
        first = run_with_progress(target, list(PROVIDERS))
        print_report(first, "pass 1: full load")
        before = _counts(target)
        if first.signal is not None:
            return first.exit_code()
        sim.advance(ADVANCE)
        configure_for_simulator(sim)  # example-ai and Feedloop cannot list conversations: add new ids
        stdout.print(f"\nvirtual clock advanced by {ADVANCE} to {utc_stamp(sim.corpus.now)}")
        second = run_with_progress(target, list(PROVIDERS))
        print_report(second, "pass 2: incremental load")
        if second.signal is not None:
            return second.exit_code()
        after = _counts(target)
    _print_summary(before, after)
    stdout.print(f"\nwarehouse: [bold]{target.duckdb_path}[/] (dataset [bold]{target.dataset}[/])")
    if first.views_error is None and second.views_error is None:
        stdout.print()
        write_report(target, str(root / "report.html"))
    codes = {first.exit_code(), second.exit_code()}
    return next((code for code in (ExitCode.FAILED, ExitCode.PARTIAL) if code in codes), ExitCode.OK)


def _counts(target: Target) -> dict[tuple[str, str], int]:
    return row_counts(build_pipeline(target))


def _print_summary(before: dict[tuple[str, str], int], after: dict[tuple[str, str], int]) -> None:
    table = Table(title="rows in the warehouse")
    for column in ("provider", "table", "after pass 1", "after pass 2", "new"):
        table.add_column(column, justify="left" if column in ("provider", "table") else "right")
    for provider, name in sorted(after):
        was, now = before.get((provider, name), 0), after[(provider, name)]
        table.add_row(provider, name, str(was), str(now), f"+{now - was}")
    stdout.print(table)
