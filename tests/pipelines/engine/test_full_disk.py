"""A full disk under the DuckDB file: one line per provider naming the file and the space left, no flood."""

from __future__ import annotations

import os
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


@pytest.mark.slow
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


def fill(folder: Path, leave: int = 0) -> None:
    """Writes into ``folder`` until its disk has no byte left, then frees ``leave`` bytes (tmpfs pages)."""
    filler = folder / "filler"
    with filler.open("wb", buffering=0) as out:
        try:
            while True:
                out.write(b"\0" * 4096)
        except OSError:
            pass
    os.truncate(filler, filler.stat().st_size - leave)


def test_a_hashing_key_that_a_full_disk_cannot_hold_exits_1_naming_the_path_and_the_space(
    small_disk: Path,
    sim: Simulator,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The disk, not the configuration, is at fault: exit 1 (a run that failed), not 2 (usage)."""
    monkeypatch.delenv("CHATSYNC__PII_KEY", raising=False)
    for key, value in simulator_environment(sim).items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("DESTINATION__DUCKDB__CREDENTIALS", str(tmp_path / "w.duckdb"))
    fill(small_disk, leave=4096 * 2)  # room for the run lock's holder and dlt's first state, not for the key
    assert main(["run", "--provider", "owlbot", "--pipelines-dir", str(small_disk / "state" / "pipelines")]) == 1
    errors = labelled_lines(capsys.readouterr().err, "error")
    assert len(errors) == 1, errors
    assert str(small_disk / "state" / "pii.key") in errors[0] and "No space left on device" in errors[0], errors
    assert f"MB free on {small_disk / 'state'})" in errors[0], errors
    assert not (tmp_path / "w.duckdb").exists(), "nothing loaded"


def test_a_run_lock_that_a_full_disk_cannot_hold_exits_1_naming_the_path_and_the_space(
    small_disk: Path,
    sim: Simulator,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for key, value in simulator_environment(sim).items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("DESTINATION__DUCKDB__CREDENTIALS", str(tmp_path / "w.duckdb"))
    fill(small_disk)
    assert main(["run", "--provider", "owlbot", "--pipelines-dir", str(small_disk / "state" / "pipelines")]) == 1
    errors = labelled_lines(capsys.readouterr().err, "error")
    assert len(errors) == 1, errors
    assert f"cannot write {small_disk / 'state' / 'pipelines'}/" in errors[0], errors
    assert "No space left on device (0 MB free on " in errors[0], errors


def test_a_full_disk_under_the_pipelines_folder_names_the_path_and_the_space(
    small_disk: Path,
    sim: Simulator,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("CHATSYNC__PII_KEY", "k" * 32)
    for key, value in simulator_environment(sim).items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("DESTINATION__DUCKDB__CREDENTIALS", str(tmp_path / "w.duckdb"))
    monkeypatch.setenv("RUNTIME__LOG_LEVEL", "WARNING")
    pipelines = small_disk / "state" / "pipelines"
    fill(small_disk, leave=4096 * 4)  # room to start, not to extract
    assert main(["run", "--provider", "owlbot", "--pipelines-dir", str(pipelines)]) == 1
    errors = labelled_lines(capsys.readouterr().err, "error")
    assert errors, "the run failed, saying why"
    for line in errors:
        assert f"cannot write under {pipelines}: No space left on device (0 MB free on {pipelines})" in line, errors
        assert "OSError" not in line, errors
