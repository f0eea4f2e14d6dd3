"""Analytics views on the canonical tables, written once and transpiled per warehouse with sqlglot.

The SQL lives in ``pipelines/sql/<view>.sql``, in DuckDB's dialect. Two things have no common
spelling across DuckDB, Postgres and BigQuery, so the SQL names them and sqlglot's syntax tree gets
the destination's form: ``SECONDS_BETWEEN(a, b)`` (exact to the microsecond everywhere) and the
dataset that qualifies each table.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

import dlt
import sqlglot
from sqlglot import exp

from .warehouse import has_tables

SQL_DIR: Final = Path(__file__).parent / "sql"
SOURCE_DIALECT: Final = "duckdb"
# In dependency order: each view may read the ones before it.
VIEWS: Final = ("response_times", "conversation_metrics", "daily_activity")
TABLES: Final = ("messages", "conversations")
DIALECTS: Final = ("duckdb", "postgres", "bigquery")

_SECONDS_BETWEEN: Final = {
    "duckdb": "CAST(DATE_DIFF('microsecond', {a}, {b}) AS DOUBLE) / 1000000",
    "postgres": "CAST(EXTRACT(EPOCH FROM ({b}) - ({a})) AS DOUBLE PRECISION)",
    "bigquery": "TIMESTAMP_DIFF({b}, {a}, MICROSECOND) / 1000000",
}


def view_sql(view: str) -> str:
    """The canonical SQL of one view, as written."""
    return (SQL_DIR / f"{view}.sql").read_text(encoding="utf-8")


def _seconds_between(node: exp.Expr, dialect: str) -> exp.Expr:
    if isinstance(node, exp.Anonymous) and node.name.upper() == "SECONDS_BETWEEN":
        start, end = (arg.sql(dialect=dialect) for arg in node.expressions)
        replacement: exp.Expr = sqlglot.parse_one(_SECONDS_BETWEEN[dialect].format(a=start, b=end), read=dialect)
        return replacement
    return node


def _qualify(node: exp.Expr, dataset: str) -> exp.Expr:
    if isinstance(node, exp.Table) and not node.db and node.name in (*TABLES, *VIEWS):
        node.set("db", exp.to_identifier(dataset, quoted=True))
        node.set("this", exp.to_identifier(node.name, quoted=True))
    return node


def transpile(sql: str, dialect: str, dataset: str) -> str:
    """Canonical SQL (DuckDB dialect, unqualified tables) for one destination.

    Args:
        sql: A query over the canonical tables and views.
        dialect: One of ``DIALECTS``.
        dataset: The dataset (schema) holding the tables and views.

    Returns:
        SQL for that destination.
    """
    tree = sqlglot.parse_one(sql, read=SOURCE_DIALECT)
    tree = tree.transform(_seconds_between, dialect).transform(_qualify, dataset)
    return tree.sql(dialect=dialect, pretty=True)


def transpile_view(view: str, dialect: str, dataset: str) -> str:
    """The ``SELECT`` of one of ``VIEWS`` for one destination (see ``transpile``)."""
    return transpile(view_sql(view), dialect, dataset)


def view_statements(dialect: str, dataset: str) -> list[str]:
    """Statements that (re)create every view, in dependency order.

    Postgres refuses ``CREATE OR REPLACE VIEW`` when a view's columns change (e.g. after an
    upgrade), so there the views are dropped and created, in one transaction.

    Args:
        dialect: One of ``DIALECTS``.
        dataset: The dataset (schema).

    Returns:
        SQL statements to run in order.
    """
    name = {view: exp.table_(view, db=dataset, quoted=True).sql(dialect=dialect) for view in VIEWS}
    if dialect == "postgres":
        drops = [f"DROP VIEW IF EXISTS {name[view]}" for view in reversed(VIEWS)]
        creates = [f"CREATE VIEW {name[view]} AS\n{transpile_view(view, dialect, dataset)}" for view in VIEWS]
        return drops + creates
    return [f"CREATE OR REPLACE VIEW {name[view]} AS\n{transpile_view(view, dialect, dataset)}" for view in VIEWS]


def destination_dialect(pipeline: dlt.Pipeline) -> str:
    """The sqlglot dialect of a pipeline's destination."""
    name = pipeline.destination.destination_name if pipeline.destination else ""
    if name not in DIALECTS:
        raise ValueError(f"no analytics dialect for destination {name!r}; supported: {', '.join(DIALECTS)}")
    return name


def _canonical_tables_exist(pipeline: dlt.Pipeline) -> bool:
    """From the pipeline's schema; else (a pipeline that never loaded, e.g. an orchestrator's) the warehouse."""
    if pipeline.default_schema_name is not None and all(t in pipeline.default_schema.tables for t in TABLES):
        return True
    return has_tables(pipeline, TABLES)


def refresh_views(pipeline: dlt.Pipeline) -> list[str]:
    """Creates or refreshes every view in the pipeline's dataset; no-op before the first load.

    Args:
        pipeline: A pipeline that has loaded the canonical tables.

    Returns:
        The views refreshed (empty when ``messages`` does not exist yet).
    """
    if not _canonical_tables_exist(pipeline):
        return []
    dialect = destination_dialect(pipeline)
    statements = view_statements(dialect, pipeline.dataset_name)
    with pipeline.sql_client() as client:
        if dialect == "postgres":  # drop + create: atomic for readers only inside a transaction
            with client.begin_transaction():
                for statement in statements:
                    client.execute_sql(statement)
        else:  # CREATE OR REPLACE is atomic per view; BigQuery allows no DDL in transactions
            for statement in statements:
                client.execute_sql(statement)
    return list(VIEWS)
