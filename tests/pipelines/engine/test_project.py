"""The project folder is found, or the command refuses: nothing is created in the wrong place."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bench.payload_cases import labelled_lines
from pipelines.cli import main
from simulator import Simulator


def tree(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


@pytest.mark.parametrize("command", [["status"], ["check"], ["run"], ["report"], ["reset", "--provider", "owlbot"]])
def test_a_command_outside_a_project_exits_2_naming_where_it_looked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], command: list[str]
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    assert main(command) == 2
    errors = labelled_lines(capsys.readouterr().err, "error")
    assert errors == [
        f"error: not a chatsync project: no .dlt/ folder in the working directory ({elsewhere}); "
        "run chatsync from the project folder or set DLT_PROJECT_DIR to it"
    ]
    assert tree(elsewhere) == [], "nothing is created outside a project"


def test_dlt_project_dir_holds_state_warehouse_and_key_whatever_the_working_directory(
    sim: Simulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project, elsewhere = tmp_path / "project", tmp_path / "elsewhere"
    (project / ".dlt").mkdir(parents=True)
    elsewhere.mkdir()
    for name in ("DLT_DATA_DIR", "CHATSYNC__PII_KEY"):  # the defaults, as an installation has them
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DLT_PROJECT_DIR", str(project))
    monkeypatch.setenv("SOURCES__EXAMPLE_AI__BASE_URL", sim.base_url("example_ai"))
    monkeypatch.setenv("SOURCES__EXAMPLE_AI__API_KEY", sim.settings.api_keys["example_ai"])
    monkeypatch.setenv("SOURCES__EXAMPLE_AI__CONVERSATION_IDS", json.dumps(sim.corpus.conversation_ids("example_ai")))
    monkeypatch.chdir(elsewhere)
    assert main(["-q", "run", "--provider", "example_ai"]) == 0
    key = (project / ".chatsync" / "pii.key").read_text()
    assert (project / "chatsync.duckdb").is_file()
    assert (project / ".chatsync" / "pipelines" / "chat_history").is_dir()
    assert tree(elsewhere) == []
    monkeypatch.chdir(project)  # the same project from its own folder: the same key, the same state
    assert main(["-q", "run", "--provider", "example_ai"]) == 0
    assert (project / ".chatsync" / "pii.key").read_text() == key
    assert tree(elsewhere) == []


def installation(sim: Simulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project with the defaults of an installation: a generated hashing key in .chatsync."""
    for name in ("DLT_DATA_DIR", "CHATSYNC__PII_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SOURCES__OWLBOT__BASE_URL", sim.base_url("owlbot"))
    monkeypatch.setenv("SOURCES__OWLBOT__API_KEY", sim.settings.api_keys["owlbot"])
    return tmp_path / ".chatsync" / "pii.key"


@pytest.mark.parametrize("content", ["", "\n", "half a key\n"])
def test_an_empty_or_malformed_hashing_key_is_refused_with_exit_2(
    sim: Simulator,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    content: str,
) -> None:
    key = installation(sim, tmp_path, monkeypatch)
    key.parent.mkdir(parents=True)
    key.write_text(content)  # what a full disk left behind
    assert main(["run", "--provider", "owlbot"]) == 2
    errors = labelled_lines(capsys.readouterr().err, "error")
    assert len(errors) == 1 and f"the key that hashes personal data, {key}, is " in errors[0]
    assert key.read_text() == content, "never replaced: hashes made with another key would not match"
    assert not (tmp_path / "chatsync.duckdb").exists(), "nothing loaded"


def test_a_hashing_key_that_cannot_be_saved_is_never_used(tmp_path: Path) -> None:
    """A write that fails (the file size limit stands in for a full disk) leaves no key and hashes nothing."""
    code = (
        "import resource, signal, sys\n"
        "from pipelines.engine.workspace import StatePaths, key_at\n"
        "signal.signal(signal.SIGXFSZ, signal.SIG_IGN)\n"
        "resource.setrlimit(resource.RLIMIT_FSIZE, (10, 10))\n"
        "try:\n"
        "    key_at(StatePaths.of(sys.argv[1]).key_file, None)\n"
        "except Exception as exc:\n"
        "    print(type(exc).__name__, exc)\n"
    )
    pipelines = tmp_path / "state" / "pipelines"
    done = subprocess.run([sys.executable, "-c", code, str(pipelines)], capture_output=True, text=True, timeout=60)
    assert done.stdout.startswith("StorageError cannot save the key that hashes personal data"), done
    assert "nothing was hashed or loaded" in done.stdout
    assert [p.name for p in (tmp_path / "state").iterdir() if p.is_file()] == [], "no key, no temporary file"


def test_dlt_telemetry_is_off_unless_configured(tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "from dlt.common.runtime import anon_tracker\n"
        "from pipelines.engine.factory import build_pipeline\n"
        "from pipelines.engine.target import Target\n"
        "build_pipeline(Target(pipelines_dir=sys.argv[1], duckdb_path=sys.argv[2]))\n"
        "print('tracking' if anon_tracker._ANON_TRACKER_ENDPOINT else 'silent')\n"
    )
    args = [sys.executable, "-c", code, str(tmp_path / "p"), str(tmp_path / "w.duckdb")]
    environment = {k: v for k, v in os.environ.items() if not k.startswith("RUNTIME__")}
    assert subprocess.run(args, capture_output=True, text=True, env=environment, cwd=tmp_path).stdout == "silent\n"
    environment["RUNTIME__DLTHUB_TELEMETRY"] = "true"  # an operator who opts in
    assert subprocess.run(args, capture_output=True, text=True, env=environment, cwd=tmp_path).stdout == "tracking\n"
