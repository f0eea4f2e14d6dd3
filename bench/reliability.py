"""``make reliability``: chatsync run as an operator would, against the simulator's ground truth.

Four scenarios, each compared with what the simulator says exists, every time:

- **storm**: at least 30% of provider requests fail (429 with Retry-After, 5xx, resets, truncated
  and invalid JSON); three runs with growth in between, then one calm run.
- **kills**: SIGKILL at startup, during extract, normalize, normalize's commit ("Committing
  storage", hooked on dlt's log line) and load; each followed by a normal rerun.
- **exact kills**: SIGKILL the moment dlt logs a load job completed ("Job for … completed in load")
  and the moment it archives a package; duplicates counted by message id.
- **overlaps**: two ``chatsync run`` started at once on one pipeline.
- **payloads**: the hostile payload table of ``bench.payload_cases``.

Runs are real ``chatsync run`` processes; the simulator serves from this process.

    python -m bench.reliability [--kills 50] [--overlaps 20] [--size 1200] [--skip payloads]
"""

from __future__ import annotations

import argparse
import io
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import duckdb
from rich.console import Console
from rich.table import Table

from bench.payload_cases import CASES, labelled_lines, lost_messages, run_case
from pipelines.cli.simulated import simulator_environment
from simulator import Corpus, FaultSpec, Simulator
from sources.registry import SPECS

PROVIDERS = tuple(SPECS)  # every registered provider, each with its simulator module
STORM = "429=0.08,500=0.06,502=0.04,503=0.05,reset=0.05,truncate=0.04,invalid=0.04,retry_after=1"
KILL_POINTS = {
    "startup": None,
    "extract": ("GET request to", "POST request to"),
    "normalize": ("Running file normalizing",),
    "commit": ("Committing storage",),
    "load": ("Running file loading", "CREATED a new FOLLOWUP JOB", "completed in load"),
}
EXACT_KILL_POINTS = {
    "job completed": ("completed in load",),
    "archiving": ("archiving package",),
}
ALL_KILL_POINTS = {**KILL_POINTS, **EXACT_KILL_POINTS}
console = Console(width=170)


@dataclass
class Figures:
    """One scenario's row in the table."""

    scenario: str
    trials: int = 0
    lost: int = 0
    duplicated: int = 0
    jammed: int = 0
    refused: int = 0
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0


class Workspace:
    """A warehouse, a pipelines dir and the environment that points ``chatsync`` at the simulator."""

    def __init__(self, sim: Simulator, root: Path) -> None:
        self.sim = sim
        self.root = root
        self.warehouse = root / "chatsync.duckdb"

    def environment(self) -> dict[str, str]:
        """Fresh each time: example-ai and Feedloop list their conversations in config."""
        return {
            **os.environ,
            **simulator_environment(self.sim),
            "DESTINATION__DUCKDB__CREDENTIALS": str(self.warehouse),
            "RUNTIME__LOG_LEVEL": "INFO",
            "RUNTIME__REQUEST_BACKOFF_FACTOR": "0.05",
            "RUNTIME__REQUEST_MAX_RETRY_DELAY": "2",
            "RUNTIME__REQUEST_MAX_ATTEMPTS": "8",
            "RUNTIME__REQUEST_TIMEOUT": "10",
        }

    def start(self, log: Path | None = None) -> subprocess.Popen[str]:
        """A ``chatsync run`` of every provider; stderr piped for the kill hooks, or to ``log``."""
        command = [sys.executable, "-m", "pipelines.cli", "run", "--pipelines-dir", str(self.root / "pipelines")]
        stderr: Any = subprocess.PIPE if log is None else log.open("w")
        return subprocess.Popen(command, env=self.environment(), stdout=subprocess.DEVNULL, stderr=stderr, text=True)

    def run(self) -> tuple[int, str]:
        """A run to the end: exit code and stderr."""
        process = self.start()
        _, err = process.communicate(timeout=600)
        return process.returncode, err

    def lost_and_duplicated(self) -> tuple[int, int]:
        """Truth messages missing or different in the warehouse, and rows beyond one per key."""
        if not self.warehouse.exists():
            return sum(len(self.sim.truth(p).messages) for p in PROVIDERS), 0
        lost = sum(lost_messages(self.sim, self.warehouse, provider) for provider in PROVIDERS)
        with duckdb.connect(str(self.warehouse), read_only=True) as con:
            total, distinct = con.execute(
                "SELECT COUNT(*), COUNT(DISTINCT (provider, conversation_id, message_id)) FROM chat_history.messages"
            ).fetchall()[0]
        return lost, int(total) - int(distinct)


