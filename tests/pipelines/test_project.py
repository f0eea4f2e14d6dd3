"""The project folder is found, or the command refuses: nothing is created in the wrong place."""

from __future__ import annotations

import json
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
