"""One contract for every registered provider, against its simulator module: adding a provider adds no scenario.

Each scenario runs once per provider of ``sources.registry`` on a corpus of that provider alone:
a full load exact to the simulator's truth, growth (new conversations and new messages in old ones)
exact again, a rerun that writes nothing, ``audit`` clean and then finding a planted gap, which
``--repair`` mends, and a conversation deleted at the provider found by ``audit``.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import dlt
import duckdb
import pytest

from pipelines.audit.audit import audit
from pipelines.cli.simulated import simulator_environment
from pipelines.engine.factory import build_pipeline
from pipelines.engine.runner import load_providers
from pipelines.engine.target import Target
from simulator import Corpus, Simulator
from sources.registry import SPECS
from tests.utils import assert_exact, load_ids

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("providers")]


@pytest.fixture(params=sorted(SPECS))
def provider(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    return name


@pytest.fixture
def alone(provider: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Simulator, Target]]:
    """The provider's simulator on a corpus of its own, and a DuckDB target pointed at it."""
    with Simulator(Corpus(seed=29, size=900, providers=(provider,))) as sim:
        for key, value in simulator_environment(sim).items():
            monkeypatch.setenv(key, value)
        yield sim, Target(pipelines_dir=str(tmp_path / "pipelines"), duckdb_path=str(tmp_path / "w.duckdb"))


def _load(target: Target, provider: str) -> dlt.Pipeline:
    pipeline = build_pipeline(target)
    outcomes = load_providers(pipeline, [provider], target)
    assert [o.error for o in outcomes] == [None], outcomes
    return pipeline


def test_a_full_load_growth_and_a_rerun_are_exact(alone: tuple[Simulator, Target], provider: str) -> None:
    sim, target = alone
    pipeline = _load(target, provider)
    assert sim.truth(provider).messages, "the corpus holds this provider"
    assert_exact(pipeline, sim, provider)
    before = len(sim.truth(provider).messages)
    sim.corpus.advance(timedelta(hours=12))
    assert len(sim.truth(provider).messages) > before, "the corpus grew"
    with pytest.MonkeyPatch.context() as patch:  # conversations an API cannot list are configured as they appear
        for key, value in simulator_environment(sim).items():
            patch.setenv(key, value)
        pipeline = _load(target, provider)
        assert_exact(pipeline, sim, provider)
        loaded = load_ids(pipeline)
        pipeline = _load(target, provider)
        assert load_ids(pipeline) == loaded, "a rerun with nothing new rewrites no message"


def test_audit_is_clean_then_finds_a_planted_gap_and_repairs_it(alone: tuple[Simulator, Target], provider: str) -> None:
    sim, target = alone
    pipeline = _load(target, provider)
    clean = audit(target, [provider])
    assert clean.exit_code() == 0, clean
    with duckdb.connect(str(target.duckdb_path)) as db:
        (cid,) = db.execute(
            "SELECT conversation_id FROM chat_history.messages WHERE provider = ? "
            "GROUP BY conversation_id HAVING COUNT(*) > 2 ORDER BY conversation_id LIMIT 1",
            [provider],
        ).fetchone() or ("",)
        db.execute(
            "DELETE FROM chat_history.messages WHERE provider = ? AND conversation_id = ? AND message_id = "
            "(SELECT MAX(message_id) FROM chat_history.messages WHERE provider = ? AND conversation_id = ?)",
            [provider, cid, provider, cid],
        )
    found = audit(target, [provider], full=True)
    assert found.exit_code() == 4, found
    assert cid in {v.conversation_id for p in found.audits for v in p.verdicts if v.kind == "incomplete"}
    repaired = audit(target, [provider], full=True, repair=True)
    assert repaired.exit_code() == 0, repaired
    assert_exact(pipeline, sim, provider)


def test_audit_finds_a_conversation_deleted_at_the_provider(alone: tuple[Simulator, Target], provider: str) -> None:
    sim, target = alone
    _load(target, provider)
    gone = sim.corpus.conversation_ids(provider)[0]
    sim.corpus.delete_conversation(provider, gone)
    found = audit(target, [provider])
    deleted = {v.conversation_id for p in found.audits for v in p.verdicts if v.kind == "deleted"}
    assert gone in deleted, found
    with duckdb.connect(str(target.duckdb_path), read_only=True) as db:
        (marked,) = db.execute(
            "SELECT COUNT(*) FROM chat_history.conversations WHERE provider = ? AND conversation_id = ? "
            "AND deleted_at IS NOT NULL",
            [provider, gone],
        ).fetchone() or (0,)
    assert marked == 1


def test_a_backfill_of_one_day_restores_exactly_that_days_messages(
    alone: tuple[Simulator, Target], provider: str
) -> None:
    sim, target = alone
    _load(target, provider)
    with duckdb.connect(str(target.duckdb_path)) as db:
        (day,) = db.execute(
            "SELECT CAST(created_at AT TIME ZONE 'UTC' AS DATE) AS day FROM chat_history.messages "
            "WHERE provider = ? AND NOT COALESCE(created_at_observed, FALSE) "
            "GROUP BY day ORDER BY COUNT(*) DESC LIMIT 1",
            [provider],
        ).fetchone() or (None,)
        assert day is not None
        (removed,) = db.execute(
            "SELECT COUNT(*) FROM chat_history.messages WHERE provider = ? "
            "AND CAST(created_at AT TIME ZONE 'UTC' AS DATE) = ?",
            [provider, day],
        ).fetchone() or (0,)
        db.execute(
            "DELETE FROM chat_history.messages WHERE provider = ? AND CAST(created_at AT TIME ZONE 'UTC' AS DATE) = ?",
            [provider, day],
        )
    assert removed > 0
    pipeline = build_pipeline(target)
    outcomes = load_providers(pipeline, [provider], target, backfill=(day, day + timedelta(days=1)))
    assert [o.error for o in outcomes] == [None], outcomes
    assert_exact(pipeline, sim, provider)