@contextmanager
def workspace(size: int, seed: int) -> Iterator[Workspace]:
    """A simulator and an empty workspace for one scenario."""
    with (
        tempfile.TemporaryDirectory(prefix="chatsync-reliability-") as root,
        Simulator(Corpus(seed=seed, size=size, providers=PROVIDERS)) as sim,
    ):
        yield Workspace(sim, Path(root))


def storm(size: int) -> Figures:
    """Three runs under a fault storm with growth in between, then a calm run."""
    figures = Figures("storm (≥30% faults, 3 runs + calm run)")
    started = time.monotonic()
    with workspace(size, seed=71) as ws:
        ws.sim.set_faults(FaultSpec.parse(STORM, seed=71))
        share = ws.sim.faults.spec.total_probability
        for round_ in range(3):
            code, _ = ws.run()
            figures.trials += 1
            lost, duplicated = ws.lost_and_duplicated()
            figures.notes.append(f"run {round_ + 1}: exit {code}, {lost} not yet loaded")
            figures.duplicated = max(figures.duplicated, duplicated)
            ws.sim.advance(timedelta(hours=12))
        served = ws.sim.requests
        faulted = sum(1 for r in served if r.fault)
        ws.sim.set_faults(FaultSpec())
        code, _ = ws.run()
        figures.lost, duplicated = ws.lost_and_duplicated()
        figures.duplicated = max(figures.duplicated, duplicated)
        figures.jammed += code != 0
        figures.notes.insert(0, f"{faulted / max(1, len(served)):.0%} of {len(served)} requests faulted ({share:.0%})")
    figures.seconds = time.monotonic() - started
    return figures


def _kill_when(process: subprocess.Popen[str], point: str, rng: random.Random) -> bool:
    """SIGKILLs ``process`` at ``point``; False when it finished before getting there."""
    hooks = ALL_KILL_POINTS[point]
    killed = threading.Event()

    def kill(after: float) -> None:
        time.sleep(after)
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
            killed.set()

    if hooks is None:
        kill(rng.uniform(0.05, 1.5))
    else:
        delay = 0.0 if point == "commit" or point in EXACT_KILL_POINTS else rng.uniform(0.0, 0.05)
        seen = 0
        target = rng.randint(1, 3)
        assert process.stderr is not None
        for line in process.stderr:
            if any(hook in line for hook in hooks):
                seen += 1
                if seen >= target:
                    kill(delay)
                    break
    process.wait(timeout=600)
    if process.stderr is not None:
        process.stderr.read()
    return killed.is_set()


def kills(size: int, count: int, exact: bool = False) -> Figures:
    """``count`` SIGKILLs spread over the kill points (or the exact ones), each followed by a rerun."""
    label = f"exact kills ({count} at load-job completion and archiving)" if exact else f"kills ({count} SIGKILLs"
    figures = Figures(label if exact else f"{label} + reruns)")
    started = time.monotonic()
    rng = random.Random(7 if exact else 5)
    points = list(EXACT_KILL_POINTS if exact else KILL_POINTS)
    landed: dict[str, int] = dict.fromkeys(points, 0)
    repaired = 0
    with workspace(size, seed=73) as ws:
        for trial in range(count):
            point = points[trial % len(points)]
            ws.sim.advance(timedelta(hours=6))
            landed[point] += _kill_when(ws.start(), point, rng)
            code, err = ws.run()
            figures.trials += 1
            repaired += "repaired an interrupted run" in err
            if code != 0:
                figures.jammed += 1
                figures.notes.append(f"trial {trial} ({point}): rerun exit {code}: {_last_error(err)}")
            lost, duplicated = ws.lost_and_duplicated()
            figures.lost += lost
            figures.duplicated += duplicated
    figures.notes.insert(0, "landed: " + ", ".join(f"{p} {n}" for p, n in landed.items()))
    figures.notes.insert(1, f"{repaired} reruns repaired what the kill left in dlt's working folders")
    figures.seconds = time.monotonic() - started
    return figures


def _last_error(err: str) -> str:
    lines = labelled_lines(err, "error") + [line for line in err.splitlines() if line.startswith("Traceback")]
    return lines[-1][:160] if lines else err.strip().splitlines()[-1][:160] if err.strip() else ""


