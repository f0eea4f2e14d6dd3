"""ChatNode end to end: the simulator, the real source, a real DuckDB."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from simulator import Corpus, FaultSpec, Simulator, SimulatorSettings
from sources.chatnode import chatnode
from sources.common.errors import CredentialsError
from sources.common.observer import RunObserver
from tests.utils import (
    assert_exact,
    assert_rerun_changes_nothing,
    failure_cause,
    loaded_order,
    make_pipeline,
    query,
    resource_state,
    run_source,
    truth_messages,
    truth_order,
    warehouse_messages,
    with_ledger,
)

PROVIDER = "chatnode"


def bots(sim: Simulator) -> list[str]:
    return [bot.bot_id for bot in sim.corpus.bots[PROVIDER]]


def source(sim: Simulator, **kwargs: Any) -> Any:
    return chatnode(
        bot_ids=kwargs.pop("bot_ids", bots(sim)),
        api_key=kwargs.pop("api_key", "cn_test_key"),
        base_url=sim.base_url(PROVIDER),
        **with_ledger(kwargs),  # what the engine passes: the warehouse's facts
    )


def requested_ids(sim: Simulator) -> list[list[str]]:
    return [r.body for r in sim.requests_for(PROVIDER) if r.path.startswith("/get-chats/")]


def test_full_load_in_batches_equals_ground_truth(sim: Simulator, tmp_path: Path) -> None:
    pipeline = make_pipeline(tmp_path)
    counts = run_source(pipeline, source(sim, batch_size=3))
    assert counts["messages"] == len(sim.truth(PROVIDER).messages) > 0
    assert_exact(pipeline, sim, PROVIDER)
    batches = requested_ids(sim)
    assert len(batches) > 2 and all(0 < len(batch) <= 3 for batch in batches), "never [] (means 'k most recent')"
    raws = [json.loads(r[0]) for r in query(pipeline, "SELECT raw FROM {conversations} WHERE provider = 'chatnode'")]
    assert any("enduser_email" in raw for raw in raws), "personal fields stay in raw"


def test_incremental_rereads_new_and_recent_conversations_only(tmp_path: Path) -> None:
    lookback = timedelta(days=2)
    with Simulator(Corpus(seed=11, size=8_000)) as sim:
        pipeline = make_pipeline(tmp_path)
        run_source(pipeline, source(sim, lookback_days=2))
        before, heads = truth_messages(sim, PROVIDER), sim.truth(PROVIDER).conversations
        last: dict[str, datetime] = {c.conversation_id: c.started_at for c in heads}
        for (cid, _), (_, _, created, _) in before.items():
            last[cid] = max(last[cid], created)
        bot_of = {c.conversation_id: c.bot_id for c in heads}
        horizon = {bot: max(t for cid, t in last.items() if bot_of[cid] == bot) for bot in bots(sim)}
        sim.advance(timedelta(days=2))
        sim.clear_log()
        run_source(pipeline, source(sim, lookback_days=2))
        after = truth_messages(sim, PROVIDER)
        new = {c.conversation_id for c in sim.truth(PROVIDER).conversations} - set(last)
        recent = {cid for cid, t in last.items() if t >= horizon[bot_of[cid]] - lookback}
        reread = [sid for batch in requested_ids(sim) for sid in batch]
        assert sorted(reread) == sorted(new | recent), "new and recent conversations, once each, nothing else"
        expected = dict(before) | {k: v for k, v in after.items() if k[0] in new | recent}
        assert warehouse_messages(pipeline, PROVIDER) == expected
        assert len(recent) < len(last) / 2, "the lookback left most conversations alone"
        state = resource_state(pipeline, PROVIDER, "conversations")["bots"]
        assert sum(len(bot["recent"]) for bot in state.values()) < len(last) + len(new), "state holds recent only"


def test_everything_is_caught_when_the_lookback_covers_the_gaps(tmp_path: Path) -> None:
    with Simulator(Corpus(seed=11, size=3_000)) as sim:
        pipeline = make_pipeline(tmp_path)
        run_source(pipeline, source(sim))
        sim.advance(timedelta(days=1))
        run_source(pipeline, source(sim))
        assert_exact(pipeline, sim, PROVIDER)


def test_rerun_without_change_adds_and_changes_nothing(sim: Simulator, tmp_path: Path) -> None:
    assert_rerun_changes_nothing(make_pipeline(tmp_path), lambda: source(sim), PROVIDER, "conversations")


def test_millisecond_ties_keep_the_api_order(tmp_path: Path) -> None:
    with Simulator(Corpus(seed=21, size=3_000)) as sim:
        pipeline = make_pipeline(tmp_path)
        run_source(pipeline, source(sim))
        truth = sim.truth(PROVIDER).messages
        assert max(Counter((m.conversation_id, m.created_at) for m in truth).values()) > 1
        assert loaded_order(pipeline, PROVIDER) == truth_order(truth)


def test_backfill_loads_the_window_and_leaves_state_alone(sim: Simulator, tmp_path: Path) -> None:
    pipeline = make_pipeline(tmp_path)
    since, until = datetime(2026, 3, 5, tzinfo=UTC), datetime(2026, 3, 8, tzinfo=UTC)
    run_source(pipeline, source(sim, backfill_since=since.isoformat(), backfill_until=until.isoformat()))
    window = {k: v for k, v in truth_messages(sim, PROVIDER).items() if since <= v[2] < until}
    assert window and warehouse_messages(pipeline, PROVIDER) == window
    assert not resource_state(pipeline, PROVIDER, "conversations").get("bots")
    run_source(pipeline, source(sim))
    assert_exact(pipeline, sim, PROVIDER)


@pytest.mark.parametrize("style", ["message", "detail"])
def test_bad_credentials_fail_clearly_in_either_error_style(tmp_path: Path, style: str) -> None:
    with Simulator(Corpus(seed=11, size=300), settings=SimulatorSettings(chatnode_error_style=style)) as sim:
        cause = failure_cause(lambda: run_source(make_pipeline(tmp_path), source(sim, api_key="bad")), CredentialsError)
        assert str(cause) == "chatnode: credentials rejected (HTTP 401: Bearer token missing or unknown)"


@pytest.mark.parametrize("style", ["message", "detail"])
def test_a_forbidden_bot_fails_alone(tmp_path: Path, style: str) -> None:
    corpus = Corpus(seed=11, size=600)
    forbidden, allowed = (bot.bot_id for bot in corpus.bots[PROVIDER])
    settings = SimulatorSettings(chatnode_forbidden_bots=frozenset({forbidden}), chatnode_error_style=style)
    with Simulator(corpus, settings=settings) as sim:
        observer = RunObserver(PROVIDER)
        pipeline = make_pipeline(tmp_path)
        run_source(pipeline, source(sim, observer=observer))
        assert observer.failures == [f"bot {forbidden}: access denied (HTTP 403: Bot access not allowed)"]
        loaded = warehouse_messages(pipeline, PROVIDER)
        assert loaded and {row[0] for row in query(pipeline, "SELECT DISTINCT bot_id FROM {messages}")} == {allowed}


def test_a_batch_the_api_rejects_is_halved(tmp_path: Path) -> None:
    with Simulator(Corpus(seed=11, size=5_000, bots_per_provider=1)) as sim:
        assert len(sim.truth(PROVIDER).conversations) > 100, "more ids than the simulator accepts in one body"
        pipeline = make_pipeline(tmp_path)
        run_source(pipeline, source(sim, batch_size=1_000))
        assert_exact(pipeline, sim, PROVIDER)
        statuses = Counter(r.status for r in sim.requests_for(PROVIDER) if r.path.startswith("/get-chats/"))
        assert statuses[422] >= 1 and statuses[200] >= 2


def test_data_is_exact_under_injected_faults(tmp_path: Path) -> None:
    spec = FaultSpec.parse("429=0.08,500=0.05,503=0.05,reset=0.05,truncate=0.05,invalid=0.05,retry_after=0", seed=9)
    with Simulator(Corpus(seed=13, size=2_000), faults=spec) as sim:
        pipeline = make_pipeline(tmp_path)
        run_source(pipeline, source(sim, batch_size=5))
        sim.advance(timedelta(days=1))
        run_source(pipeline, source(sim, batch_size=5))
        assert_exact(pipeline, sim, PROVIDER)
        assert len({r.fault for r in sim.requests_for(PROVIDER) if r.fault}) >= 4
