"""Postgres parity: the same corpus loaded into DuckDB and a real PostgreSQL gives identical results."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import dlt
import pytest

from pipelines.warehouse.analytics import VIEWS
from tests.utils import normalised, view
from tests.worlds import Parity

ORDER = {
    "messages": "provider, conversation_id, message_id",
    "conversations": "provider, conversation_id",
    "response_times": "provider, conversation_id, reply_message_id",
    "conversation_metrics": "provider, conversation_id",
    "daily_activity": "day, provider, bot_id",
    "knowledge_citations": "provider, conversation_id, message_id, knowledge_id",
    "provider_signals": "provider",
    "conversation_outcomes": "provider, conversation_id",
    "bot_daily_kpis": "day, provider, bot_id",
    "knowledge_usage": "provider, bot_id, knowledge_id",
    "model_latency": "day, provider, model",
    "audience": "provider, bot_id, country, device_type",
}
COLUMNS = {
    "messages": "provider, bot_id, conversation_id, message_id, role, content, created_at, sender_id, sequence, "
    "created_at_observed, model, latency_ms, raw",
    "conversations": "provider, bot_id, conversation_id, started_at, user_id, reported_message_count, handed_off, "
    "country, device_type, raw",
    "knowledge_citations": "provider, bot_id, conversation_id, message_id, knowledge_id, cited_at",
}


def rows(pipeline: dlt.Pipeline, name: str) -> list[tuple[Any, ...]]:
    if name in COLUMNS:
        with pipeline.sql_client() as client:
            table = client.make_qualified_table_name(name)
            found = client.execute_sql(f"SELECT {COLUMNS[name]} FROM {table} ORDER BY {ORDER[name]}") or []
    else:
        found = view(pipeline, name, ORDER[name])
    result = [tuple(normalised(v) for v in row) for row in found]
    if name in ("messages", "conversations"):  # raw is JSON in DuckDB and jsonb in Postgres: compare the values
        result = [(*row[:-1], row[-1] if isinstance(row[-1], dict) else json.loads(row[-1])) for row in result]
    return result


@pytest.mark.slow
def test_duckdb_and_postgres_agree_row_for_row(parity: Parity, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    duck = parity.duckdb(tmp_path / "d")
    pg, _ = parity.postgres(tmp_path / "p", "rows_parity", monkeypatch)
    assert pg.destination.destination_name == "postgres"
    for name in (*COLUMNS, *VIEWS):
        in_duckdb, in_postgres = rows(duck, name), rows(pg, name)
        assert in_duckdb, name
        assert in_postgres == in_duckdb, f"{name} differs between DuckDB and Postgres"
