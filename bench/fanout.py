"""Concurrent fan-out: one request at a time vs. a bounded pool, with 20 ms of simulated latency.

    .venv/bin/python -m bench.fanout [--sessions 2000] [--latency-ms 20] [--workers 1 8 32]

Loads the same ~N sessions (OwlBot) and ~N conversations (Feedloop) from the simulator into a
fresh DuckDB per run and prints wall time per worker count and the speed-up over one worker.
"""

from __future__ import annotations

import argparse
from typing import Any

from rich.console import Console
from rich.table import Table

from sources.feedloop import feedloop
from sources.owlbot import owlbot

from .harness import RemoteSimulator, scratch_pipeline, simulator_process, timed_run

SESSIONS_PER_CORPUS_MESSAGE = 1 / 36  # four providers, ~9 messages per conversation


def _sources(sim: RemoteSimulator, workers: int) -> dict[str, Any]:
    keys = sim.api_keys
    return {
        "owlbot": owlbot(api_key=keys["owlbot"], base_url=sim.base_url("owlbot"), max_workers=workers),
        "feedloop": feedloop(
            conversation_ids=sim.conversation_ids("feedloop"),
            api_key=keys["feedloop"],
            base_url=sim.base_url("feedloop"),
            max_workers=workers,
        ),
    }


def main() -> None:
    """Runs the benchmark and prints a table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sessions", type=int, default=2_000, help="per provider, approximately")
    parser.add_argument("--latency-ms", type=int, default=20)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 8, 32])
    args = parser.parse_args()
    size = int(args.sessions / SESSIONS_PER_CORPUS_MESSAGE)
    table = Table(title=f"fan-out with {args.latency_ms} ms latency per request")
    for column in ("provider", "conversations", "workers", "requests", "seconds", "speed-up"):
        table.add_column(column, justify="left" if column == "provider" else "right")
    with simulator_process(size, latency_ms=args.latency_ms) as sim:
        baseline: dict[str, float] = {}
        for workers in args.workers:
            for provider, source in _sources(sim, workers).items():
                served = sim.request_count()
                result = timed_run(scratch_pipeline(), source)
                baseline.setdefault(provider, result.seconds)
                table.add_row(
                    provider,
                    str(result.rows.get("conversations", 0)),
                    str(workers),
                    str(sim.request_count() - served),
                    f"{result.seconds:.1f}",
                    f"{baseline[provider] / result.seconds:.1f}x",
                )
    Console().print(table)


if __name__ == "__main__":
    main()
