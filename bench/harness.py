"""Shared bench plumbing: a throwaway pipeline on a real DuckDB, and a timed run."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dlt
import requests

from pipelines.engine.destinations import loader_file_format
from simulator.base import SimulatorSettings
from simulator.server import CONTRACTS


@dataclass
class Timed:
    """One measured pipeline run."""

    seconds: float
    rows: dict[str, int]


def scratch_pipeline(name: str = "bench") -> dlt.Pipeline:
    """A pipeline whose state and DuckDB file live in a fresh temporary folder."""
    root = Path(tempfile.mkdtemp(prefix="chatsync-bench-"))
    return dlt.pipeline(
        pipeline_name=name,
        destination=dlt.destinations.duckdb(str(root / "bench.duckdb")),
        dataset_name="chat_history",
        pipelines_dir=str(root / "pipelines"),
    )


def timed_run(pipeline: dlt.Pipeline, source: Any) -> Timed:
    """Runs ``source`` to the end (extract, normalize, load) and times it."""
    started = time.perf_counter()
    pipeline.run(source, loader_file_format=loader_file_format("duckdb"))  # type: ignore[arg-type]
    seconds = time.perf_counter() - started
    info = pipeline.last_trace.last_normalize_info
    rows = {t: c for t, c in (info.row_counts if info else {}).items() if not t.startswith("_dlt")}
    return Timed(seconds, rows)


def state_bytes(pipeline: dlt.Pipeline, provider: str) -> int:
    """Size of one provider's source state as JSON, as dlt stores it with every load."""
    return len(json.dumps(pipeline.state.get("sources", {}).get(provider, {}), separators=(",", ":")))


@dataclass(frozen=True)
class RemoteSimulator:
    """A simulator in its own process, so it does not share the GIL with the pipeline it serves."""

    url: str
    api_keys: dict[str, str]

    def base_url(self, provider: str) -> str:
        """The base URL a source should be configured with."""
        return self.url + str(CONTRACTS[provider].PREFIX)

    def conversation_ids(self, provider: str) -> list[str]:
        """Conversation ids of one provider, from the admin API."""
        ids: list[str] = requests.get(f"{self.url}/_admin/conversations", params={"provider": provider}).json()
        return ids

    def request_count(self) -> int:
        """Requests served so far (admin calls excluded)."""
        return len(requests.get(f"{self.url}/_admin/requests").json())

    def advance(self, seconds: float) -> None:
        """Moves the virtual clock."""
        requests.post(f"{self.url}/_admin/advance", json={"seconds": seconds}).raise_for_status()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def simulator_process(
    size: int,
    latency_ms: int = 0,
    bots: int = 1,
    seed: int = 5,
    span_days: float = 14.0,
    rate_limit: str | None = None,
    rate_limit_headers: str = "x",
) -> Iterator[RemoteSimulator]:
    """Runs ``chatsync simulate`` in a child process until the block ends (``rate_limit``: e.g. ``25/s``)."""
    port = _free_port()
    command = [
        sys.executable,
        "-m",
        "pipelines.cli",
        "simulate",
        "--port",
        str(port),
        "--size",
        str(size),
        "--seed",
        str(seed),
        "--latency-ms",
        str(latency_ms),
        "--bots",
        str(bots),
        "--span-days",
        str(span_days),
        *(["--rate-limit", rate_limit, "--rate-limit-headers", rate_limit_headers] if rate_limit else []),
    ]
    child = subprocess.Popen(command, stdout=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):
            try:
                requests.get(f"{url}/_admin/clock", timeout=1)
                break
            except requests.ConnectionError:
                time.sleep(0.1)
        yield RemoteSimulator(url, SimulatorSettings().api_keys)
    finally:
        child.terminate()
        child.wait(timeout=10)
