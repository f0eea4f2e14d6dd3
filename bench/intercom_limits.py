"""Intercom under its documented rate limit, nothing configured: ``chatsync run`` learns it from the headers.

    make bench-intercom                          # ~1,500 conversations, about a minute per case
    .venv/bin/python -m bench.intercom_limits --size 4000

Intercom counts requests in 10-second windows and sends ``X-RateLimit-Limit``, ``X-RateLimit-Remaining``
and ``X-RateLimit-Reset`` (a UNIX time) on authenticated answers, no ``Retry-After``. The simulator's
fixed-window model (``rate/s,window=10``, its ``x`` headers) has that shape; whether ``Remaining``
counts the request it answers is not said plainly, so the case is run with the window as the
simulator counts it. The floor is ``successful requests ÷ rate`` seconds; the ratio is the load's
wall time over it, and the refused share is 429s over every request served. Writes its table into
``bench/RESULTS.md`` between the ``intercom-limits`` markers.
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pipelines.cli.simulated import simulator_environment
from pipelines.engine.factory import build_pipeline
from pipelines.engine.runner import load_providers
from pipelines.engine.target import Target
from simulator import Corpus, Simulator, SimulatorSettings

from .insights import write

BEGIN, END = "<!-- intercom-limits:begin -->", "<!-- intercom-limits:end -->"
RATE: float = 16.7  # Intercom's "167 in 10_seconds" answer, per second
CASES = (f"{RATE:g}/s,window=10",)


def run_case(spec: str, size: int, seed: int) -> dict[str, Any]:
    """One full Intercom load against a limit it is not told."""
    settings = SimulatorSettings(rate_limit=spec, rate_limit_headers="x")
    with Simulator(Corpus(seed=seed, size=size, providers=("intercom",)), settings=settings) as sim:
        folder = Path(tempfile.mkdtemp(prefix="chatsync-intercom-limits-"))
        os.chdir(folder)
        (folder / ".dlt").mkdir()
        os.environ.update(simulator_environment(sim))
        target = Target(pipelines_dir=str(folder / "pipelines"), duckdb_path=str(folder / "w.duckdb"))
        pipeline = build_pipeline(target)
        time.sleep(10)  # a fresh window
        sim.clear_log()
        started = time.perf_counter()
        outcomes = load_providers(pipeline, ["intercom"], target)
        seconds = time.perf_counter() - started
        served = sim.requests_for("intercom")
    refused = sum(r.status == 429 for r in served)
    ok = len(served) - refused
    assert [o.error for o in outcomes] == [None], outcomes
    return {"spec": spec, "requests": len(served), "refused": refused, "seconds": seconds, "floor": ok / RATE}


def table(results: list[dict[str, Any]], size: int) -> str:
    """The Markdown section: the machine, the date, each case against its targets."""
    machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    when = datetime.now(UTC).strftime("%Y-%m-%d")
    lines = [
        BEGIN,
        "## Intercom under its rate limit",
        "",
        f"`make bench-intercom` on {when}, {machine}: a full `chatsync run` of Intercom alone from the simulator "
        f"(a corpus of {size:,} messages), nothing configured about the limit; the simulator counts 167 requests "
        "per 10-second window and answers with Intercom's headers.",
        "",
        "| limit | requests | refused | load ÷ floor (target ≤ 1.1) | refused share (target < 2%) | met |",
        "|---|---|---|---|---|---|",
    ]
    for r in results:
        ratio, share = r["seconds"] / r["floor"], r["refused"] / max(r["requests"], 1)
        met = "yes" if ratio <= 1.1 and share < 0.02 else "NO"
        lines.append(
            f"| `{r['spec']}` | {r['requests']:,} | {r['refused']:,} | {ratio:.2f} ({r['seconds']:.1f} s ÷ "
            f"{r['floor']:.1f} s) | {share:.1%} | {met} |"
        )
    return "\n".join([*lines, END])


def main(argv: list[str] | None = None) -> int:
    """Runs every case and writes the table."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--size", type=int, default=14_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args(argv)
    results = [run_case(spec, args.size, args.seed) for spec in CASES]
    section = table(results, args.size)
    print(section)
    if not args.no_write:
        write(section, BEGIN, END)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
