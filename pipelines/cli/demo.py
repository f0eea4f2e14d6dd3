"""``chatsync demo``: the main job end to end, on the simulator, into DuckDB.

Starts the simulator, points every implemented provider at it through the ordinary dlt
configuration (environment variables), runs a full load, advances the virtual clock by a day,
runs an incremental load, prints rows per provider and table with what was new, and proves the
warehouse complete with a quick ``chatsync audit``.
"""

from __future__ import annotations

import shutil
from datetime import timedelta
from pathlib import Path

from rich.table import Table

from simulator import Corpus, Simulator
from sources.common.timeutil import utc_stamp
from sources.registry import SPECS

from ..audit.audit import audit
from ..engine.exit_codes import ExitCode
from ..engine.factory import build_pipeline
from ..engine.registry import PROVIDERS
from ..engine.target import Target
from ..warehouse.queries import row_counts
from .audit import print_audit
from .console import print_run_report, stdout
from .load import record_outcome, run_with_progress
from .report import write_report
from .simulated import configure_for_simulator, restored_environment

ADVANCE = timedelta(days=1)


def run_demo(directory: str, seed: int = 7, size: int = 5_000) -> int:
    """Runs the demo; its warehouse and pipeline state live in ``directory`` (wiped first).

    Args:
        directory: Output folder.
        seed: Corpus seed.
        size: Approximate number of messages at the start.

    Returns:
        The exit status.
    """
    root = Path(directory).resolve()
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    target = Target(pipelines_dir=str(root / "pipelines"), duckdb_path=str(root / "chatsync.duckdb"))
    corpus = Corpus(seed=seed, size=size, providers=tuple(SPECS))  # every registered provider, Intercom too
    with restored_environment(), Simulator(corpus) as sim:
        stdout.print(f"[bold]simulator[/] on {sim.url}, virtual clock at {utc_stamp(sim.corpus.now)}")
        configure_for_simulator(sim)
        first = run_with_progress(target, list(PROVIDERS))
        record_outcome(first, target)  # `chatsync status --warehouse …` shows the demo's runs
        print_run_report(first, "pass 1: full load")
        before = _counts(target)
        if first.signal is not None:
            return first.exit_code()
        sim.advance(ADVANCE)
        configure_for_simulator(sim)  # example-ai and Feedloop cannot list conversations: add new ids
        stdout.print(f"\nvirtual clock advanced by {ADVANCE} to {utc_stamp(sim.corpus.now)}")
        second = run_with_progress(target, list(PROVIDERS))
        record_outcome(second, target)
        print_run_report(second, "pass 2: incremental load")
        if second.signal is not None:
            return second.exit_code()
        after = _counts(target)
        audited = audit(target, list(PROVIDERS))
        stdout.print()
        print_audit(audited)
    _print_summary(before, after)
    stdout.print(f"\nwarehouse: [bold]{target.duckdb_path}[/] (dataset [bold]{target.dataset}[/])")
    if first.views_error is None and second.views_error is None:
        stdout.print()
        write_report(target, str(root / "report.html"))
    stdout.print(f"\nits runs: [bold].venv/bin/chatsync status --warehouse {target.duckdb_path}[/]", soft_wrap=True)
    stdout.print(
        f"read the conversations in your browser: [bold].venv/bin/chatsync explore --warehouse {target.duckdb_path}[/]",
        soft_wrap=True,
    )
    codes = {first.exit_code(), second.exit_code(), audited.exit_code()}
    bad = (ExitCode.FAILED, ExitCode.PARTIAL, ExitCode.INCOMPLETE)
    return next((code for code in bad if code in codes), ExitCode.OK)


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
