"""In-process Dagster materialisations against the simulator, timed: what an orchestrated run costs.

    .venv/bin/python -m bench.dagster_runs [--size 20000] [--conversation-shards 2]

Runs, on one fresh DuckDB warehouse: the incremental job (full load of every shard, then views), the
same job again with nothing new, the job after the virtual clock moved a day, and the backfill job
over two days as one run (``BackfillPolicy.single_run``). Prints the wall time of each run and of
each shard's step, as Dagster's event log recorded them.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from dagster import DagsterInstance

from pipelines.cli.simulated import restored_environment, simulator_environment
from pipelines.engine.target import Target
from pipelines.orchestrators.dagster.constants import BACKFILL_JOB, INCREMENTAL_JOB
from pipelines.orchestrators.dagster.definitions import build_definitions
from pipelines.orchestrators.dagster.settings import OrchestrationSettings
from simulator import Corpus, Simulator

TWO_DAYS = {"dagster/asset_partition_range_start": "2026-03-05", "dagster/asset_partition_range_end": "2026-03-06"}


def step_seconds(instance: DagsterInstance, run_id: str) -> dict[str, float]:
    """Seconds from each step's start to its end, from the run's event log."""
    started: dict[str, float] = {}
    spent: dict[str, float] = {}
    for event in instance.all_logs(run_id):
        kind = event.dagster_event.event_type_value if event.dagster_event else None
        if kind == "STEP_START" and event.step_key:
            started[event.step_key] = event.timestamp
        elif kind in ("STEP_SUCCESS", "STEP_FAILURE") and event.step_key in started:
            spent[event.step_key] = round(event.timestamp - started[event.step_key], 2)
    return spent


def timed_run(defs: Any, job: str, instance: DagsterInstance, **kwargs: Any) -> dict[str, Any]:
    """One job run in-process: success, wall seconds, and seconds per step."""
    began = time.perf_counter()
    result = defs.resolve_job_def(job).execute_in_process(instance=instance, raise_on_error=False, **kwargs)
    return {
        "success": result.success,
        "seconds": round(time.perf_counter() - began, 2),
        "steps": step_seconds(instance, result.run_id),
    }


def main() -> None:
    """Runs the scenarios and prints one JSON object per run."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=20_000, help="messages across providers")
    parser.add_argument("--conversation-shards", type=int, default=2)
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory() as work,
        restored_environment(),
        Simulator(Corpus(seed=5, size=args.size)) as sim,
    ):
        os.environ.update(simulator_environment(sim))
        os.environ["SOURCES__OWLBOT__CHATBOT_IDS"] = json.dumps([b.bot_id for b in sim.corpus.bots["owlbot"]])
        os.environ["CHATSYNC__ORCHESTRATION__CONVERSATION_SHARDS"] = str(args.conversation_shards)
        os.environ["DESTINATION__DUCKDB__CREDENTIALS"] = str(Path(work, "bench.duckdb"))
        os.environ["DLT_DATA_DIR"] = str(Path(work, "dlt"))
        began = time.perf_counter()
        defs = build_definitions(OrchestrationSettings(Target().resolved(), retries=0))
        print(json.dumps({"run": "build definitions", "seconds": round(time.perf_counter() - began, 2)}))
        with DagsterInstance.ephemeral() as instance:
            for label, job, kwargs in (
                ("incremental, full load", INCREMENTAL_JOB, {}),
                ("incremental, nothing new", INCREMENTAL_JOB, {}),
                ("incremental, +1 day", INCREMENTAL_JOB, {}),
                ("backfill, 2 days in one run", BACKFILL_JOB, {"tags": TWO_DAYS}),
            ):
                if label.endswith("+1 day"):
                    sim.advance(timedelta(days=1))
                print(json.dumps({"run": label, **timed_run(defs, job, instance, **kwargs)}), flush=True)


if __name__ == "__main__":
    main()
