"""A load succeeds while a reader polls the DuckDB file: writers wait, bounded, for readers to let go."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from pipelines.cli import main
from simulator import Simulator

POLLER = """
import os, sys, time, duckdb
path, seconds, stop = sys.argv[1], float(sys.argv[2]), sys.argv[3]
reads = 0
end = time.monotonic() + seconds
while time.monotonic() < end and not os.path.exists(stop):
    try:
        with duckdb.connect(path, read_only=True) as db:
            db.execute("SELECT COUNT(*) FROM information_schema.tables").fetchall()
            reads += 1
    except duckdb.Error:
        pass  # the writer holds it this instant
    time.sleep(0.05)
print(reads)
"""


def _poll(warehouse: Path, seconds: float) -> subprocess.Popen[str]:
    """A reader polling ``warehouse`` every 50 ms for ``seconds``, or until ``<warehouse>.stop`` exists."""
    stop = str(warehouse) + ".stop"
    return subprocess.Popen(
        [sys.executable, "-c", POLLER, str(warehouse), str(seconds), stop], stdout=subprocess.PIPE, text=True
    )


@pytest.mark.slow
def test_a_run_succeeds_while_a_reader_polls_every_50_ms(
    sim: Simulator, configured: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["run", "--provider", "owlbot"]) == 0  # the file exists: the reader can open it
    reader = _poll(configured, 25)
    try:
        assert main(["run"]) == 0, capsys.readouterr().err[-2000:]
    finally:
        Path(str(configured) + ".stop").touch()  # the load is over: the reader stops polling
        reads = int((reader.communicate(timeout=60)[0] or "0").strip() or 0)
    assert reads > 10, "the reader read throughout the load"
    with duckdb.connect(str(configured), read_only=True) as db:
        providers = {p for (p,) in db.execute("SELECT DISTINCT provider FROM chat_history.messages").fetchall()}
    assert providers == {"example_ai", "owlbot", "chatnode", "feedloop"}


def test_a_writer_gives_up_in_one_line_when_a_reader_never_lets_go(
    sim: Simulator, configured: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["run", "--provider", "owlbot"]) == 0
    monkeypatch.setenv("CHATSYNC__READER_WAIT_SECONDS", "2")
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import duckdb, time; c = duckdb.connect({str(configured)!r}, read_only=True); "
            "print(1, flush=True); time.sleep(20)",
        ],
        stdout=subprocess.PIPE,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == b"1"
        capsys.readouterr()
        code = main(["run", "--provider", "owlbot"])
        err = capsys.readouterr().err
    finally:
        holder.kill()
        holder.wait()
    assert code == 1
    lines = [line for line in err.splitlines() if "error:" in line]
    assert len(lines) == 1 and "held by another process" in lines[0] and "2 s" in lines[0], err


def test_the_adapter_still_fits_dlt() -> None:
    """Fails loudly when a dlt upgrade moves what ``pipelines.engine.duckdb_readers`` wraps."""
    import inspect

    from dlt.destinations.impl.duckdb.configuration import DuckDbConnectionPool, DuckDbCredentials

    from pipelines.engine.duckdb_readers import wait_in_dlt_pool

    source = inspect.getsource(DuckDbConnectionPool)
    assert "def borrow_conn" in source and "duckdb.connect(" in source, "dlt opens DuckDB elsewhere now"
    assert "DuckDbConnectionPool(self)" in inspect.getsource(DuckDbCredentials), "dlt makes its pool elsewhere"
    wait_in_dlt_pool()
    wait_in_dlt_pool()
    assert getattr(DuckDbConnectionPool.borrow_conn, "_chatsync_waits_for_readers", False)
