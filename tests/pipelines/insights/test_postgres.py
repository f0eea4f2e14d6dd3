"""Insights on a real PostgreSQL: the same rows, topics and gaps as on DuckDB, and the view made there too."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import dlt
import pytest

from pipelines.insights.edits import edit_row, save_edits
from pipelines.insights.refresh import refresh_insights
from pipelines.insights.settings import InsightsSettings
from tests.utils import normalised
from tests.worlds import Parity

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


@pytest.mark.slow
def test_duckdb_and_postgres_give_the_same_insights(
    parity: Parity, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    duck = parity.duckdb(tmp_path / "d")
    pg, _ = parity.postgres(tmp_path / "p", "insights_parity", monkeypatch)
    settings = InsightsSettings()
    on_duckdb = refresh_insights(duck, settings, file_format="parquet")
    on_postgres = refresh_insights(pg, settings)
    assert on_postgres.conversations == on_duckdb.conversations > 250
    for table in TABLES:
        assert rows(pg, table) == rows(duck, table), f"{table} differs between DuckDB and Postgres"
    again = refresh_insights(pg, settings)
    assert (again.recomputed, again.topics) == (0, on_postgres.topics), "nothing changed, nothing recomputed"

    # people's edits: the same on both, and they survive a refit
    largest = [row[0] for row in sorted(rows(pg, "topics"), key=lambda r: -int(r[4])) if row[0] != "other"]
    first, second = largest[:2]
    edits = [edit_row(first, name="Warranty claims"), edit_row(second, merged_into=first)]
    for pipeline, file_format in ((duck, "parquet"), (pg, None)):
        save_edits(pipeline, edits, file_format)
        refresh_insights(pipeline, settings, refit=True, file_format=file_format)
    for table in TABLES:
        on_pg, on_duck = rows(pg, table), rows(duck, table)
        differ = sorted(set(on_pg) ^ set(on_duck), key=repr)[:4]
        assert on_pg == on_duck, f"{table} differs between DuckDB and Postgres after edits: {differ}"
    labels = {row[0]: row[2] for row in rows(pg, "topics")}
    assert labels[first] == "Warranty claims" and second not in labels


@pytest.mark.parametrize("dialect", ["duckdb", "postgres", "bigquery"])
def test_the_insights_queries_transpile_for_every_warehouse(dialect: str) -> None:
    import sqlglot

    from pipelines.insights.store import changed_conversations_sql, topic_daily_statements

    live = frozenset({"messages", "conversations"})
    for known in (False, True):
        sql = changed_conversations_sql(dialect, "chat_history", live, known, ["owlbot"], 2000)
        tables = {t.name for t in sqlglot.parse_one(sql, read=dialect).find_all(sqlglot.exp.Table) if t.db}
        assert tables == {"messages", "conversations"} | ({"conversation_insights"} if known else set())
    for statement in topic_daily_statements(dialect, "chat_history"):
        assert sqlglot.parse_one(statement, read=dialect)
    if dialect == "bigquery":
        assert "`chat_history`.`conversation_insights`" in topic_daily_statements(dialect, "chat_history")[0]
