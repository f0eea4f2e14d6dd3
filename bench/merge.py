"""What each of dlt's merge strategies costs chatsync's largest table, per destination: ``make bench-merge``.

    .venv/bin/python -m bench.merge [--rows 100000] [--destinations duckdb postgres]

A ``messages``-shaped Arrow table (key: provider, conversation, message; a text, a timestamp and a
JSON ``raw``) is loaded into an empty table (a first load), then 1% new rows on top (an
incremental run), with each write disposition: ``merge`` by ``delete-insert`` (chatsync's today,
with its staged rows declared unique), ``upsert`` and ``insert-only``, and plain ``append`` as the
floor. Each load is its own ``pipeline.run`` in this process; the figure is that call's wall time.
PostgreSQL is a real server started by ``pgserver``. Prints a table; writes its section of
``bench/RESULTS.md``.
"""

from __future__ import annotations

import argparse
import platform
import re
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import dlt
import pyarrow as pa
from rich.console import Console
from rich.table import Table

from sources.common.dlt_internals import STAGED_DEDUPLICATED

from .insights import write

BEGIN, END = "<!-- merge:begin -->", "<!-- merge:end -->"
KEY = ["provider", "conversation_id", "message_id"]
DISPOSITIONS: dict[str, Any] = {
    "merge: delete-insert (chatsync)": {"disposition": "merge", "strategy": "delete-insert"},
    "merge: upsert": {"disposition": "merge", "strategy": "upsert"},
    "merge: insert-only": {"disposition": "merge", "strategy": "insert-only"},
    "append (the floor)": "append",
}


def messages(first: int, count: int) -> pa.Table:
    """``count`` messages numbered from ``first``, ten to a conversation."""
    numbers = range(first, first + count)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    return pa.table(
        {
            "provider": ["owlbot"] * count,
            "conversation_id": [f"conv-{n // 10}" for n in numbers],
            "message_id": [f"msg-{n}" for n in numbers],
            "role": ["user" if n % 2 else "assistant" for n in numbers],
            "content": [f"message {n}: how do I reset my password on the mobile app?" for n in numbers],
            "created_at": pa.array([start + timedelta(seconds=n) for n in numbers], pa.timestamp("us", tz="UTC")),
            "raw": [f'{{"id":"msg-{n}","content":"message {n}","user":"user"}}' for n in numbers],
        }
    )


def timed_load(pipeline: dlt.Pipeline, data: pa.Table, disposition: Any) -> float:
    """One ``pipeline.run`` of ``data`` into ``messages``; its wall seconds."""
    hints: dict[str, Any] = {STAGED_DEDUPLICATED: True} if "delete-insert" in str(disposition) else {}
    resource = dlt.resource(
        data,
        name="messages",
        primary_key=KEY,
        write_disposition=disposition,
        columns={"raw": {"data_type": "json"}},
    )
    if hints:
        resource.apply_hints(additional_table_hints=hints)
    started = time.perf_counter()
    pipeline.run(resource, loader_file_format="parquet")
    return time.perf_counter() - started


@contextmanager
def destination(name: str, scratch: Path) -> Iterator[Any]:
    """A fresh destination: a DuckDB file, or a PostgreSQL server of its own."""
    if name == "duckdb":
        yield dlt.destinations.duckdb(str(scratch / "merge.duckdb"))
        return
    import pgserver

    server = pgserver.get_server(str(scratch / "postgres"), cleanup_mode="stop")
    try:
        yield dlt.destinations.postgres(server.get_uri().replace(":@/", ":@localhost/", 1))
    finally:
        server.cleanup()


def measure(names: list[str], rows: int) -> list[tuple[str, str, float, float]]:
    """Per destination and disposition: the first load's seconds and the 1%-new load's."""
    results = []
    first, new = messages(0, rows), messages(rows, max(1, rows // 100))
    for name in names:
        for label, disposition in DISPOSITIONS.items():
            with tempfile.TemporaryDirectory() as scratch, destination(name, Path(scratch)) as target:
                pipeline = dlt.pipeline(
                    f"merge_{re.sub(r'[^a-z]', '_', label)}",
                    destination=target,
                    dataset_name="merge_bench",
                    pipelines_dir=str(Path(scratch) / "pipelines"),
                )
                full = timed_load(pipeline, first, disposition)
                incremental = timed_load(pipeline, new, disposition)
                results.append((name, label, full, incremental))
                print(f"{name:9} {label:32} first {full:6.2f} s   1% new {incremental:6.2f} s", flush=True)
    return results


def write_section(results: list[tuple[str, str, float, float]], rows: int) -> None:
    """The ``merge`` section of ``bench/RESULTS.md``."""
    lines = [
        BEGIN,
        "## Merge strategies",
        "",
        f"`make bench-merge` on {datetime.now(UTC):%Y-%m-%d}, {platform.machine()}, Python "
        f"{platform.python_version()}: {rows:,} `messages`-shaped rows into an empty table, then "
        f"{max(1, rows // 100):,} new ones, each a `pipeline.run` (wall seconds).",
        "",
        "| destination | write disposition | first load s | 1% new s |",
        "|---|---|---|---|",
        *(f"| {name} | {label} | {full:.2f} | {incremental:.2f} |" for name, label, full, incremental in results),
        END,
    ]
    write("\n".join(lines), BEGIN, END)


def main() -> None:
    """Measures every strategy on every destination asked for."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--destinations", nargs="+", default=["duckdb", "postgres"], choices=["duckdb", "postgres"])
    args = parser.parse_args()
    results = measure(args.destinations, args.rows)
    table = Table(title=f"merge strategies, {args.rows:,} rows then 1% new")
    for column in ("destination", "write disposition", "first load s", "1% new s"):
        table.add_column(column)
    for name, label, full, incremental in results:
        table.add_row(name, label, f"{full:.2f}", f"{incremental:.2f}")
    Console().print(table)
    write_section(results, args.rows)


if __name__ == "__main__":
    main()
