"""example-ai end to end: the simulator, the real source, a real DuckDB."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from dlt.pipeline.exceptions import PipelineStepFailed

from simulator import Corpus, FaultSpec, Simulator
from sources.common.errors import ConfigurationError, CredentialsError
from sources.example_ai import example_ai
from tests.utils import (
    assert_exact,
    assert_rerun_changes_nothing,
    load_ids,
    make_pipeline,
    resource_state,
    run_source,
    truth_messages,
    warehouse_messages,
    with_ledger,
)

PROVIDER = "example_ai"


def source(sim: Simulator, ids: list[str] | None = None, **kwargs: Any) -> Any:
    return example_ai(
        conversation_ids=ids if ids is not None else sim.corpus.conversation_ids(PROVIDER),
        api_key=kwargs.pop("api_key", "sk_test_example_ai"),
        base_url=sim.base_url(PROVIDER),
        **with_ledger(kwargs),  # what the engine passes: the warehouse's facts
    )


def test_full_load_equals_ground_truth(sim: Simulator, tmp_path: Path) -> None:
    pipeline = make_pipeline(tmp_path)
    ids = sim.corpus.conversation_ids(PROVIDER)
    counts = run_source(pipeline, source(sim, page_size=10))
    assert counts["messages"] == len(truth_messages(sim, PROVIDER, ids))
    assert_exact(pipeline, sim, PROVIDER, ids)


def test_incremental_reads_only_what_is_new(tmp_path: Path) -> None:
    with Simulator(Corpus(seed=11, size=4_000)) as sim:
        pipeline = make_pipeline(tmp_path)
        ids = sim.corpus.conversation_ids(PROVIDER)
        run_source(pipeline, source(sim, page_size=10))
        first_run_requests = len(sim.requests_for(PROVIDER))
        cursors = {cid: p["newest"] for cid, p in resource_state(pipeline, PROVIDER)["conversations"].items()}
        before = truth_messages(sim, PROVIDER, ids)
        sim.advance(timedelta(days=2))
        sim.clear_log()
        counts = run_source(pipeline, source(sim, ids, page_size=10))
        assert_exact(pipeline, sim, PROVIDER, ids)
        new = len(truth_messages(sim, PROVIDER, ids)) - len(before)
        assert new > 0 and counts["messages"] == new, "only new messages are loaded"
        log = sim.requests_for(PROVIDER)
        # no request pages below a conversation's previous cursor: history is not re-read
        for record in log:
            assert "before" not in record.query or record.query["before"] > cursors[record.query["conversation_id"]]
        grown = {cid for (cid, _) in set(truth_messages(sim, PROVIDER, ids)) - set(before)}
        at_newest_second = Counter()
        for (cid, _), (_, _, created, _) in before.items():
            if created == max(v[2] for k, v in before.items() if k[0] == cid):
                at_newest_second[cid] += 1
        requests_per_conversation = Counter(r.query["conversation_id"] for r in log)
        unchanged = [cid for cid in ids if cid not in grown and at_newest_second[cid] < 10]
        assert unchanged and all(requests_per_conversation[cid] == 1 for cid in unchanged), (
            "an unchanged conversation costs one request (unless a full page shares its newest second)"
        )
        assert len(log) < first_run_requests


def test_rerun_without_change_adds_and_changes_nothing(sim: Simulator, tmp_path: Path) -> None:
    assert_rerun_changes_nothing(make_pipeline(tmp_path), lambda: source(sim), PROVIDER, "chat_history")


def test_ties_at_page_boundaries_are_never_lost(tmp_path: Path) -> None:
    with Simulator(Corpus(seed=21, size=4_000)) as sim:
        ids = sim.corpus.conversation_ids(PROVIDER)
        truth = truth_messages(sim, PROVIDER, ids)
        per_second = Counter((cid, created) for (cid, _), (_, _, created, _) in truth.items())
        assert max(per_second.values()) > 3, "the corpus has bursts larger than a page"
        pipeline = make_pipeline(tmp_path)
        run_source(pipeline, source(sim, page_size=3))
        assert warehouse_messages(pipeline, PROVIDER) == truth


def test_data_is_exact_under_injected_faults(tmp_path: Path) -> None:
    spec = FaultSpec.parse(
        "429=0.05,500=0.03,502=0.03,503=0.03,reset=0.03,slow=0.03,truncate=0.03,invalid=0.03,retry_after=0,slow_ms=20",
        seed=5,
    )
    with Simulator(Corpus(seed=13, size=1_500), faults=spec) as sim:
        ids = sim.corpus.conversation_ids(PROVIDER)
        pipeline = make_pipeline(tmp_path)
        run_source(pipeline, source(sim, page_size=5))
        sim.advance(timedelta(days=1))
        run_source(pipeline, source(sim, ids, page_size=5))
        assert_exact(pipeline, sim, PROVIDER, ids)
        faults = Counter(r.fault for r in sim.requests_for(PROVIDER) if r.fault)
        assert set(faults) == {"429", "500", "502", "503", "reset", "slow", "truncate", "invalid"}


def test_retry_after_is_honoured(tmp_path: Path) -> None:
    with Simulator(Corpus(seed=13, size=300), faults=FaultSpec.parse("429=0.5,retry_after=1", seed=1)) as sim:
        ids = sim.corpus.conversation_ids(PROVIDER)[:4]
        run_source(make_pipeline(tmp_path), source(sim, ids, max_workers=1))
        log = sim.requests_for(PROVIDER)
        throttled = [i for i, r in enumerate(log) if r.fault == "429"]
        assert throttled
        for i in throttled:
            retry = next(r for r in log[i + 1 :] if r.query == log[i].query)
            assert retry.at - log[i].at >= 0.9


def test_one_missing_conversation_is_reported_and_the_others_load(sim: Simulator, tmp_path: Path) -> None:
    pipeline = make_pipeline(tmp_path)
    ids = sim.corpus.conversation_ids(PROVIDER)
    from sources.common.observer import RunObserver

    observer = RunObserver(PROVIDER)
    run_source(pipeline, source(sim, ["con_gone", *ids], observer=observer))
    assert observer.warnings == ["conversation con_gone not found; skipped (never loaded: a typo, or deleted)"]
    assert_exact(pipeline, sim, PROVIDER, ids)


def test_bad_credentials_fail_clearly_and_advance_nothing(sim: Simulator, tmp_path: Path) -> None:
    pipeline = make_pipeline(tmp_path)
    run_source(pipeline, source(sim))
    state, rows = resource_state(pipeline, PROVIDER), load_ids(pipeline)
    sim.advance(timedelta(days=1))
    with pytest.raises(PipelineStepFailed) as failure:
        run_source(pipeline, source(sim, api_key="sk_revoked"))
    cause = failure.value.__cause__
    while cause is not None and not isinstance(cause, CredentialsError):
        cause = cause.__cause__ or cause.__context__
    assert isinstance(cause, CredentialsError)
    assert str(cause) == "example_ai: credentials rejected (HTTP 401: Missing or invalid Authorization header.)"
    assert resource_state(pipeline, PROVIDER) == state and load_ids(pipeline) == rows


def test_start_date_limits_the_first_load(sim: Simulator, tmp_path: Path) -> None:
    pipeline = make_pipeline(tmp_path)
    ids = sim.corpus.conversation_ids(PROVIDER)
    start = datetime(2026, 3, 8, tzinfo=UTC)
    run_source(pipeline, source(sim, start_date=start.isoformat()))
    expected = {k: v for k, v in truth_messages(sim, PROVIDER, ids).items() if v[2] >= start}
    assert warehouse_messages(pipeline, PROVIDER) == expected


def test_backfill_loads_the_window_and_leaves_cursors_alone(sim: Simulator, tmp_path: Path) -> None:
    pipeline = make_pipeline(tmp_path)
    ids = sim.corpus.conversation_ids(PROVIDER)
    run_source(pipeline, source(sim, start_date="2026-03-10"))
    cursors = resource_state(pipeline, PROVIDER)
    sim.advance(timedelta(days=1))
    since, until = datetime(2026, 3, 4, tzinfo=UTC), datetime(2026, 3, 7, tzinfo=UTC)
    run_source(pipeline, source(sim, backfill_since=since.isoformat(), backfill_until=until.isoformat()))
    assert resource_state(pipeline, PROVIDER)["conversations"].keys() == cursors["conversations"].keys()
    for cid, progress in resource_state(pipeline, PROVIDER)["conversations"].items():
        assert progress["newest"] == cursors["conversations"][cid]["newest"]
        assert progress["newest_ids"] == cursors["conversations"][cid]["newest_ids"]
    truth = truth_messages(sim, PROVIDER, ids)
    window = {k: v for k, v in truth.items() if since <= v[2] < until}
    loaded = warehouse_messages(pipeline, PROVIDER)
    assert window and window.items() <= loaded.items()
    gap_start, gap_end = datetime(2026, 3, 7, tzinfo=UTC), datetime(2026, 3, 10, tzinfo=UTC)
    assert not any(gap_start <= v[2] < gap_end for v in loaded.values()), "nothing outside the window"
    # the next incremental run still picks up everything that arrived after the cursor
    run_source(pipeline, source(sim, ids))
    after_cursor = {k: v for k, v in truth.items() if v[2] >= datetime(2026, 3, 10, tzinfo=UTC)}
    assert after_cursor.items() <= warehouse_messages(pipeline, PROVIDER).items()


def test_narrowing_the_configured_ids_keeps_the_state_of_the_others(sim: Simulator, tmp_path: Path) -> None:
    pipeline = make_pipeline(tmp_path)
    ids = sim.corpus.conversation_ids(PROVIDER)
    run_source(pipeline, source(sim))
    run_source(pipeline, source(sim, ids[:3]))  # e.g. an environment override for one run
    assert set(resource_state(pipeline, PROVIDER)["conversations"]) == set(ids)
    assert run_source(pipeline, source(sim)).get("messages", 0) == 0, "nothing is re-read"


def test_ids_may_be_comma_separated_and_errors_name_the_setting(sim: Simulator, tmp_path: Path) -> None:
    ids = sim.corpus.conversation_ids(PROVIDER)
    pipeline = make_pipeline(tmp_path)
    counts = run_source(pipeline, source(sim, ", ".join(ids[:2])))  # type: ignore[arg-type]
    assert counts["conversations"] == 2
    with pytest.raises(
        ConfigurationError,
        match=r"conversation_ids is empty; set \[sources.example_ai\] "
        r"conversation_ids in .dlt/config.toml, or SOURCES__EXAMPLE_AI__CONVERSATION_IDS",
    ):
        source(sim, [])
