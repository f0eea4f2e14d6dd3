"""Conversations deleted at the provider: ``deleted_at`` set, cleared on return, or the rows dropped."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import pytest

from pipelines.cli import main
from simulator import Simulator

PROVIDERS = ("example_ai", "owlbot", "chatnode", "feedloop")


def _rows(warehouse: Path, sql: str) -> list[tuple[Any, ...]]:
    with duckdb.connect(str(warehouse), read_only=True) as db:
        return db.execute(sql).fetchall()


def _marked(warehouse: Path) -> dict[str, set[str]]:
    marked: dict[str, set[str]] = {p: set() for p in PROVIDERS}
    sql = "SELECT provider, conversation_id FROM chat_history.conversations WHERE deleted_at IS NOT NULL"
    for provider, cid in _rows(warehouse, sql):
        marked[provider].add(cid)
    return marked


def _messages_of(warehouse: Path, provider: str, cid: str) -> int:
    sql = f"SELECT COUNT(*) FROM chat_history.messages WHERE provider = '{provider}' AND conversation_id = '{cid}'"
    return int(_rows(warehouse, sql)[0][0])


def _one_loaded_each(sim: Simulator, skip: int = 0) -> dict[str, str]:
    return {p: sim.corpus.conversation_ids(p)[skip] for p in PROVIDERS}


@pytest.mark.slow
def test_a_deleted_conversation_is_flagged_once_then_unflagged_when_it_returns(
    sim: Simulator, configured: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["run"]) == 0
    doomed = _one_loaded_each(sim)
    kept = {p: _messages_of(configured, p, cid) for p, cid in doomed.items()}
    for provider, cid in doomed.items():
        sim.corpus.delete_conversation(provider, cid)
    capsys.readouterr()

    assert main(["run"]) == 0
    out = capsys.readouterr().err
    assert _marked(configured) == {p: {cid} for p, cid in doomed.items()}
    assert {p: _messages_of(configured, p, cid) for p, cid in doomed.items()} == kept, "flag keeps the rows"
    assert "1 conversation deleted at the provider" in out
    assert "not found" not in out
    in_views = "SELECT provider, conversation_id FROM chat_history.conversation_metrics"
    assert not set(doomed.items()) & set(_rows(configured, in_views)), "the views leave deleted conversations out"
    assert len(_rows(configured, in_views)) > 50

    marks = "SELECT conversation_id, deleted_at FROM chat_history.conversations WHERE deleted_at IS NOT NULL"
    first = _rows(configured, marks)
    assert main(["run"]) == 0
    again = capsys.readouterr().err
    assert "not found" not in again and "warning" not in again
    assert again.count("1 configured conversation is deleted at the provider") == 2  # example-ai, Feedloop
    assert sorted(first) == sorted(_rows(configured, marks)), "the first mark stays"

    for provider, cid in doomed.items():
        sim.corpus.restore_conversation(provider, cid)
    assert main(["run"]) == 0
    assert _marked(configured) == {p: set() for p in PROVIDERS}


@pytest.mark.slow
def test_drop_policy_deletes_the_rows(sim: Simulator, configured: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert main(["run"]) == 0
    doomed = _one_loaded_each(sim, skip=1)
    for provider, cid in doomed.items():
        sim.corpus.delete_conversation(provider, cid)
    monkeypatch.setenv("CHATSYNC__DELETES", "drop")
    assert main(["run"]) == 0
    assert {p: _messages_of(configured, p, cid) for p, cid in doomed.items()} == dict.fromkeys(PROVIDERS, 0)
    sql = "SELECT provider, conversation_id FROM chat_history.conversations"
    assert not {(p, cid) for p, cid in doomed.items()} & set(_rows(configured, sql))


def test_an_unknown_delete_policy_is_a_usage_error(configured: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHATSYNC__DELETES", "purge")
    assert main(["run", "--provider", "owlbot"]) == 2


def test_a_wrong_url_marks_nothing(sim: Simulator, configured: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert main(["run", "--provider", "example_ai"]) == 0
    monkeypatch.setenv("SOURCES__EXAMPLE_AI__BASE_URL", sim.url + "/example-ai/v2")
    assert main(["run", "--provider", "example_ai"]) == 1
    assert _marked(configured)["example_ai"] == set()


def _deleted_messages(warehouse: Path, provider: str) -> set[tuple[str, str]]:
    sql = (
        "SELECT conversation_id, message_id FROM chat_history.messages "
        f"WHERE provider = '{provider}' AND deleted_at IS NOT NULL"
    )
    return {(str(c), str(m)) for c, m in _rows(warehouse, sql)}


def _message_ids(warehouse: Path, provider: str, cid: str) -> list[str]:
    sql = (
        "SELECT message_id FROM chat_history.messages "
        f"WHERE provider = '{provider}' AND conversation_id = '{cid}' ORDER BY created_at, sequence, message_id"
    )
    return [str(m) for (m,) in _rows(warehouse, sql)]


@pytest.mark.slow
def test_messages_gone_at_the_provider_are_flagged_by_a_whole_read(sim: Simulator, configured: Path) -> None:
    assert main(["run"]) == 0
    feedloop = next(c for c in sim.corpus.conversations("feedloop") if len(sim.corpus.visible_messages(c)) >= 4)
    owlbot = next(c for c in sim.corpus.conversations("owlbot") if len(sim.corpus.visible_messages(c)) >= 4)
    gone_feedloop = _message_ids(configured, "feedloop", feedloop.external_id)[1]
    gone_owlbot = _message_ids(configured, "owlbot", owlbot.external_id)[1]
    sim.corpus.delete_messages("feedloop", feedloop.external_id, [1])
    sim.corpus.delete_messages("owlbot", owlbot.external_id, [1])

    assert main(["run"]) == 0  # Feedloop reads every history whole: the run sees it
    assert _deleted_messages(configured, "feedloop") == {(feedloop.external_id, gone_feedloop)}
    assert _deleted_messages(configured, "owlbot") == set(), "a run reads OwlBot's changed sessions only"
    assert main(["audit", "--full", "--provider", "owlbot"]) == 0, "gone at the provider is not incomplete"
    assert _deleted_messages(configured, "owlbot") == {(owlbot.external_id, gone_owlbot)}


@pytest.mark.slow
@pytest.mark.parametrize("policy", ["flag", "drop"])
def test_a_restored_conversation_comes_back_on_the_next_normal_run(
    sim: Simulator, configured: Path, monkeypatch: pytest.MonkeyPatch, policy: str
) -> None:
    """Every provider can restore; the oldest conversation is outside ChatNode's lookback."""
    monkeypatch.setenv("CHATSYNC__DELETES", policy)
    assert main(["run"]) == 0
    oldest = _one_loaded_each(sim)
    before = {p: _message_ids(configured, p, cid) for p, cid in oldest.items()}
    assert all(before.values())
    for provider, cid in oldest.items():
        sim.corpus.delete_conversation(provider, cid)
    assert main(["run"]) == 0
    for provider, cid in oldest.items():
        sim.corpus.restore_conversation(provider, cid)

    assert main(["run"]) == 0
    assert {p: _message_ids(configured, p, cid) for p, cid in oldest.items()} == before
    assert _marked(configured) == {p: set() for p in PROVIDERS}
    sql = "SELECT provider, conversation_id FROM chat_history.conversations"
    assert set(oldest.items()) <= set(_rows(configured, sql))
