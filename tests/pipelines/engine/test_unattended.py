"""Running unattended: the run lock, crash repair, pending packages, signals, project-local state.

Real simulator, real DuckDB (and a real PostgreSQL for the advisory lock), real processes where
the mechanism is about processes. ``make reliability`` runs the same mechanisms at scale.
"""

from __future__ import annotations

import os
import shutil
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import pytest

from bench.payload_cases import labelled_lines, lost_messages
from pipelines.cli import main
from pipelines.cli.simulated import simulator_environment
from pipelines.engine.factory import build_pipeline
from pipelines.engine.locking import ADVISORY_CLASS
from pipelines.engine.target import Target, insights_target
from pipelines.warehouse.ledger import WarehouseLedger
from simulator import Corpus, FaultSpec, Simulator, SimulatorSettings
from sources.common.source_run import SourceRun
from sources.example_ai import example_ai
from sources.owlbot import owlbot

PROVIDERS = ("example_ai", "owlbot", "chatnode", "feedloop")
REPO = Path(__file__).parents[3]

ENGINE_RUN = SourceRun(ledger=WarehouseLedger)  # what the engine gives a source: the warehouse's facts


def exact(sim: Simulator, warehouse: Path, providers: tuple[str, ...] = PROVIDERS) -> bool:
    return all(lost_messages(sim, warehouse, provider) == 0 for provider in providers)


