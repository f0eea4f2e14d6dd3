"""State belongs to one (destination, dataset): switching warehouses never loses or duplicates data."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from pipelines.cli import main
from pipelines.cli.simulated import simulator_environment
from pipelines.engine.factory import reading_pipeline
from pipelines.engine.target import Target
from simulator import Corpus, Simulator
from tests.utils import truth_messages

MessageKey = tuple[str, str, str]


def point_at(sim: Simulator, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every provider at ``sim``; again after ``advance``, since new conversations need their ids."""
    for key, value in simulator_environment(sim).items():
        monkeypatch.setenv(key, value)


def loaded(target: Target) -> Counter[MessageKey]:
    """How often each message is stored in ``target``'s warehouse."""
    with reading_pipeline(target) as pipeline:
        assert pipeline is not None
        with pipeline.sql_client() as client:
            table = client.make_qualified_table_name("messages")
            rows = client.execute_sql(f"SELECT provider, conversation_id, message_id FROM {table}") or []
    return Counter((str(p), str(c), str(m)) for p, c, m in rows)


# Two providers are enough to show the rule (the measurement: ChatNode and Feedloop lost
# messages); the rule itself is the same for every provider, and fewer keep make test short.
LOADED = ("chatnode", "feedloop")


def truth(sim: Simulator) -> set[MessageKey]:
    return {(provider, cid, mid) for provider in LOADED for (cid, mid) in truth_messages(sim, provider)}


def assert_exact(target: Target, sim: Simulator) -> None:
    stored = loaded(target)
    duplicates = {key: n for key, n in stored.items() if n > 1}
    assert not duplicates, f"{len(duplicates)} messages stored twice in {target.destination}/{target.dataset}"
    expected = truth(sim)
    missing = expected - set(stored)
    where = f"{target.destination}/{target.dataset}"
    assert not missing, f"{len(missing)} messages missing in {where}: {sorted(missing)[:3]}"
    assert set(stored) == expected


def run(*args: str) -> int:
    return main(["-q", "run", *(a for p in LOADED for a in ("--provider", p)), *args])


@pytest.mark.slow
def test_alternating_duckdb_and_postgres_with_growth_leaves_both_exact(
    postgres_uri: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DESTINATION__POSTGRES__CREDENTIALS", postgres_uri)
    monkeypatch.setenv("DESTINATION__DUCKDB__CREDENTIALS", str(tmp_path / "w.duckdb"))
    duck, pg = Target(), Target(destination="postgres", dataset="alternation")
    with Simulator(Corpus(seed=23, size=500)) as sim:
        point_at(sim, monkeypatch)
        assert run() == 0
        assert run("--destination", "postgres", "--dataset", "alternation") == 0
        assert_exact(duck, sim)
        assert_exact(pg, sim)
        for _ in range(2):
            sim.advance(timedelta(hours=12))
            point_at(sim, monkeypatch)
            assert run() == 0  # DuckDB first: its cursors must not become Postgres'
            assert_exact(duck, sim)
            assert run("--destination", "postgres", "--dataset", "alternation") == 0
            assert_exact(pg, sim)
    said = capsys.readouterr()
    assert (said.out, said.err) == ("", ""), "under -q nothing is printed: no dlt line (ADBC, state) leaks through"
    assert duck.state_name == "chat_history", "an existing installation keeps its pipeline"
    assert pg.state_name == "chat_history__postgres__alternation"


@pytest.mark.slow
def test_a_second_dataset_gets_cursors_of_its_own(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DESTINATION__DUCKDB__CREDENTIALS", str(tmp_path / "w.duckdb"))
    with Simulator(Corpus(seed=29, size=400)) as sim:
        point_at(sim, monkeypatch)
        assert run() == 0
        sim.advance(timedelta(hours=12))
        point_at(sim, monkeypatch)
        assert run("--dataset", "second") == 0
        assert_exact(Target(dataset="second"), sim)
        assert run() == 0
        assert_exact(Target(), sim)


@pytest.mark.slow
def test_local_cursors_the_warehouse_never_committed_are_not_trusted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Two DuckDB files behind one pipeline name (a file moved, or swapped by hand) both end exact."""
    files = [tmp_path / "first.duckdb", tmp_path / "second.duckdb"]
    notices = 0
    with Simulator(Corpus(seed=31, size=400)) as sim:
        for round_ in range(4):
            point_at(sim, monkeypatch)
            monkeypatch.setenv("DESTINATION__DUCKDB__CREDENTIALS", str(files[round_ % 2]))
            assert run() == 0
            notices += "follows the warehouse's own state" in capsys.readouterr().err
            assert_exact(Target(), sim)
            sim.advance(timedelta(hours=6))
    assert notices >= 1, "the swap back to a loaded file is told"


def run_status(*args: str) -> Any:
    return main(["status", *args])


def test_status_reads_the_target_it_is_given_and_creates_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DESTINATION__DUCKDB__CREDENTIALS", str(tmp_path / "w.duckdb"))
    before = sorted(p.name for p in tmp_path.iterdir())
    assert run_status() == 2, "no warehouse there: a usage error, as explore says"
    assert sorted(p.name for p in tmp_path.iterdir()) == before, "status created files"
    assert f"no warehouse at {tmp_path / 'w.duckdb'}" in capsys.readouterr().err
