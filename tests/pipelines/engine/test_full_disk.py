"""A full disk under the DuckDB file: one line per provider naming the file and the space left, no flood."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.payload_cases import labelled_lines
from pipelines.cli import main
from pipelines.cli.simulated import simulator_environment
from simulator import Corpus, Simulator


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 1 MB tmpfs (needs root and mount rights; skipped where the machine has neither)."""
    mount = tmp_path / "small"
    mount.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount)], capture_output=True).returncode:
        pytest.skip("cannot mount a small tmpfs here")
    try:
        yield mount
    finally:
        subprocess.run(["umount", str(mount)], capture_output=True)


def test_a_full_disk_under_the_warehouse_is_one_line_per_provider(
    small_disk: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    warehouse = small_disk / "w.duckdb"
    with Simulator(Corpus(seed=7, size=5_000)) as sim:
        for key, value in simulator_environment(sim).items():
            monkeypatch.setenv(key, value)
        monkeypatch.setenv("DESTINATION__DUCKDB__CREDENTIALS", str(warehouse))
        monkeypatch.setenv("LOAD__RAISE_ON_MAX_RETRIES", "1")  # dlt retries a failed job; once says enough
        monkeypatch.setenv("RUNTIME__LOG_LEVEL", "WARNING")  # as .dlt/config.toml ships it, whatever ran before
        assert main(["run"]) == 1
    err = capsys.readouterr().err
    errors = labelled_lines(err, "error")
    assert len(errors) == 4, errors
    for line in errors:
        assert str(warehouse) in line and "No space left on device" in line and f"MB free on {small_disk})" in line
    assert "Traceback" not in err and len(err.splitlines()) < 15, err
