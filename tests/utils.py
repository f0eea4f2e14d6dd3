"""Helpers shared by the tests: run a provider into a real DuckDB and compare with ground truth."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import dlt
import pytest

from pipelines.engine.destinations import loader_file_format
from simulator import Simulator
from tests.reference import Conv, Msg

MessageKey = tuple[str, str]
PROVIDERS = ("example_ai", "owlbot", "chatnode", "feedloop")


def make_pipeline(tmp_path: Path, name: str = "chat_history") -> dlt.Pipeline:
    """A pipeline with its own state folder and DuckDB file under ``tmp_path``."""
    return dlt.pipeline(
        pipeline_name=name,
        destination=dlt.destinations.duckdb(str(tmp_path / "chatsync.duckdb")),
        dataset_name="chat_history",
        pipelines_dir=str(tmp_path / "pipelines"),
    )


def run_source(pipeline: dlt.Pipeline, source: Any) -> dict[str, int]:
    """Runs ``source``; returns rows normalized per canonical table in this load."""
    pipeline.run(source, loader_file_format=loader_file_format("duckdb"))  # type: ignore[arg-type]
    info = pipeline.last_trace.last_normalize_info
    counts = info.row_counts if info else {}
    return {t: c for t, c in counts.items() if not t.startswith("_dlt")}


def query(pipeline: dlt.Pipeline, sql: str) -> list[tuple[Any, ...]]:
    """Runs SQL with ``{messages}`` / ``{conversations}`` replaced by qualified table names."""
    with pipeline.sql_client() as client:
        names = {t: client.make_qualified_table_name(t) for t in ("messages", "conversations")}
        return [tuple(row) for row in client.execute_sql(sql.format(**names)) or []]


def utc(value: datetime | None) -> datetime | None:
    """Normalises timestamps read back from a destination to aware UTC."""
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def warehouse_messages(pipeline: dlt.Pipeline, provider: str) -> dict[MessageKey, tuple[Any, ...]]:
    """Messages of one provider keyed by ``(conversation_id, message_id)``."""
    rows = query(
        pipeline,
        "SELECT conversation_id, message_id, role, content, created_at, sender_id "
        f"FROM {{messages}} WHERE provider = '{provider}'",
    )
    return {(r[0], r[1]): (r[2], r[3], utc(r[4]), r[5]) for r in rows}


def truth_messages(
    sim: Simulator, provider: str, conversation_ids: list[str] | None = None, with_sender: bool = True
) -> dict[MessageKey, tuple[Any, ...]]:
    """Ground truth in the shape of ``warehouse_messages``."""
    wanted = set(conversation_ids) if conversation_ids is not None else None
    return {
        (m.conversation_id, str(m.message_id)): (m.role, m.content, m.created_at, m.sender_id if with_sender else None)
        for m in sim.truth(provider).messages
        if wanted is None or m.conversation_id in wanted
    }


def warehouse_conversations(pipeline: dlt.Pipeline, provider: str) -> dict[str, tuple[Any, ...]]:
    """Conversations of one provider keyed by id: ``(started_at, user_id, reported_message_count)``."""
    rows = query(
        pipeline,
        "SELECT conversation_id, started_at, user_id, reported_message_count "
        f"FROM {{conversations}} WHERE provider = '{provider}'",
    )
    return {r[0]: (utc(r[1]), r[2], r[3]) for r in rows}


def truth_conversations(
    sim: Simulator, provider: str, conversation_ids: list[str] | None = None
) -> dict[str, tuple[Any, ...]]:
    """Ground truth in the shape of ``warehouse_conversations``."""
    wanted = set(conversation_ids) if conversation_ids is not None else None
    return {
        c.conversation_id: (c.started_at, c.user_id, c.reported_message_count)
        for c in sim.truth(provider).conversations
        if wanted is None or c.conversation_id in wanted
    }


RUN_OPTIONS = ("observer", "privacy", "backfill_since", "backfill_until", "repair")


def with_ledger(options: dict[str, Any]) -> dict[str, Any]:
    """A source's arguments with its run (``run_with``) as the engine gives it: the warehouse's ledger.

    ``observer``, ``privacy``, ``backfill_since``, ``backfill_until`` and ``repair`` among ``options``
    go into that run; the rest are the source's own.
    """
    from pipelines.warehouse.ledger import WarehouseLedger
    from sources.common.source_run import SourceRun

    run = {name: options.pop(name) for name in RUN_OPTIONS if name in options}
    return {**options, "run_with": SourceRun(ledger=WarehouseLedger, **run)}


def assert_exact(
    pipeline: dlt.Pipeline, sim: Simulator, provider: str, conversation_ids: list[str] | None = None
) -> None:
    """The warehouse holds exactly the simulator's truth for ``provider``: every message and conversation."""
    assert warehouse_messages(pipeline, provider) == truth_messages(sim, provider, conversation_ids)
    assert warehouse_conversations(pipeline, provider) == truth_conversations(sim, provider, conversation_ids)