def overlaps(size: int, count: int) -> Figures:
    """``count`` pairs of runs started at once on one pipeline."""
    figures = Figures(f"overlaps ({count} pairs started at once)")
    started = time.monotonic()
    with workspace(size, seed=79) as ws:
        for trial in range(count):
            ws.sim.advance(timedelta(hours=6))
            logs = [ws.root / f"overlap-{trial}-{n}.log" for n in (1, 2)]
            first, second = ws.start(logs[0]), ws.start(logs[1])
            codes = sorted(p.wait(timeout=600) for p in (first, second))
            errs = [log.read_text() for log in logs]
            figures.trials += 1
            if codes == [0, 75]:
                figures.refused += 1
            else:
                figures.notes.append(f"trial {trial}: exits {codes}: {' | '.join(_last_error(e) for e in errs)}")
            lost, duplicated = ws.lost_and_duplicated()
            figures.lost += lost
            figures.duplicated += duplicated
    figures.seconds = time.monotonic() - started
    return figures


def payloads() -> tuple[Figures, Table]:
    """Every hostile payload case, in-process, with its documented and observed outcome."""
    from pipelines.cli import console as cli_console
    from pipelines.cli import main

    def invoke(args: list[str], env: dict[str, str]) -> tuple[int, str]:
        saved = dict(os.environ)
        os.environ.update(env)
        errors, cli_console.console.file, cli_console.stdout.file = io.StringIO(), io.StringIO(), io.StringIO()
        cli_console.console.file = errors
        try:
            return int(main(args)), errors.getvalue()
        finally:
            os.environ.clear()
            os.environ.update(saved)

    os.environ.update({"RUNTIME__REQUEST_BACKOFF_FACTOR": "0.01", "RUNTIME__REQUEST_MAX_ATTEMPTS": "3"})
    figures = Figures(f"payloads ({len(CASES)} hostile cases)")
    started = time.monotonic()
    table = Table(title="hostile payloads: one conversation bad, the others must load")
    for column in ("provider", "payload", "documented", "observed", "healthy lost", "exact once fixed"):
        table.add_column(column)
    for case in CASES:
        with tempfile.TemporaryDirectory() as root:
            result = run_case(case, Path(root), invoke)
        figures.trials += 1
        figures.lost += result.healthy_lost + result.after_fix_lost
        figures.jammed += not result.as_documented
        table.add_row(
            case.provider,
            case.kind,
            f"{case.outcome}: {case.detail}",
            result.outcome,
            str(result.healthy_lost),
            "yes" if result.after_fix_lost == 0 and result.unresolved_after_fix == 0 else "NO",
        )
    figures.seconds = time.monotonic() - started
    return figures, table


def summary(rows: list[Figures]) -> Table:
    """The table of figures."""
    table = Table(title="chatsync reliability (simulator ground truth)")
    for column in ("scenario", "trials", "lost", "duplicated", "jammed / not as documented", "refused", "seconds"):
        table.add_column(column, justify="left" if column == "scenario" else "right")
    for row in rows:
        table.add_row(
            row.scenario,
            str(row.trials),
            str(row.lost),
            str(row.duplicated),
            str(row.jammed),
            str(row.refused) if row.scenario.startswith("overlaps") else "-",
            f"{row.seconds:.0f}",
        )
    return table


def main(argv: list[str] | None = None) -> int:
    """Runs the scenarios and prints the table; exit 1 when any figure is not what it must be."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--size", type=int, default=1_200, help="approximate messages at the start")
    parser.add_argument("--kills", type=int, default=50)
    parser.add_argument("--exact-kills", type=int, default=30, help="split over load-job completion and archiving")
    parser.add_argument("--overlaps", type=int, default=20)
    scenarios = ("storm", "kills", "exact-kills", "overlaps", "payloads")
    parser.add_argument("--skip", action="append", default=[], choices=scenarios)
    args = parser.parse_args(argv)
    rows: list[Figures] = []
    payload_table: Any = None
    if "storm" not in args.skip:
        rows.append(storm(args.size))
    if "kills" not in args.skip:
        rows.append(kills(args.size, args.kills))
    if "exact-kills" not in args.skip:
        rows.append(kills(args.size, args.exact_kills, exact=True))
    if "overlaps" not in args.skip:
        rows.append(overlaps(args.size, args.overlaps))
    if "payloads" not in args.skip:
        figures, payload_table = payloads()
        rows.append(figures)
    if payload_table is not None:
        console.print(payload_table)
    console.print(summary(rows))
    for row in rows:
        for note in row.notes:
            console.print(f"{row.scenario.split()[0]}: {note}", soft_wrap=True, highlight=False)
    healthy = all(r.lost == 0 and r.duplicated == 0 and r.jammed == 0 for r in rows) and all(
        r.refused == r.trials for r in rows if r.scenario.startswith("overlaps")
    )
    return 0 if healthy else 1


if __name__ == "__main__":
    sys.exit(main())
