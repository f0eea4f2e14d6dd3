"""``chatsync explore`` at scale: start to first page, a search over about a million messages, the longest transcript.

    make bench-explore                                   # loads ~1M messages first (~5 min)
    .venv/bin/python -m bench.explore --warehouse PATH   # an existing DuckDB warehouse

``chatsync explore`` runs as its own process, as a user starts it; pages are fetched over HTTP, the
median of five. Writes its table into ``bench/RESULTS.md`` between the ``explore`` markers.
"""

from __future__ import annotations

import argparse
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import requests

from simulator import Corpus, Simulator

from .insights import load, project, write

BEGIN, END = "<!-- explore:begin -->", "<!-- explore:end -->"
ROUNDS = 5
SEARCHES = ("refund", "contraseña", "gift card")  # one word, an accented one, two words
PAGE_TARGET_MS = 500
SEARCH_TARGET_MS = 300


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _warehouse(args: argparse.Namespace) -> Path:
    if args.warehouse:
        return Path(args.warehouse)
    root = Path(tempfile.mkdtemp(prefix="chatsync-bench-explore-"))
    with Simulator(Corpus(seed=args.seed, size=args.size)) as sim:
        load(root, project(root, sim))
    return root / "bench.duckdb"


def _median_ms(url: str) -> float:
    times = []
    for _ in range(ROUNDS):
        started = time.perf_counter()
        response = requests.get(url, timeout=60)
        times.append((time.perf_counter() - started) * 1000)
        response.raise_for_status()
    return statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    """Runs the bench and writes its table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--warehouse", help="an existing DuckDB warehouse (dataset chat_history)")
    parser.add_argument("--size", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args(argv)
    warehouse = _warehouse(args)
    _with_insights(warehouse)
    with duckdb.connect(str(warehouse), read_only=True) as db:
        messages = db.execute("SELECT COUNT(*) FROM chat_history.messages").fetchone()[0]  # type: ignore[index]
        provider, cid, longest = db.execute(
            "SELECT provider, conversation_id, COUNT(*) AS n FROM chat_history.messages "
            "GROUP BY provider, conversation_id ORDER BY n DESC LIMIT 1"
        ).fetchone()  # type: ignore[misc]
        topic = db.execute("SELECT topic_id FROM chat_history.topics ORDER BY conversations DESC LIMIT 1").fetchone()[0]  # type: ignore[index]
    port = _free_port()
    environment = {**os.environ, "DESTINATION__DUCKDB__CREDENTIALS": str(warehouse)}
    project_dir = Path(tempfile.mkdtemp(prefix="chatsync-explore-project-"))
    (project_dir / ".dlt").mkdir()
    started = time.perf_counter()
    server = subprocess.Popen(
        [sys.executable, "-m", "pipelines.cli", "-q", "explore", "--port", str(port)], cwd=project_dir, env=environment
    )
    try:
        first_page = _first_page(f"http://127.0.0.1:{port}/", started)
        figures = {
            "messages": messages,
            "first_page_s": first_page,
            "search_ms": {q: _median_ms(f"http://127.0.0.1:{port}/conversations?q={q}") for q in SEARCHES},
            "transcript_ms": _median_ms(f"http://127.0.0.1:{port}/conversations/{provider}/{cid}"),
            "pages_ms": {
                page: _median_ms(f"http://127.0.0.1:{port}{page}")
                for page in (
                    "/",
                    "/conversations",
                    "/conversations?outcome=failed",
                    f"/conversations?outcome=failed&topic={topic}",
                    "/topics",
                    f"/topics/{topic}",
                    "/gaps",
                )
            },
            "longest": longest,
        }
    finally:
        server.terminate()
        server.wait(timeout=30)
    section = table(figures)
    print(section)
    if not args.no_write:
        write(section, BEGIN, END)
    return 0


def _with_insights(warehouse: Path) -> None:
    """Runs ``chatsync insights`` on the warehouse once, so topics and gaps have pages to measure."""
    with duckdb.connect(str(warehouse), read_only=True) as db:
        present = db.execute(
            "SELECT COUNT(*) FROM information_schema.tables "
            "WHERE table_schema = 'chat_history' AND table_name = 'topics'"
        ).fetchone()[0]  # type: ignore[index]
    if present:
        return
    project_dir = Path(tempfile.mkdtemp(prefix="chatsync-explore-insights-"))
    (project_dir / ".dlt").mkdir()
    environment = {**os.environ, "DESTINATION__DUCKDB__CREDENTIALS": str(warehouse)}
    print("computing insights first (chatsync insights) ...", flush=True)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pipelines.cli",
            "-q",
            "insights",
            "--pipelines-dir",
            str(warehouse.parent / "pipelines"),
        ],
        cwd=project_dir,
        env=environment,
        check=True,
    )


def _first_page(url: str, started: float) -> float:
    while time.perf_counter() - started < 60:
        try:
            if requests.get(url, timeout=5).status_code == 200:
                return time.perf_counter() - started
        except requests.ConnectionError:
            time.sleep(0.02)
    raise SystemExit("chatsync explore did not answer within 60 s")


def table(figures: dict[str, Any]) -> str:
    """The Markdown section: the machine, the date, each figure against its target."""
    machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    when = datetime.now(UTC).strftime("%Y-%m-%d")
    search = max(figures["search_ms"].values())
    searched = ", ".join(f"`{q}` {ms:.0f} ms" for q, ms in figures["search_ms"].items())
    slowest = max(figures["pages_ms"].values())
    pages = ", ".join(f"`{p}` {ms:.0f} ms" for p, ms in figures["pages_ms"].items())
    return "\n".join(
        [
            BEGIN,
            "## Explore",
            "",
            f"`make bench-explore` on {when}, {machine}: `chatsync explore` as its own process over a DuckDB "
            f"warehouse of {figures['messages']:,} messages; each page fetched over HTTP, median of {ROUNDS}.",
            "",
            "| figure | target | measured | met |",
            "|---|---|---|---|",
            f"| `/conversations?q=…` at {figures['messages']:,} messages | ≤ {SEARCH_TARGET_MS} ms | {searched} "
            f"| {'yes' if search <= SEARCH_TARGET_MS else 'NO'} |",
            f"| every other page at {figures['messages']:,} messages | ≤ {PAGE_TARGET_MS} ms | {pages} "
            f"| {'yes' if slowest <= PAGE_TARGET_MS else 'NO'} |",
            f"| transcript page of the longest conversation ({figures['longest']:,} messages; the simulator "
            f"makes none of 1,000) | ≤ 200 ms | {figures['transcript_ms']:.0f} ms "
            f"| {'yes' if figures['transcript_ms'] <= 200 else 'NO'} |",
            f"| `chatsync explore` start to first page | ≤ 2 s | {figures['first_page_s']:.2f} s "
            f"| {'yes' if figures['first_page_s'] <= 2 else 'NO'} |",
            END,
        ]
    )


if __name__ == "__main__":
    raise SystemExit(main())
