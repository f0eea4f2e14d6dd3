"""What Intercom adds beyond the contract: Fin's verdict kept, Fin previews left out of every figure by default."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from pipelines.cli.simulated import simulator_environment
from pipelines.engine.factory import build_pipeline
from pipelines.engine.runner import load_providers
from pipelines.engine.target import Target
from pipelines.warehouse.analytics import refresh_views
from pipelines.warehouse.read_model import pipeline_read_model
from simulator import Corpus, Simulator
from simulator.intercom import is_preview, resolution_state


@pytest.fixture
def loaded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Simulator, Target]]:
    with Simulator(Corpus(seed=17, size=3_000, providers=("intercom",))) as sim:
        for key, value in simulator_environment(sim).items():
            monkeypatch.setenv(key, value)
        target = Target(pipelines_dir=str(tmp_path / "pipelines"), duckdb_path=str(tmp_path / "w.duckdb"))
        pipeline = build_pipeline(target)
        assert [o.error for o in load_providers(pipeline, ["intercom"], target)] == [None]
        refresh_views(pipeline)
        yield sim, target


def test_fins_verdict_is_kept_and_its_previews_are_flagged(loaded: tuple[Simulator, Target]) -> None:
    sim, target = loaded
    conversations = list(sim.corpus.conversations("intercom"))
    expected = {
        c.external_id: (resolution_state(c, sim.corpus.visible_messages(c), "2.14"), is_preview(c))
        for c in conversations
    }
    with duckdb.connect(str(target.duckdb_path), read_only=True) as db:
        rows = db.execute(
            "SELECT conversation_id, provider_verdict, test_conversation FROM chat_history.conversations"
        ).fetchall()
    fin = {cid: (verdict, test) for cid, verdict, test in rows}
    assert {cid: (v, bool(t)) for cid, (v, t) in fin.items()} == {
        cid: (v, p and v is not None) for cid, (v, p) in expected.items()
    }
    assert any(test for _, test in fin.values()), "the corpus holds Fin previews"


def test_previews_are_left_out_of_every_figure_unless_asked(
    loaded: tuple[Simulator, Target], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, target = loaded
    with duckdb.connect(str(target.duckdb_path), read_only=True) as db:
        (everything, tests) = db.execute(
            "SELECT COUNT(*), COUNT(*) FILTER (WHERE test_conversation) FROM chat_history.conversations"
        ).fetchone() or (0, 0)
        (in_views,) = db.execute("SELECT COUNT(*) FROM chat_history.conversation_metrics").fetchone() or (0,)
    assert tests > 0 and in_views == everything - tests
    with pipeline_read_model(build_pipeline(target)) as model:
        assert sum(b["conversations"] for b in model.bots()) == everything - tests
    monkeypatch.setenv("CHATSYNC__INCLUDE_TEST_CONVERSATIONS", "true")
    with pipeline_read_model(build_pipeline(target)) as model:
        assert sum(b["conversations"] for b in model.bots()) == everything


@pytest.mark.slow
def test_conversations_longer_than_the_api_returns_are_named_capped_never_silently(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the part cap at 3 (Intercom's is 500): the run names the capped conversations, audit calls them capped."""
    from pipelines.audit.audit import audit
    from pipelines.audit.verdicts import CAPPED
    from simulator import SimulatorSettings

    with Simulator(
        Corpus(seed=17, size=1_500, providers=("intercom",)), settings=SimulatorSettings(intercom_part_cap=3)
    ) as sim:
        for key, value in simulator_environment(sim).items():
            monkeypatch.setenv(key, value)
        monkeypatch.setenv("SOURCES__INTERCOM__MAX_PARTS", "3")  # as the simulator caps them here
        target = Target(pipelines_dir=str(tmp_path / "pipelines"), duckdb_path=str(tmp_path / "w.duckdb"))
        (outcome,) = load_providers(build_pipeline(target), ["intercom"], target)
        long = {c.external_id for c in sim.corpus.conversations("intercom") if len(sim.corpus.visible_messages(c)) > 4}
        assert long and outcome.error is None
        assert any("longer than the API returns" in line for line in outcome.observer.warnings), (
            outcome.observer.warnings
        )
        for full in (False, True):
            report = audit(target, ["intercom"], full=full)
            capped = {v.conversation_id for a in report.audits for v in a.verdicts if v.kind == CAPPED}
            assert capped == long and report.exit_code() == 0, (full, report)


@pytest.mark.slow
def test_a_search_window_too_large_is_split_and_nothing_is_lost(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sources.intercom
    from tests.utils import assert_exact

    monkeypatch.setattr(sources.intercom, "MAX_WINDOW_RESULTS", 7)  # a few conversations per window
    with Simulator(Corpus(seed=23, size=1_500, providers=("intercom",))) as sim:
        for key, value in simulator_environment(sim).items():
            monkeypatch.setenv(key, value)
        target = Target(pipelines_dir=str(tmp_path / "pipelines"), duckdb_path=str(tmp_path / "w.duckdb"))
        pipeline = build_pipeline(target)
        assert [o.error for o in load_providers(pipeline, ["intercom"], target)] == [None]
        searches = [r for r in sim.requests_for("intercom") if r.path.endswith("/conversations/search")]
        assert len(searches) > 10, "the window was split"
        assert_exact(pipeline, sim, "intercom")


@pytest.mark.slow
def test_forget_by_email_looks_the_contact_up_at_intercom_and_erases_them(
    loaded: tuple[Simulator, Target],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from pipelines.cli import main
    from simulator.intercom import contact_email, contact_id

    sim, target = loaded
    conversation = next(iter(sim.corpus.conversations("intercom")))
    contact, email = contact_id(conversation), contact_email(conversation)
    (tmp_path / ".dlt").mkdir(exist_ok=True)
    monkeypatch.chdir(tmp_path)
    where = ["--warehouse", str(target.duckdb_path), "--pipelines-dir", str(target.pipelines_dir)]
    sql = "SELECT COUNT(*) FROM chat_history.conversations WHERE provider = 'intercom' AND user_id = ?"
    with duckdb.connect(str(target.duckdb_path), read_only=True) as db:
        assert (db.execute(sql, [contact]).fetchone() or (0,))[0] > 0
    assert main(["forget", "--provider", "intercom", "--email", email, *where]) == 0
    with duckdb.connect(str(target.duckdb_path), read_only=True) as db:
        assert (db.execute(sql, [contact]).fetchone() or (1,))[0] == 0
    said = capsys.readouterr().out
    assert "erased that end user" in said and email not in said
    assert main(["forget", "--provider", "intercom", "--email", "nobody@example.org", *where]) == 0
    assert "no end user with that e-mail address" in capsys.readouterr().out
    assert main(["forget", "--provider", "feedloop", "--email", email, *where]) == 2
