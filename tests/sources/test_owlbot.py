"""OwlBot end to end: the simulator, the real source, a real DuckDB."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from dlt.destinations.exceptions import DatabaseUndefinedRelation

from simulator import Corpus, FaultSpec, Simulator
from simulator.owlbot import session_record
from sources.common.errors import CredentialsError
from sources.common.observer import RunObserver
from sources.owlbot import owlbot
from tests.utils import (
    assert_exact,
    assert_rerun_changes_nothing,
    failure_cause,
    load_ids,
    loaded_order,
    make_pipeline,
    query,
    resource_state,
    run_source,
    truth_messages,
    truth_order,
    warehouse_conversations,
    warehouse_messages,
    with_ledger,
)

PROVIDER = "owlbot"


def source(sim: Simulator, **kwargs: Any) -> Any:
    key = kwargs.pop("api_key", "owl_test_key")
    return owlbot(api_key=key, base_url=sim.base_url(PROVIDER), **with_ledger(kwargs))


def messagenbr(sim: Simulator) -> dict[str, int]:
    corpus = sim.corpus
    return {
        c.external_id: session_record(c, corpus.visible_messages(c))["messagenbr"]
        for c in corpus.conversations(PROVIDER)
    }


def test_full_load_discovers_bots_and_equals_ground_truth(sim: Simulator, tmp_path: Path) -> None:
    pipeline = make_pipeline(tmp_path)
    counts = run_source(pipeline, source(sim))
    assert counts["messages"] == len(sim.truth(PROVIDER).messages) > 0
    assert_exact(pipeline, sim, PROVIDER)
    assert sim.requests_for(PROVIDER)[0].path == "/login/checkToken"
    raw = json.loads(query(pipeline, "SELECT raw FROM {conversations} WHERE provider = 'owlbot' LIMIT 1")[0][0])
    assert {"ip", "geo", "user_agent", "messagenbr"} <= raw.keys(), "personal fields stay in raw"


def test_configured_bots_only_and_an_unknown_bot_fails_alone(sim: Simulator, tmp_path: Path) -> None:
    first, second = (bot.bot_id for bot in sim.corpus.bots[PROVIDER])
    observer = RunObserver(PROVIDER)
    pipeline = make_pipeline(tmp_path)
    run_source(pipeline, source(sim, chatbot_ids=["no-such-bot", first], observer=observer))
    assert observer.failures == [
        "chatbot no-such-bot not found; check [sources.owlbot] chatbot_ids in .dlt/config.toml, "
        "or SOURCES__OWLBOT__CHATBOT_IDS"
    ]
    loaded_bots = {row[0] for row in query(pipeline, "SELECT DISTINCT bot_id FROM {messages}")}
    assert loaded_bots == {first} and second != first
    assert not any(second in r.path for r in sim.requests_for(PROVIDER)), "the other bot is never read"


def test_the_bots_names_come_from_check_token_once(sim: Simulator, tmp_path: Path) -> None:
    """checkToken names the bots (bot_title); with configured bots it is asked only while a name is unknown."""
    first, second = sim.corpus.bots[PROVIDER]
    pipeline = make_pipeline(tmp_path)
    run_source(pipeline, source(sim, chatbot_ids=[first.bot_id, second.bot_id]))
    names = dict(query(pipeline, "SELECT DISTINCT bot_id, bot_name FROM {conversations}"))
    assert names == {first.bot_id: first.title, second.bot_id: second.title}
    assert [r.path for r in sim.requests_for(PROVIDER)].count("/login/checkToken") == 1
    sim.clear_log()
    run_source(pipeline, source(sim, chatbot_ids=[first.bot_id, second.bot_id]))
    assert not any(r.path == "/login/checkToken" for r in sim.requests_for(PROVIDER)), "names known: not asked"


def test_incremental_reads_only_changed_sessions(tmp_path: Path) -> None:
    with Simulator(Corpus(seed=11, size=6_000)) as sim:
        pipeline = make_pipeline(tmp_path)
        run_source(pipeline, source(sim))
        before = messagenbr(sim)
        awaiting = {
            sid for bot in resource_state(pipeline, PROVIDER, "sessions")["bots"].values() for sid in bot["awaiting"]
        }
        sim.advance(timedelta(days=2))
        sim.clear_log()
        run_source(pipeline, source(sim))
        assert_exact(pipeline, sim, PROVIDER)
        read = {r.path.rsplit("/", 1)[1] for r in sim.requests_for(PROVIDER) if not r.path.endswith("/conversation")}
        read.discard("checkToken")
        after = messagenbr(sim)
        changed = {sid for sid, count in after.items() if before.get(sid) != count}
        assert changed and read == changed | (awaiting & set(after))
        unchanged = set(after) - changed - awaiting
        assert len(unchanged) > len(changed), "most sessions did not change and cost no request"


def test_rerun_without_change_adds_and_changes_nothing(sim: Simulator, tmp_path: Path) -> None:
    assert_rerun_changes_nothing(make_pipeline(tmp_path), lambda: source(sim), PROVIDER, "sessions")


def test_a_question_and_its_same_time_answer_are_ordered_by_id(tmp_path: Path) -> None:
    with Simulator(Corpus(seed=21, size=3_000)) as sim:
        pipeline = make_pipeline(tmp_path)
        run_source(pipeline, source(sim))
        truth = sim.truth(PROVIDER).messages
        ties = Counter((m.conversation_id, m.created_at) for m in truth)
        assert max(ties.values()) > 1, "the corpus has messages sharing created_at"
        assert loaded_order(pipeline, PROVIDER) == truth_order(truth)


def test_backfill_loads_only_the_window_and_leaves_change_detection_alone(sim: Simulator, tmp_path: Path) -> None:
    pipeline = make_pipeline(tmp_path)
    since, until = datetime(2026, 3, 5, tzinfo=UTC), datetime(2026, 3, 8, tzinfo=UTC)
    run_source(pipeline, source(sim, backfill_since=since.isoformat(), backfill_until=until.isoformat()))
    truth = truth_messages(sim, PROVIDER)
    window = {k: v for k, v in truth.items() if since <= v[2] < until}
    assert window and warehouse_messages(pipeline, PROVIDER) == window
    with pytest.raises(DatabaseUndefinedRelation):  # no change marker (messagenbr) written by a backfill
        warehouse_conversations(pipeline, PROVIDER)
    assert not resource_state(pipeline, PROVIDER, "sessions").get("bots")
    run_source(pipeline, source(sim))
    assert_exact(pipeline, sim, PROVIDER)


def test_bad_credentials_fail_clearly_and_advance_nothing(sim: Simulator, tmp_path: Path) -> None:
    pipeline = make_pipeline(tmp_path)
    run_source(pipeline, source(sim))
    state, rows = resource_state(pipeline, PROVIDER, "sessions"), load_ids(pipeline)
    sim.advance(timedelta(days=1))
    cause = failure_cause(lambda: run_source(pipeline, source(sim, api_key="owl_revoked")), CredentialsError)
    assert str(cause) == "owlbot: credentials rejected (HTTP 400: No verify)"
    assert resource_state(pipeline, PROVIDER, "sessions") == state and load_ids(pipeline) == rows
    assert sim.requests_for(PROVIDER)[-1].status == 400


def test_data_is_exact_under_injected_faults(tmp_path: Path) -> None:
    spec = FaultSpec.parse("429=0.05,500=0.03,503=0.03,reset=0.03,truncate=0.03,invalid=0.03,retry_after=0", seed=3)
    with Simulator(Corpus(seed=13, size=2_000), faults=spec) as sim:
        pipeline = make_pipeline(tmp_path)
        run_source(pipeline, source(sim))
        sim.advance(timedelta(days=1))
        run_source(pipeline, source(sim))
        assert_exact(pipeline, sim, PROVIDER)
        assert len({r.fault for r in sim.requests_for(PROVIDER) if r.fault}) >= 5


@pytest.mark.parametrize("workers", [1, 16])
def test_fan_out_gives_the_same_result_at_any_width(sim: Simulator, tmp_path: Path, workers: int) -> None:
    pipeline = make_pipeline(tmp_path)
    run_source(pipeline, source(sim, max_workers=workers))
    assert_exact(pipeline, sim, PROVIDER)


def test_without_a_ledger_the_source_reads_everything_and_the_merge_keeps_one_copy(
    sim: Simulator, tmp_path: Path
) -> None:
    """A source run on its own (no engine, no ledger) sees an empty warehouse: exact, just not incremental."""
    pipeline = make_pipeline(tmp_path)
    alone = {"api_key": "owl_test_key", "base_url": sim.base_url(PROVIDER)}
    run_source(pipeline, owlbot(**alone))
    assert_exact(pipeline, sim, PROVIDER)
    sim.clear_log()
    run_source(pipeline, owlbot(**alone))
    assert_exact(pipeline, sim, PROVIDER)
    sessions = len(sim.truth(PROVIDER).conversations)
    reads = [r for r in sim.requests_for(PROVIDER) if r.path.count("/") == 3 and not r.path.endswith("/conversation")]
    assert len(reads) == sessions, "every session read again: the warehouse's facts were not given"
