"""Insights on a real PostgreSQL: the same rows, topics and gaps as on DuckDB, and the view made there too."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import dlt
import pytest

from pipelines.engine.target import Target
from pipelines.insights.refresh import refresh_insights
from pipelines.insights.settings import InsightsSettings
from simulator import Corpus, Simulator
from tests.pipelines.warehouse.test_analytics import load_all
from tests.pipelines.warehouse.test_postgres import normalised

TABLES = {
    "conversation_insights": "provider, conversation_id, topic_id, language, sentiment, outcome, question, "
    "first_message_at, last_message_at, user_messages, assistant_messages, message_count, fallback",
    "topics": "topic_id, language, label, keywords, conversations, unanswered, handed_off, question_1, first_seen",
    "knowledge_gaps": "rank, topic_id, label, conversations, failed_share, last_7_days, example_1_conversation_id",
    "topic_daily": "topic_id, day, conversations, unanswered, handed_off, abandoned, mean_sentiment",
}


def rows(pipeline: dlt.Pipeline, table: str) -> list[tuple[Any, ...]]:
    columns = TABLES[table]
    with pipeline.sql_client() as client:
        name = client.make_qualified_table_name(table)
        found = client.execute_sql(f"SELECT {columns} FROM {name}") or []
    return sorted((tuple(normalised(v) for v in row) for row in found), key=repr)


def test_duckdb_and_postgres_give_the_same_insights(
    postgres_uri: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DESTINATION__POSTGRES__CREDENTIALS", postgres_uri)
    with Simulator(Corpus(seed=43, size=3_000)) as sim:
        duck = load_all(sim, Target(pipelines_dir=str(tmp_path / "d"), duckdb_path=str(tmp_path / "w.duckdb")))
        pg = load_all(sim, Target(destination="postgres", dataset="insights_parity", pipelines_dir=str(tmp_path / "p")))
    settings = InsightsSettings()
    on_duckdb = refresh_insights(duck, settings, file_format="parquet")
    on_postgres = refresh_insights(pg, settings)
    assert on_postgres.conversations == on_duckdb.conversations > 250
    for table in TABLES:
        assert rows(pg, table) == rows(duck, table), f"{table} differs between DuckDB and Postgres"
    again = refresh_insights(pg, settings)
    assert (again.recomputed, again.topics) == (0, on_postgres.topics), "nothing changed, nothing recomputed"