def load_ids(pipeline: dlt.Pipeline) -> list[tuple[Any, ...]]:
    """Every row's identity and load id, to prove a rerun changed nothing."""
    return sorted(query(pipeline, "SELECT provider, conversation_id, message_id, _dlt_load_id FROM {messages}"))


def resource_state(pipeline: dlt.Pipeline, provider: str, resource: str = "chat_history") -> dict[str, Any]:
    """The dlt resource state of one provider (empty when none is committed)."""
    sources = pipeline.state.get("sources", {})
    return dict(sources.get(provider, {}).get("resources", {}).get(resource, {}))


def loaded_order(pipeline: dlt.Pipeline, provider: str) -> dict[str, list[str]]:
    """Message ids per conversation in the order analytics sees them: ``created_at``, then ``sequence``."""
    rows = query(
        pipeline,
        "SELECT conversation_id, message_id FROM {messages} "
        f"WHERE provider = '{provider}' ORDER BY conversation_id, created_at, sequence",
    )
    order: dict[str, list[str]] = {}
    for cid, mid in rows:
        order.setdefault(cid, []).append(mid)
    return order


def truth_order(truth: list[Any]) -> dict[str, list[str]]:
    """Message ids per conversation in the simulator's true order."""
    order: dict[str, list[str]] = {}
    for m in sorted(truth, key=lambda m: (m.conversation_id, m.position)):
        order.setdefault(m.conversation_id, []).append(str(m.message_id))
    return order


def failure_cause(run: Callable[[], Any], expected: type[BaseException]) -> BaseException:
    """Runs ``run``, which must fail, and digs the ``expected`` error out of dlt's wrapping."""
    with pytest.raises(Exception) as failure:
        run()
    cause: BaseException | None = failure.value
    while cause is not None and not isinstance(cause, expected):
        cause = cause.__cause__ or cause.__context__
    assert isinstance(cause, expected), f"no {expected.__name__} in {failure.value!r}"
    return cause


def assert_rerun_changes_nothing(
    pipeline: dlt.Pipeline, make_source: Callable[[], Any], provider: str, resource: str
) -> None:
    """Loads, then loads again with nothing new: no row written or rewritten, state unchanged."""
    run_source(pipeline, make_source())
    rows, state = load_ids(pipeline), resource_state(pipeline, provider, resource)
    counts = run_source(pipeline, make_source())
    assert counts.get("messages", 0) == 0 and counts.get("conversations", 0) == 0
    assert load_ids(pipeline) == rows, "not a single row rewritten"
    assert resource_state(pipeline, provider, resource) == state


def truth_records(sim: Simulator) -> tuple[list[Msg], dict[tuple[str, str], str | None]]:
    """Every message of the simulator's truth as ``tests.reference`` takes them, and each conversation's user."""
    records, users = [], {}
    for provider in PROVIDERS:
        truth = sim.truth(provider)
        for m in truth.messages:
            sequence = int(m.message_id) if provider == "owlbot" else None if provider == "example_ai" else m.position
            records.append(
                Msg(
                    provider,
                    m.bot_id if provider != "example_ai" else "default",
                    m.conversation_id,
                    str(m.message_id),
                    m.role,
                    m.created_at,
                    sequence,
                    m.sender_id,
                    model=m.model,
                    latency_ms=m.latency_ms,
                    knowledge_ids=m.knowledge_ids,
                )
            )
        users |= {(provider, c.conversation_id): c.user_id for c in truth.conversations}
    return records, users


def chatbot_truth(sim: Simulator) -> tuple[list[Msg], dict[tuple[str, str], Conv]]:
    """The ground truth's messages (as ``truth_records``) and the conversations' signals."""
    records, _ = truth_records(sim)
    conversations = {
        (provider, c.conversation_id): Conv(c.user_id, c.handed_off, c.country, c.device_type)
        for provider in PROVIDERS
        for c in sim.truth(provider).conversations
    }
    return records, conversations


def view(pipeline: dlt.Pipeline, name: str, order: str) -> list[tuple[Any, ...]]:
    """Every row of a table or view, in ``order``."""
    with pipeline.sql_client() as client:
        table = client.make_qualified_table_name(name)
        return [tuple(r) for r in client.execute_sql(f"SELECT * FROM {table} ORDER BY {order}") or []]


def normalised(value: Any) -> Any:
    """A value read back from DuckDB or PostgreSQL, in a form both give alike."""
    if isinstance(value, datetime):
        return utc(value)
    if isinstance(value, float):
        return round(value, 6)
    if hasattr(value, "is_finite"):  # Decimal
        return round(float(value), 6)
    return value
