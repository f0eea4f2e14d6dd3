"""The Dagster path in-process: shard assets against the simulator, into a real DuckDB or PostgreSQL."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import dlt
import duckdb
import pytest

pytest.importorskip("dagster")
pytest.importorskip("dagster_dlt")

from dagster import (
    BackfillPolicy,
    Backoff,
    DagsterInstance,
    DefaultScheduleStatus,
    Definitions,
    ExecuteInProcessResult,
    Jitter,
    RetryPolicy,
)

from pipelines.engine.target import Target
from pipelines.orchestrators.dagster.constants import (
    AUDIT_JOB,
    BACKFILL_JOB,
    DUCKDB_POOL,
    INCREMENTAL_JOB,
    INSIGHTS_KEY,
    VIEWS_KEY,
)
from pipelines.orchestrators.dagster.definitions import build_definitions
from pipelines.orchestrators.dagster.settings import OrchestrationSettings
from pipelines.orchestrators.dagster.translator import shard_key
from pipelines.orchestrators.shards import Shard, plan_shards
from simulator import Corpus, FaultSpec, Simulator, SimulatorSettings
from tests.pipelines.orchestrators.orchestrated import configure, truth_counts, warehouse_counts


def definitions(destination: str = "duckdb") -> Definitions:
    settings = OrchestrationSettings(Target(destination=destination).resolved(), retries=0, retry_delay_seconds=0.1)
    return build_definitions(settings)


def run_job(defs: Definitions, name: str, instance: DagsterInstance, **kwargs: Any) -> ExecuteInProcessResult:
    return defs.resolve_job_def(name).execute_in_process(instance=instance, raise_on_error=False, **kwargs)


def shard_state(shard: Shard) -> dict[str, Any]:
    """The shard pipeline's committed source state (its cursors and per-conversation progress)."""
    return dict(dlt.attach(pipeline_name=shard.pipeline_name).state.get("sources", {}))


def materialized(result: ExecuteInProcessResult) -> set[str]:
    return {event.asset_key.to_user_string() for event in result.get_asset_materialization_events()}


