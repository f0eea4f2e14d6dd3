"""State and no-op cost at scale: does either grow with history?

    .venv/bin/python -m bench.state [--sessions 100000] [--span-days 365]

Full-loads ~N OwlBot sessions and ~N ChatNode conversations (a year of history by default) from
the simulator, then runs again with nothing new. Prints, per provider: dlt source state size,
requests and seconds of the no-op run.
"""

from __future__ import annotations

import argparse
from typing import Any

from rich.console import Console
from rich.table import Table

from pipelines.warehouse.ledger import WarehouseLedger
from sources.chatnode import chatnode
from sources.common.source_run import SourceRun
from sources.owlbot import owlbot

from .harness import RemoteSimulator, scratch_pipeline, simulator_process, state_bytes, timed_run

SESSIONS_PER_CORPUS_MESSAGE = 1 / 36  # four providers, ~9 messages per conversation
BOTS = 2
SEED = 5


def _source(sim: RemoteSimulator, provider: str, bot_ids: list[str]) -> Any:
    key, base_url = sim.api_keys[provider], sim.base_url(provider)
    run_with = SourceRun(ledger=WarehouseLedger)
    if provider == "owlbot":
        return owlbot(api_key=key, base_url=base_url, max_workers=32, run_with=run_with)
    return chatnode(bot_ids=bot_ids, api_key=key, base_url=base_url, max_workers=16, run_with=run_with)


def _chatnode_bots() -> list[str]:
    from simulator import Corpus

    # bot ids depend only on the seed; the corpus size does not matter for them
    return [bot.bot_id for bot in Corpus(seed=SEED, size=10, bots_per_provider=BOTS).bots["chatnode"]]


def main() -> None:
    """Runs the benchmark and prints a table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sessions", type=int, default=100_000, help="per provider, approximately")
    parser.add_argument("--span-days", type=float, default=365.0)
    args = parser.parse_args()
    size = int(args.sessions / SESSIONS_PER_CORPUS_MESSAGE)
    table = Table(title=f"~{args.sessions:,} sessions per provider over {args.span_days:g} days")
    for column in ("provider", "rows loaded", "full load s", "state bytes", "no-op requests", "no-op s", "no-op rows"):
        table.add_column(column, justify="left" if column == "provider" else "right")
    with simulator_process(size, bots=BOTS, seed=SEED, span_days=args.span_days) as sim:
        for provider in ("owlbot", "chatnode"):
            pipeline = scratch_pipeline(provider)
            bots = _chatnode_bots()
            full = timed_run(pipeline, _source(sim, provider, bots))
            served = sim.request_count()
            noop = timed_run(pipeline, _source(sim, provider, bots))
            table.add_row(
                provider,
                f"{full.rows.get('messages', 0):,}",
                f"{full.seconds:.1f}",
                f"{state_bytes(pipeline, provider):,}",
                str(sim.request_count() - served),
                f"{noop.seconds:.1f}",
                str(sum(noop.rows.values())),
            )
    Console().print(table)


if __name__ == "__main__":
    main()