@contextmanager
def lock_held_by_child(lock_path: Path) -> Iterator[subprocess.Popen[str]]:
    """Another process holding chatsync's run lock, until killed with SIGKILL."""
    code = (
        "import sys, time\n"
        "from pathlib import Path\n"
        "from pipelines.engine.locking import file_lock\n"
        "with file_lock(Path(sys.argv[1]), 'test'):\n"
        "    print('held', flush=True)\n"
        "    time.sleep(120)\n"
    )
    child = subprocess.Popen(
        [sys.executable, "-c", code, str(lock_path)],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "held"
        yield child
    finally:
        child.kill()
        child.wait()


@pytest.mark.slow
def test_a_second_run_is_refused_naming_the_holder_and_a_dead_holder_never_blocks(
    sim: Simulator, configured: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pipelines_dir = tmp_path / "pipelines"
    with lock_held_by_child(pipelines_dir / "chat_history.lock") as holder:
        assert main(["run", "--pipelines-dir", str(pipelines_dir)]) == 75
        err = capsys.readouterr().err
        assert "skipped: another chatsync run holds the lock of pipeline 'chat_history'" in err
        assert f"pid {holder.pid} on " in err and " since 20" in err
        assert not configured.exists(), "a refused run touches nothing"
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    assert main(["run", "--pipelines-dir", str(pipelines_dir)]) == 0
    assert exact(sim, configured)


def test_postgres_advisory_lock_refuses_a_run_from_another_machine(
    sim: Simulator,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    postgres_uri: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    import psycopg2

    for key, value in simulator_environment(sim).items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("DESTINATION__POSTGRES__CREDENTIALS", postgres_uri)
    dataset = "locked_chat_history"
    other_machine = psycopg2.connect(postgres_uri.replace("localhost/", "/", 1))
    try:
        with other_machine.cursor() as cursor:
            key = f"chatsync:chat_history:{dataset}"  # the warehouse lock of the dataset
            cursor.execute("SELECT pg_advisory_lock(%s, hashtext(%s))", (ADVISORY_CLASS, key))
        args = ["run", "--provider", "example_ai", "--destination", "postgres", "--dataset", dataset]
        assert main(args) == 75
        err = capsys.readouterr().err
        assert f"holds the warehouse lock of dataset '{dataset}': postgres backend pid " in err
    finally:
        other_machine.close()
    assert main(args) == 0


def _pending_package(sim: Simulator, tmp_path: Path, source: object, normalize: bool) -> Path:
    """A pipeline left by a run killed after extract (and normalize): returns its working dir."""
    pipeline = build_pipeline(Target(pipelines_dir=str(tmp_path / "pipelines")))
    pipeline.extract(source, loader_file_format="parquet")
    if normalize:
        pipeline.normalize()
    return Path(pipeline.working_dir)


@pytest.mark.slow
def test_a_package_broken_by_a_kill_is_repaired_and_its_data_extracted_again(
    sim: Simulator, configured: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ids = sim.corpus.conversation_ids("example_ai")
    working = _pending_package(sim, tmp_path, example_ai(conversation_ids=ids, run_with=ENGINE_RUN), normalize=False)
    (package,) = (working / "normalize" / "extracted").iterdir()
    (package / "schema.json").unlink()  # the state it carries moved the cursors: they must be undone
    (working / "normalize" / "a1b2c3d4").mkdir()  # an extract that never committed
    assert main(["run", "--pipelines-dir", str(tmp_path / "pipelines")]) == 0
    err = capsys.readouterr().err
    assert "warning: repaired an interrupted run: removed 1 leftover folder (normalize/a1b2c3d4)" in err
    assert f"dropped 1 broken package ({package.name})" in err
    assert exact(sim, configured)
    assert main(["run", "--pipelines-dir", str(tmp_path / "pipelines")]) == 0, "and the next run is clean"
    assert "repaired" not in capsys.readouterr().err


@pytest.mark.slow
def test_a_kill_inside_normalize_commit_is_repaired(
    sim: Simulator, configured: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    working = _pending_package(sim, tmp_path, owlbot(run_with=ENGINE_RUN), normalize=True)
    (normalized,) = (working / "load" / "normalized").iterdir()
    leftover = working / "normalize" / "extracted" / normalized.name
    shutil.copytree(normalized, leftover)  # normalize renamed its output, then died deleting its input
    shutil.rmtree(leftover / "new_jobs")
    assert main(["run", "--pipelines-dir", str(tmp_path / "pipelines")]) == 0
    out = capsys.readouterr()
    assert f"removed 1 leftover folder (normalize/extracted/{normalized.name})" in out.err
    assert exact(sim, configured)


@pytest.mark.slow
def test_pending_packages_never_hide_a_provider(
    sim: Simulator, configured: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["run", "--provider", "example_ai", "--pipelines-dir", str(tmp_path / "pipelines")]) == 0
    _pending_package(sim, tmp_path, owlbot(run_with=ENGINE_RUN), normalize=True)  # a later run died before its load
    pending = len(sim.truth("owlbot").messages)
    capsys.readouterr()
    sim.clear_log()
    assert main(["run", "--pipelines-dir", str(tmp_path / "pipelines")]) == 0
    err = capsys.readouterr().err
    assert "recovered: owlbot: recovered from an interrupted run: " in err and f"{pending} messages" in err
    assert {r.provider for r in sim.requests} == set(PROVIDERS), "every provider is extracted in the same run"
    assert exact(sim, configured)


def _started_run(sim: Simulator, tmp_path: Path, warehouse: Path) -> subprocess.Popen[str]:
    env = {
        **os.environ,
        **simulator_environment(sim),
        "PYTHONPATH": str(REPO),
        "DESTINATION__DUCKDB__CREDENTIALS": str(warehouse),
    }
    command = [sys.executable, "-m", "pipelines.cli", "run", "--pipelines-dir", str(tmp_path / "pipelines")]
    return subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


@pytest.mark.slow
@pytest.mark.parametrize(("signum", "code", "name"), [(signal.SIGINT, 130, "SIGINT"), (signal.SIGTERM, 143, "SIGTERM")])
def test_a_signal_stops_the_run_promptly_and_the_next_run_continues_exactly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, signum: int, code: int, name: str
) -> None:
    monkeypatch.setenv("RUNTIME__REQUEST_MAX_ATTEMPTS", "6")
    corpus = Corpus(seed=11, size=600)
    warehouse = tmp_path / "warehouse.duckdb"
    with Simulator(corpus, settings=SimulatorSettings(latency_ms=150), faults=FaultSpec(p503=0.3)) as sim:
        run = _started_run(sim, tmp_path, warehouse)
        deadline = time.monotonic() + 60
        while len(sim.requests) < 5 and time.monotonic() < deadline:
            time.sleep(0.05)
        run.send_signal(signum)
        sent = time.monotonic()
        _, err = run.communicate(timeout=60)
        took = time.monotonic() - sent
        assert run.returncode == code, err
        assert took < 5, f"stopped {took:.1f} s after the signal"
        assert f"stopped: {name} received" in err and "Traceback" not in err
        sim.settings = SimulatorSettings()
        sim.set_faults(FaultSpec())
        rerun = _started_run(sim, tmp_path, warehouse)
        _, err = rerun.communicate(timeout=120)
        assert rerun.returncode == 0, err
        assert exact(sim, warehouse)


def test_two_checkouts_keep_their_own_state_and_warehouse(
    sim: Simulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key, value in simulator_environment(sim).items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("DLT_DATA_DIR")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("DESTINATION__DUCKDB__CREDENTIALS", "chatsync.duckdb")  # relative, as users write it
    for checkout in ("first", "second"):
        (tmp_path / checkout / ".dlt").mkdir(parents=True)  # each checkout is a project
        monkeypatch.chdir(tmp_path / checkout)
        assert main(["run", "--provider", "example_ai"]) == 0
    for checkout in ("first", "second"):
        root = tmp_path / checkout
        assert exact(sim, root / "chatsync.duckdb", ("example_ai",)), f"{checkout} loaded everything itself"
        assert (root / ".chatsync" / "pipelines" / "chat_history" / "state.json").is_file()
        assert stat.S_IMODE((root / ".chatsync" / "pipelines").stat().st_mode) == 0o700
    assert not (tmp_path / "home" / ".dlt" / "pipelines").exists(), "nothing in the account-wide dlt dir"


def test_a_provider_that_is_down_fails_once_not_per_conversation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("RUNTIME__REQUEST_MAX_ATTEMPTS", "2")
    with Simulator(Corpus(seed=11, size=3_000), faults=FaultSpec(p503=1.0)) as sim:
        for key, value in simulator_environment(sim).items():
            monkeypatch.setenv(key, value)
        monkeypatch.setenv("DESTINATION__DUCKDB__CREDENTIALS", str(tmp_path / "w.duckdb"))
        assert main(["run", "--provider", "example_ai"]) == 1
        conversations = len(sim.corpus.conversation_ids("example_ai"))
        asked = {r.query["conversation_id"] for r in sim.requests}
    errors = labelled_lines(capsys.readouterr().err, "error")
    assert len(errors) == 1 and "the provider looks down" in errors[0], errors
    assert len(asked) < conversations, "it stopped asking"


@pytest.mark.slow
def test_a_fault_storm_loses_and_duplicates_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    storm = "429=0.08,500=0.06,503=0.06,reset=0.04,truncate=0.03,invalid=0.03,retry_after=0"
    with Simulator(Corpus(seed=17, size=500), faults=FaultSpec.parse(storm, seed=3)) as sim:
        warehouse = tmp_path / "w.duckdb"
        monkeypatch.setenv("DESTINATION__DUCKDB__CREDENTIALS", str(warehouse))
        for _ in range(2):
            for key, value in simulator_environment(sim).items():
                monkeypatch.setenv(key, value)
            assert main(["run", "--pipelines-dir", str(tmp_path / "p")]) in (0, 3)
            sim.advance(timedelta(hours=12))
        assert sum(1 for r in sim.requests if r.fault) > 0.25 * len(sim.requests)
        sim.set_faults(FaultSpec())
        for key, value in simulator_environment(sim).items():
            monkeypatch.setenv(key, value)
        assert main(["run", "--pipelines-dir", str(tmp_path / "p")]) == 0
        assert exact(sim, warehouse)


@pytest.mark.slow
def test_an_empty_package_folder_left_by_an_overlap_does_not_jam_the_pipeline(
    sim: Simulator, configured: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pipelines_dir = tmp_path / "pipelines"
    assert main(["run", "--provider", "owlbot", "--pipelines-dir", str(pipelines_dir)]) == 0
    ids = sim.corpus.conversation_ids("example_ai")
    source = example_ai(conversation_ids=ids, run_with=ENGINE_RUN)
    _pending_package(sim, tmp_path, source, normalize=False)  # cursors moved locally
    (pipelines_dir / "chat_history" / "load" / "normalized" / "1795000000.123").mkdir(parents=True)
    assert main(["run", "--pipelines-dir", str(pipelines_dir)]) == 0
    err = capsys.readouterr().err
    assert "dropped 1 broken package (1795000000.123)" in err and "rebuilt the local state" in err
    assert exact(sim, configured)


def test_an_unreachable_warehouse_is_one_error_line(
    sim: Simulator, configured: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DESTINATION__POSTGRES__CREDENTIALS", "postgresql://loader:pw@127.0.0.1:9/analytics")
    assert main(["run", "--provider", "example_ai", "--destination", "postgres"]) == 1
    err = capsys.readouterr().err
    errors = labelled_lines(err, "error")
    assert len(errors) == 1 and errors[0].startswith("error: warehouse: "), err
    assert "Traceback" not in err


def test_report_is_refused_while_a_run_holds_the_lock(
    sim: Simulator, configured: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pipelines_dir = tmp_path / "pipelines"
    assert main(["run", "--provider", "example_ai", "--pipelines-dir", str(pipelines_dir)]) == 0
    with lock_held_by_child(pipelines_dir / "chat_history.lock"):
        assert main(["report", "--pipelines-dir", str(pipelines_dir)]) == 75
        assert "skipped: another chatsync run holds the lock" in capsys.readouterr().err
    assert main(["report", "--pipelines-dir", str(pipelines_dir)]) == 0


@pytest.mark.slow
def test_one_dlt_trace_covers_every_provider_of_a_run(
    sim: Simulator, configured: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("INSIGHTS__ENABLED", "true")  # the insights refresh has a trace of its own
    assert main(["run", "--pipelines-dir", str(tmp_path / "pipelines")]) == 0
    target = Target(pipelines_dir=str(tmp_path / "pipelines"))
    trace = build_pipeline(target).last_trace
    steps = [step.step for step in trace.steps]
    loads = len(PROVIDERS)
    assert steps.count("extract") == loads and steps.count("load") >= loads, steps
    # insights write through their own pipeline (a small state): one extract, normalize and load
    insights = [step.step for step in build_pipeline(insights_target(target)).last_trace.steps]
    assert insights.count("extract") == 1 and insights.count("load") == 1, insights