def test_shards_follow_configuration(sim: Simulator, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    configure(sim, monkeypatch, tmp_path / "w.duckdb")
    shards = plan_shards()
    by_provider = Counter(s.provider for s in shards)
    assert by_provider == {"owlbot": 2, "chatnode": 2, "example_ai": 2, "feedloop": 2}
    for provider in ("example_ai", "feedloop"):  # every conversation in exactly one set
        ids = [i for s in shards if s.provider == provider for i in s.ids or ()]
        assert sorted(ids) == sorted(sim.corpus.conversation_ids(provider))
    assert {s.ids for s in shards if s.provider == "chatnode"} == {(b.bot_id,) for b in sim.corpus.bots["chatnode"]}
    assert len({s.pipeline_name for s in shards}) == len(shards)
    monkeypatch.setenv("CHATSYNC__ORCHESTRATION__SHARDS__FEEDLOOP", json.dumps({"support": ["a", "b"]}))
    assert [(s.name, s.ids) for s in plan_shards(["feedloop"])] == [("support", ("a", "b"))]
    # a provider whose API lists what changed (Intercom) has nothing to split: one shard reads it all
    (listed,) = plan_shards(["intercom"])
    assert (listed.name, listed.ids, listed.source_options) == ("all", None, {})
    assert listed.describe() == "intercom: every conversation its API lists"
    from pipelines.orchestrators.dagster.assets import definition_source

    assert [r for r in definition_source(listed).resources] == ["conversations"]


def test_definitions_group_by_provider_and_pool_duckdb_writers(
    sim: Simulator, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    configure(sim, monkeypatch, tmp_path / "w.duckdb")
    defs = definitions()
    graph = defs.resolve_asset_graph()
    shards = plan_shards()
    for shard in shards:
        for by_day in (False, True):
            node = graph.get(shard_key(shard, by_day))
            assert node.group_name == shard.provider
            assert (node.partitions_def is not None) == by_day
            assert shard.pipeline_name in (node.description or "")
            metadata = node.metadata
            assert metadata["dagster/table_name"] == "chat_history.messages", "the table it loads, not the resource"
            assert metadata["chatsync/tables"].value == [
                "chat_history.messages",
                "chat_history.conversations",
                "chat_history.sync_errors",
                "chat_history.knowledge_citations",
            ]
            assert metadata["chatsync/pipeline"].value == shard.pipeline_name
            assert not [key for key in metadata if key.startswith("dagster_dlt/")], "nothing the UI cannot show"
    assert set(graph.get(VIEWS_KEY).parent_keys) == {shard_key(s, d) for s in shards for d in (False, True)}
    assert set(graph.get(INSIGHTS_KEY).parent_keys) == {VIEWS_KEY}, "insights come after the loads and views"
    pools = {defs.get_assets_def(shard_key(s)).op.pool for s in shards}
    assert pools == {DUCKDB_POOL}
    schedule = defs.resolve_schedule_def(f"{INCREMENTAL_JOB}_schedule")
    assert schedule.cron_schedule == "*/15 * * * *" and schedule.job_name == INCREMENTAL_JOB
    for name in (f"{INCREMENTAL_JOB}_schedule", f"{AUDIT_JOB}_schedule"):  # off until switched on, as Dagster's
        assert defs.resolve_schedule_def(name).default_status == DefaultScheduleStatus.STOPPED
    for job in (INCREMENTAL_JOB, BACKFILL_JOB):  # retries are Dagster's, not a loop of ours
        assert defs.resolve_job_def(job).op_retry_policy == RetryPolicy(
            max_retries=0, delay=0.1, backoff=Backoff.EXPONENTIAL, jitter=Jitter.PLUS_MINUS
        )
    for shard in shards:
        assert defs.get_assets_def(shard_key(shard, by_day=True)).backfill_policy == BackfillPolicy.single_run()
    monkeypatch.setenv("CHATSYNC__ORCHESTRATION__SCHEDULE", "0 * * * *")
    monkeypatch.setenv("CHATSYNC__ORCHESTRATION__RETRIES", "5")
    configured = build_definitions()
    assert configured.resolve_schedule_def(f"{INCREMENTAL_JOB}_schedule").cron_schedule == "0 * * * *"
    monkeypatch.setenv("CHATSYNC__ORCHESTRATION__SCHEDULE_RUNNING", "true")
    running = build_definitions().resolve_schedule_def(f"{INCREMENTAL_JOB}_schedule").default_status
    assert running == DefaultScheduleStatus.RUNNING
    policy = configured.resolve_job_def(INCREMENTAL_JOB).op_retry_policy
    assert policy is not None and (policy.max_retries, policy.delay) == (5, 60.0)
    postgres = definitions("postgres")  # parallel writers: no pool
    assert {postgres.get_assets_def(shard_key(s)).op.pool for s in shards} == {None}


@pytest.mark.slow
def test_incremental_job_loads_every_shard_then_growth(
    sim: Simulator, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    warehouse = tmp_path / "w.duckdb"
    configure(sim, monkeypatch, warehouse)
    monkeypatch.setenv("INSIGHTS__ENABLED", "true")  # the job's insights asset is checked below
    defs = definitions()
    with DagsterInstance.ephemeral() as instance:
        first = run_job(defs, INCREMENTAL_JOB, instance)
        assert first.success
        assert materialized(first) == {shard_key(s).to_user_string() for s in plan_shards()} | {
            VIEWS_KEY.to_user_string(),
            INSIGHTS_KEY.to_user_string(),
        }
        assert warehouse_counts(warehouse) == truth_counts(sim)
        sim.advance(timedelta(days=1))
        grown = truth_counts(sim)
        assert grown != warehouse_counts(warehouse), "the clock advance brought new messages"
        assert run_job(defs, INCREMENTAL_JOB, instance).success
    loaded = warehouse_counts(warehouse)
    assert loaded == grown, (loaded - grown, grown - loaded)
    with duckdb.connect(str(warehouse), read_only=True) as con:
        found = con.execute("SELECT view_name FROM duckdb_views() WHERE schema_name = 'chat_history'").fetchall()
        insights = con.execute("SELECT COUNT(*) FROM chat_history.conversation_insights").fetchone()
        conversations = con.execute(
            "SELECT COUNT(DISTINCT provider || conversation_id) FROM chat_history.messages"
        ).fetchone()
    views = {row[0] for row in found}
    assert {"response_times", "conversation_metrics", "daily_activity", "topic_daily"} <= views
    assert insights == conversations, "the insights asset covered every conversation, after the growth too"


@pytest.mark.slow
def test_partitioned_backfill_loads_exactly_those_days_and_leaves_cursors(
    sim: Simulator, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    warehouse = tmp_path / "w.duckdb"
    configure(sim, monkeypatch, warehouse)
    providers = ("example_ai", "owlbot", "chatnode")  # Feedloop's default shape has no message times
    monkeypatch.setenv("SOURCES__FEEDLOOP__API_KEY", "")
    defs = definitions()
    shards = plan_shards()
    assert {s.provider for s in shards} == set(providers)
    days = {"dagster/asset_partition_range_start": "2026-03-05", "dagster/asset_partition_range_end": "2026-03-06"}
    with DagsterInstance.ephemeral() as instance:
        result = run_job(defs, BACKFILL_JOB, instance, tags=days)
        assert result.success
        assert materialized(result) == {shard_key(s, by_day=True).to_user_string() for s in shards}
        since, until = datetime(2026, 3, 5, tzinfo=UTC), datetime(2026, 3, 7, tzinfo=UTC)
        window = Counter(
            (p, m.conversation_id) for p in providers for m in sim.truth(p).messages if since <= m.created_at < until
        )
        assert window and warehouse_counts(warehouse) == window
        assert all(cursors(shard_state(s)) == {} for s in shards), "a backfill sets no cursor"
        assert run_job(defs, INCREMENTAL_JOB, instance).success
        assert warehouse_counts(warehouse) == truth_counts(sim, providers)
        states = {s.pipeline_name: shard_state(s) for s in shards}
        assert all(cursors(state) for state in states.values())
        sim.advance(timedelta(days=1))
        assert run_job(defs, BACKFILL_JOB, instance, tags=days).success
        assert {s.pipeline_name: shard_state(s) for s in shards} == states, "a backfill moves no cursor"
        assert run_job(defs, INCREMENTAL_JOB, instance).success
    assert warehouse_counts(warehouse) == truth_counts(sim, providers)


def cursors(state: Any) -> Any:
    """``state`` without its empty containers: what a run actually recorded."""
    if not isinstance(state, dict):
        return state
    kept = {key: cursors(value) for key, value in state.items()}
    return {key: value for key, value in kept.items() if value not in ({}, [], None)}


def _materialize_concurrently(defs: Definitions, shards: list[Shard], instance: DagsterInstance) -> list[Any]:
    results: list[Any] = [None] * len(shards)

    def materialize(index: int) -> None:
        results[index] = run_job(defs, INCREMENTAL_JOB, instance, asset_selection=[shard_key(shards[index])])

    threads = [threading.Thread(target=materialize, args=(i,)) for i in range(len(shards))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    return results


def dagster_home(tmp_path: Path) -> Path:
    home = tmp_path / "dagster"
    home.mkdir(exist_ok=True)
    return home


def step_interval(instance: DagsterInstance, result: Any) -> tuple[float, float]:
    """When the run's one step started and finished."""
    events = [  # the load's step: a materialisation also runs the asset's completeness check, a step of its own
        e for e in instance.all_logs(result.run_id) if e.dagster_event and "complete" not in (e.step_key or "")
    ]
    started = [e.timestamp for e in events if e.dagster_event and e.dagster_event.event_type_value == "STEP_START"]
    ended = [e.timestamp for e in events if e.dagster_event and e.dagster_event.event_type_value == "STEP_SUCCESS"]
    return min(started), max(ended)


@pytest.mark.slow
def test_two_shards_of_one_provider_materialise_concurrently_into_duckdb(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    warehouse = tmp_path / "w.duckdb"
    with Simulator(Corpus(seed=11, size=600), settings=SimulatorSettings(latency_ms=5)) as sim:
        configure(sim, monkeypatch, warehouse)
        defs = definitions()
        shards = [s for s in plan_shards() if s.provider == "chatnode"]
        assert len(shards) == 2
        with DagsterInstance.local_temp(str(dagster_home(tmp_path))) as instance:
            instance.event_log_storage.set_concurrency_slots(DUCKDB_POOL, 1)
            results = _materialize_concurrently(defs, shards, instance)
            assert all(r is not None and r.success for r in results)
            (_first_start, first_end), (second_start, _second_end) = sorted(step_interval(instance, r) for r in results)
        assert first_end <= second_start, "the pool let two DuckDB writers run at once"
        assert warehouse_counts(warehouse) == truth_counts(sim, ("chatnode",))


def test_two_shards_of_one_provider_load_in_parallel_into_postgres(
    postgres_uri: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    with Simulator(Corpus(seed=11, size=600), settings=SimulatorSettings(latency_ms=5)) as sim:
        configure(sim, monkeypatch, tmp_path / "unused.duckdb")
        monkeypatch.setenv("DESTINATION__POSTGRES__CREDENTIALS", postgres_uri)
        dataset = "orchestrated"
        monkeypatch.setenv("CHATSYNC__ORCHESTRATION__DESTINATION", "postgres")
        monkeypatch.setenv("CHATSYNC__ORCHESTRATION__DATASET", dataset)
        monkeypatch.setenv("CHATSYNC__ORCHESTRATION__RETRIES", "0")
        settings = OrchestrationSettings.from_config()
        assert (settings.target.destination, settings.target.dataset, settings.pool) == ("postgres", dataset, None)
        defs = build_definitions(settings)
        shards = [s for s in plan_shards() if s.provider == "owlbot"]
        with DagsterInstance.local_temp(str(dagster_home(tmp_path))) as instance:
            results = _materialize_concurrently(defs, shards, instance)
        assert all(r is not None and r.success for r in results), [
            r.failure_data_for_node(s.key) for r, s in zip(results, shards, strict=True) if r and not r.success
        ]
        pipeline = dlt.pipeline(
            "probe",
            destination=dlt.destinations.postgres(postgres_uri),
            dataset_name=dataset,
            pipelines_dir=str(tmp_path),
        )
        with pipeline.sql_client() as client:
            rows = client.execute_sql(
                f"SELECT provider, conversation_id, COUNT(*) FROM {client.make_qualified_table_name('messages')} "
                "GROUP BY 1, 2"
            )
        assert Counter({(p, c): n for p, c, n in rows or []}) == truth_counts(sim, ("owlbot",))


@pytest.mark.slow
def test_a_failing_shard_fails_alone_with_its_one_line_cause(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    corpus = Corpus(seed=11, size=600)
    forbidden = corpus.bots["chatnode"][0].bot_id
    warehouse = tmp_path / "w.duckdb"
    with Simulator(corpus, settings=SimulatorSettings(chatnode_forbidden_bots=frozenset({forbidden}))) as sim:
        configure(sim, monkeypatch, warehouse)
        defs = definitions()
        with DagsterInstance.ephemeral() as instance:
            result = run_job(defs, INCREMENTAL_JOB, instance)
        assert not result.success
        failed = next(s for s in plan_shards() if s.provider == "chatnode" and s.ids == (forbidden,))
        failure = result.failure_data_for_node(failed.key)
        assert failure is not None and failure.user_failure_data is not None
        assert failure.user_failure_data.description == (
            f"chatnode: bot {forbidden}: access denied (HTTP 403: Bot access not allowed) (chatsync exit status 1)"
        )
        others = {shard_key(s).to_user_string() for s in plan_shards() if s != failed}
        assert others <= materialized(result)
        loaded = warehouse_counts(warehouse)
    assert loaded == truth_counts(sim) - Counter(
        ("chatnode", m.conversation_id) for m in sim.truth("chatnode").messages if m.bot_id == forbidden
    )


@pytest.mark.slow
def test_dagster_validates_the_definitions_module(
    sim: Simulator, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    configure(sim, monkeypatch, tmp_path / "w.duckdb")
    monkeypatch.setenv("DAGSTER_HOME", str(dagster_home(tmp_path)))
    validate = [str(Path(sys.executable).with_name("dg")), "check", "defs"]  # what make dagster runs
    root = Path(__file__).resolve().parents[3]
    done = subprocess.run(validate, capture_output=True, text=True, timeout=180, check=False, cwd=root)
    said = done.stderr + done.stdout
    assert done.returncode == 0, said[-2000:]
    assert "All definitions loaded successfully" in said
    assert "Warning" not in said, "no deprecated command: " + said[-2000:]
    assert sim.settings.api_keys["owlbot"] not in said


def test_a_shard_whose_lock_is_held_fails_with_the_holder_and_may_be_retried(
    sim: Simulator, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from pipelines.engine.locking import file_lock
    from pipelines.engine.workspace import lock_dir

    configure(sim, monkeypatch, tmp_path / "w.duckdb")
    defs = build_definitions(OrchestrationSettings(Target().resolved(), retries=1, retry_delay_seconds=0.1))
    shard = next(s for s in plan_shards() if s.provider == "feedloop")
    target = shard.target(Target().resolved())
    lock_path = lock_dir(target.pipelines_dir) / f"{shard.pipeline_name}.lock"
    with file_lock(lock_path, "a run started elsewhere"), DagsterInstance.ephemeral() as instance:
        result = run_job(defs, INCREMENTAL_JOB, instance, asset_selection=[shard_key(shard)])
    assert not result.success
    failure = result.failure_data_for_node(shard.key)
    assert failure is not None and failure.user_failure_data is not None
    description = failure.user_failure_data.description or ""
    assert description.startswith(f"another chatsync run holds the lock of pipeline '{shard.pipeline_name}'")
    assert f"pid {os.getpid()}" in description
    retried = [e for e in result.all_events if e.event_type_value == "STEP_UP_FOR_RETRY"]
    assert len(retried) == 1, "the RetryPolicy retried it once"


def test_a_configuration_error_is_not_retried(sim: Simulator, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    configure(sim, monkeypatch, tmp_path / "w.duckdb")
    monkeypatch.setenv("SOURCES__CHATNODE__BASE_URL", "ftp://nowhere")
    defs = build_definitions(OrchestrationSettings(Target().resolved(), retries=2, retry_delay_seconds=0.1))
    shard = next(s for s in plan_shards() if s.provider == "chatnode")
    with DagsterInstance.ephemeral() as instance:
        result = run_job(defs, INCREMENTAL_JOB, instance, asset_selection=[shard_key(shard)])
    failure = result.failure_data_for_node(shard.key)
    assert failure is not None and failure.user_failure_data is not None
    assert failure.user_failure_data.description == (
        "chatnode: base_url 'ftp://nowhere' is not an http(s) URL; set [sources.chatnode] base_url in "
        ".dlt/config.toml, or SOURCES__CHATNODE__BASE_URL (chatsync exit status 2)"
    )
    assert not [e for e in result.all_events if e.event_type_value == "STEP_UP_FOR_RETRY"]


@pytest.mark.slow
def test_reset_forgets_one_shards_state_and_the_next_run_reads_it_again(
    sim: Simulator, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from pipelines.cli import main

    warehouse = tmp_path / "w.duckdb"
    configure(sim, monkeypatch, warehouse)
    defs = definitions()
    shards = [s for s in plan_shards() if s.provider == "example_ai"]
    with DagsterInstance.ephemeral() as instance:
        assert run_job(defs, INCREMENTAL_JOB, instance, asset_selection=[shard_key(s) for s in shards]).success
        assert all(cursors(shard_state(s)) for s in shards)
        reset_one = ["reset", "--provider", "example_ai", "--pipeline", shards[0].pipeline_name, "--yes"]
        assert main(reset_one) == 0
        assert cursors(shard_state(shards[0])) == {} and cursors(shard_state(shards[1])), "the other shard keeps its"
        assert run_job(defs, INCREMENTAL_JOB, instance, asset_selection=[shard_key(shards[0])]).success
    assert warehouse_counts(warehouse) == truth_counts(sim, ("example_ai",)), "re-read, merged: no duplicate"


@pytest.mark.slow
def test_a_cli_run_during_a_dagster_materialisation_is_skipped_with_75(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """One writer per DuckDB file, whoever it runs for: the CLI and Dagster's shards refuse each other."""
    warehouse = tmp_path / "w.duckdb"
    # every answer takes 4 s while the CLI runs, so the shard (3 requests in turn at least) holds the
    # lock longer than the CLI takes to start on a busy machine; lifted once the CLI has exited
    with Simulator(Corpus(seed=11, size=600), faults=FaultSpec(slow=1.0, slow_ms=4000)) as sim:
        configure(sim, monkeypatch, warehouse)
        defs = definitions()
        shard = next(s for s in plan_shards() if s.provider == "owlbot")
        holder = Path(str(warehouse) + ".lock.holder")
        with DagsterInstance.local_temp(str(dagster_home(tmp_path))) as instance:
            result: list[Any] = []
            selection = [shard_key(shard)]
            dagster = threading.Thread(
                target=lambda: result.append(run_job(defs, INCREMENTAL_JOB, instance, asset_selection=selection))
            )
            dagster.start()
            deadline = datetime.now(UTC) + timedelta(seconds=60)
            while not holder.exists() and datetime.now(UTC) < deadline:
                threading.Event().wait(0.05)
            assert holder.exists(), "the shard took the warehouse lock"
            cli = subprocess.run(
                [sys.executable, "-m", "pipelines.cli", "run", "--provider", "example_ai"],
                capture_output=True,
                text=True,
                timeout=120,
                cwd=tmp_path,
            )
            sim.set_faults(FaultSpec())
            dagster.join(timeout=300)
        assert cli.returncode == 75, cli.stderr
        assert f"skipped: another chatsync run holds the warehouse lock of duckdb {warehouse}" in cli.stderr
        assert "Could not set lock" not in cli.stderr
        assert result and result[0].success


@pytest.mark.slow
def test_the_completeness_check_fails_on_the_shard_whose_warehouse_lost_messages(
    sim: Simulator, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    warehouse = tmp_path / "w.duckdb"
    configure(sim, monkeypatch, warehouse)
    defs = definitions()
    with DagsterInstance.ephemeral() as instance:
        assert run_job(defs, INCREMENTAL_JOB, instance).success
        clean = run_job(defs, AUDIT_JOB, instance)
        evaluations = clean.get_asset_check_evaluations()
        assert len(evaluations) == len(plan_shards()) and all(e.passed for e in evaluations)
        with duckdb.connect(str(warehouse)) as con:
            (cid,) = con.execute(
                "SELECT conversation_id FROM chat_history.messages WHERE provider = 'feedloop' LIMIT 1"
            ).fetchone() or ("",)
            con.execute("DELETE FROM chat_history.messages WHERE provider = 'feedloop' AND conversation_id = ?", [cid])
        damaged = run_job(defs, AUDIT_JOB, instance)
    failed = {e.asset_key.to_user_string() for e in damaged.get_asset_check_evaluations() if not e.passed}
    feedloop = {shard_key(s).to_user_string() for s in plan_shards() if s.provider == "feedloop"}
    assert failed and failed <= feedloop
