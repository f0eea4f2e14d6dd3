"""Feedloop end to end, for every message shape the simulator serves."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from simulator import Corpus, FaultSpec, Simulator, SimulatorSettings
from simulator.options import FEEDLOOP_SHAPES
from sources.common.errors import CredentialsError
from sources.common.observer import RunObserver
from sources.feedloop import NO_TIME, UNRECOGNISED, feedloop
from sources.feedloop.helpers import map_item
from tests.utils import failure_cause, load_ids, make_pipeline, query, resource_state, run_source, utc, with_ledger

PROVIDER = "feedloop"
Position = tuple[str, int]


def shaped(shape: str, size: int = 600) -> Simulator:
    return Simulator(Corpus(seed=11, size=size), settings=SimulatorSettings(feedloop_shape=shape))


def source(sim: Simulator, ids: list[str] | None = None, **kwargs: Any) -> Any:
    return feedloop(
        conversation_ids=ids if ids is not None else sim.corpus.conversation_ids(PROVIDER),
        api_key=kwargs.pop("api_key", "fl_test_token"),
        base_url=sim.base_url(PROVIDER),
        **with_ledger(kwargs),  # what the engine passes: the warehouse's facts
    )


def loaded(pipeline: Any) -> dict[Position, tuple[Any, ...]]:
    """``(conversation, position) → (role, content, provider time or None)``."""
    rows = query(
        pipeline,
        "SELECT conversation_id, sequence, role, content, created_at, created_at_observed FROM {messages}",
    )
    return {(r[0], r[1]): (r[2], r[3], None if r[5] else utc(r[4])) for r in rows}


def truth(sim: Simulator, ids: list[str]) -> dict[Position, tuple[Any, ...]]:
    wanted = set(ids)
    return {
        (m.conversation_id, m.position): (m.role, m.content, m.created_at)
        for m in sim.truth(PROVIDER).messages
        if m.conversation_id in wanted
    }


def observed_times(pipeline: Any) -> dict[tuple[str, str], Any]:
    rows = query(pipeline, "SELECT conversation_id, message_id, created_at FROM {messages} WHERE created_at_observed")
    return {(r[0], r[1]): r[2] for r in rows}


@pytest.mark.parametrize("shape", FEEDLOOP_SHAPES)
def test_every_shape_loads_exactly(shape: str, tmp_path: Path) -> None:
    with shaped(shape, size=1_500) as sim:
        ids = sim.corpus.conversation_ids(PROVIDER)
        observer = RunObserver(PROVIDER)
        pipeline = make_pipeline(tmp_path)
        run_source(pipeline, source(sim, observer=observer))
        assert loaded(pipeline) == truth(sim, ids)
        provider_ids = {(m.conversation_id, m.position): m.message_id for m in sim.truth(PROVIDER).messages}
        rows = query(pipeline, "SELECT conversation_id, sequence, message_id FROM {messages}")
        for cid, position, message_id in rows:
            expected = provider_ids[(cid, position)]
            assert message_id == expected if expected else message_id.startswith("fl_")
        unrecognised = sum(1 for m in sim.truth(PROVIDER).messages if m.role == "unknown")
        assert observer.counters[UNRECOGNISED] == unrecognised
        assert (unrecognised > 0) == (shape == "mixed")


def test_derived_keys_are_deterministic_and_never_duplicate(tmp_path: Path) -> None:
    with shaped("reply") as sim:
        first, second = make_pipeline(tmp_path / "a"), make_pipeline(tmp_path / "b")
        run_source(first, source(sim))
        run_source(second, source(sim))
        keys = sorted(query(first, "SELECT conversation_id, message_id FROM {messages}"))
        assert keys == sorted(query(second, "SELECT conversation_id, message_id FROM {messages}"))
        assert len(set(keys)) == len(keys) == len(sim.truth(PROVIDER).messages)


@pytest.mark.parametrize("shape", ["reply", "mixed"])
def test_incremental_keeps_first_seen_times_and_rerun_changes_nothing(shape: str, tmp_path: Path) -> None:
    with shaped(shape, size=3_000) as sim:
        ids = sim.corpus.conversation_ids(PROVIDER)
        pipeline = make_pipeline(tmp_path)
        run_source(pipeline, source(sim, ids))
        first_seen, loaded_first = observed_times(pipeline), len(loaded(pipeline))
        assert first_seen, "this shape has messages without a timestamp"
        sim.advance(timedelta(days=2))
        counts = run_source(pipeline, source(sim, ids))
        assert loaded(pipeline) == truth(sim, ids)
        assert counts["messages"] == len(truth(sim, ids)) - loaded_first, "only new items are written"
        later = observed_times(pipeline)
        assert {k: later[k] for k in first_seen} == first_seen, "a first-seen time is never rewritten"
        rows, state = load_ids(pipeline), resource_state(pipeline, PROVIDER, "chats")
        counts = run_source(pipeline, source(sim, ids))
        assert counts.get("messages", 0) == 0 and load_ids(pipeline) == rows
        assert resource_state(pipeline, PROVIDER, "chats") == state


def test_one_missing_conversation_is_reported_and_the_others_load(tmp_path: Path) -> None:
    with shaped("role_content") as sim:
        ids = sim.corpus.conversation_ids(PROVIDER)
        observer = RunObserver(PROVIDER)
        pipeline = make_pipeline(tmp_path)
        run_source(pipeline, source(sim, ["gone", *ids], observer=observer))
        assert observer.warnings == ["conversation gone not found; skipped (never loaded: a typo, or deleted)"]
        assert loaded(pipeline) == truth(sim, ids)
        assert set(resource_state(pipeline, PROVIDER, "chats")["conversations"]) == set(ids)


def test_backfill_loads_timestamped_items_in_the_window(tmp_path: Path) -> None:
    with shaped("sender_message", size=1_500) as sim:
        ids = sim.corpus.conversation_ids(PROVIDER)
        since, until = datetime(2026, 3, 5, tzinfo=UTC), datetime(2026, 3, 8, tzinfo=UTC)
        pipeline = make_pipeline(tmp_path)
        run_source(pipeline, source(sim, backfill_since=since.isoformat(), backfill_until=until.isoformat()))
        window = {k: v for k, v in truth(sim, ids).items() if since <= v[2] < until}
        assert window and loaded(pipeline) == window
        assert not resource_state(pipeline, PROVIDER, "chats").get("conversations")
        run_source(pipeline, source(sim))
        assert loaded(pipeline) == truth(sim, ids)


def test_bad_token_fails_clearly(tmp_path: Path) -> None:
    with shaped("role_content") as sim:
        cause = failure_cause(
            lambda: run_source(make_pipeline(tmp_path), source(sim, api_key="nope")), CredentialsError
        )
        assert str(cause) == "feedloop: credentials rejected (HTTP 401: Invalid token)"
        assert sim.requests_for(PROVIDER)[0].status == 401


def test_data_is_exact_under_injected_faults(tmp_path: Path) -> None:
    spec = FaultSpec.parse("429=0.05,500=0.05,503=0.05,reset=0.05,truncate=0.05,invalid=0.05,retry_after=0", seed=4)
    with Simulator(Corpus(seed=13, size=2_000), faults=spec, settings=SimulatorSettings(feedloop_shape="mixed")) as sim:
        ids = sim.corpus.conversation_ids(PROVIDER)
        pipeline = make_pipeline(tmp_path)
        run_source(pipeline, source(sim, ids))
        sim.advance(timedelta(days=1))
        run_source(pipeline, source(sim, ids))
        assert loaded(pipeline) == truth(sim, ids)
        assert len({r.fault for r in sim.requests_for(PROVIDER) if r.fault}) >= 4


@pytest.mark.parametrize(
    ("item", "expected"),
    [
        ({"type": "text", "role": "assistant", "payload": {"content": "hi"}}, ("assistant", "hi", False)),
        ({"sender": "bot", "message": "hi", "timestamp": 1772409600000}, ("assistant", "hi", True)),
        ({"author": "Customer", "text": "hi", "createdAt": "2026-03-02T00:00:00Z"}, ("user", "hi", True)),
        ({"from": "operator", "message": {"text": "hi"}}, ("agent", "hi", False)),
        ({"role": "narrator", "content": "hi"}, ("unknown", "hi", False)),
        ({"event": "message", "body": {"value": "hi"}}, ("unknown", None, False)),
        ("just a string", ("unknown", None, False)),
    ],
)
def test_likely_fields_are_mapped(item: Any, expected: tuple[str, str | None, bool]) -> None:
    mapped = map_item(item)
    assert (mapped.role, mapped.content, mapped.created_at is not None) == expected


def test_counters_name_what_was_guessed(tmp_path: Path) -> None:
    with shaped("reply") as sim:
        observer = RunObserver(PROVIDER)
        run_source(make_pipeline(tmp_path), source(sim, observer=observer))
        assert observer.counters[NO_TIME] == len(sim.truth(PROVIDER).messages)
