"""Analytics views on the canonical tables, written once and transpiled per warehouse with sqlglot.

The SQL lives in ``pipelines/warehouse/sql/<view>.sql``, in DuckDB's dialect. Two things have no common
spelling across DuckDB, Postgres and BigQuery, so the SQL names them and sqlglot's syntax tree gets
the destination's form: ``SECONDS_BETWEEN(a, b)`` (exact to the microsecond everywhere) and the
dataset that qualifies each table.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any, Final

import dlt
import sqlglot
from sqlglot import exp

from sources.common.provider import Signal
from sources.common.tables import CANONICAL_COLUMNS as _COLUMNS
from sources.common.tables import INSIGHT_TABLES, SYNC_ERRORS
from sources.registry import SPECS

from .queries import columns_exist, has_tables, tables_exist

SQL_DIR: Final = Path(__file__).parent / "sql"
SOURCE_DIALECT: Final = "duckdb"
# In dependency order: each view may read the ones before it.
VIEWS: Final = (
    "response_times",
    "conversation_metrics",
    "daily_activity",
    "provider_signals",
    "conversation_outcomes",
    "bot_daily_kpis",
    "knowledge_usage",
    "model_latency",
    "audience",
)
TABLES: Final = ("messages", "conversations", "knowledge_citations")
TOPIC_DAILY: Final = "topic_daily"  # a view of conversation_insights, made by chatsync insights
# Tables the views read that only some providers fill: until one exists, the views read an empty stand-in.
OPTIONAL_TABLES: Final = ("knowledge_citations",)
DIALECTS: Final = ("duckdb", "postgres", "bigquery")

_SECONDS_BETWEEN: Final = {
    "duckdb": "CAST(DATE_DIFF('microsecond', {a}, {b}) AS DOUBLE) / 1000000",
    "postgres": "CAST(EXTRACT(EPOCH FROM ({b}) - ({a})) AS DOUBLE PRECISION)",
    "bigquery": "TIMESTAMP_DIFF({b}, {a}, MICROSECOND) / 1000000",
}


def view_sql(view: str) -> str:
    """The canonical SQL of one view, as written (``provider_signals``: made from the providers' declarations)."""
    if view == SIGNALS_VIEW:
        return provider_signals_sql()
    return (SQL_DIR / f"{view}.sql").read_text(encoding="utf-8")


SIGNALS_VIEW: Final = "provider_signals"


def provider_signals_sql() -> str:
    """Which analytics signals each registered provider sends: one row per provider, from its ``SPEC``.

    A metric built on a signal a provider does not send is NULL for that provider, never a guessed zero.
    """
    columns = [signal.value for signal in Signal]
    rows = [
        f"SELECT '{name}' AS provider, "
        + ", ".join(f"{'TRUE' if signal in spec.signals else 'FALSE'} AS {signal.value}" for signal in Signal)
        for name, spec in SPECS.items()
    ]
    header = f"-- generated from sources/registry.py: {', '.join(columns)}\n"
    return header + "\nUNION ALL\n".join(rows)


def _seconds_between(node: exp.Expr, dialect: str) -> exp.Expr:
    if isinstance(node, exp.Anonymous) and node.name.upper() == "SECONDS_BETWEEN":
        start, end = (arg.sql(dialect=dialect) for arg in node.expressions)
        replacement: exp.Expr = sqlglot.parse_one(_SECONDS_BETWEEN[dialect].format(a=start, b=end), read=dialect)
        return replacement
    return node


# Tables the read model also reads (``read_model``): dlt's load log and the open sync errors.
READ_TABLES: Final = ("_dlt_loads", SYNC_ERRORS)


def _qualify(node: exp.Expr, dataset: str) -> exp.Expr:
    known = (*TABLES, *VIEWS, *INSIGHT_TABLES, TOPIC_DAILY, *READ_TABLES)
    if isinstance(node, exp.Table) and not node.db and node.name in known:
        node.set("db", exp.to_identifier(dataset, quoted=True))
        node.set("this", exp.to_identifier(node.name, quoted=True))
    return node


_SQL_TYPES: Final = {"text": "VARCHAR", "timestamp": "TIMESTAMPTZ", "bigint": "BIGINT", "bool": "BOOLEAN"}


def _empty_stand_in(table: str) -> exp.Expr:
    """``(SELECT CAST(NULL AS …) AS column, … WHERE 1 = 0)``: no rows, the table's columns and types."""
    columns = ", ".join(
        f"CAST(NULL AS {_SQL_TYPES[str(column['data_type'])]}) AS {name}" for name, column in _COLUMNS[table].items()
    )
    return sqlglot.parse_one(f"SELECT {columns} FROM (SELECT 1 AS one) AS nothing WHERE 1 = 0", read=SOURCE_DIALECT)


def _stand_in_for(node: exp.Expr, missing: frozenset[str]) -> exp.Expr:
    if isinstance(node, exp.Table) and not node.db and node.name in missing:
        alias = exp.TableAlias(this=exp.to_identifier(node.alias_or_name))
        return exp.Subquery(this=_empty_stand_in(node.name), alias=alias)
    return node


# What the views read of each table: what the provider still holds (``deleted_at`` NULL, and for
# messages and citations, their conversation's too), and, with ``TESTS`` in the live set, no conversation
# the provider marks as a test (Intercom's Fin previews) either.
# A left join to the (few) conversations left out, not NOT EXISTS: DuckDB runs that as a join over every
# message before any filter of the query (a search over 1M messages took 330 ms instead of 190 ms).
TESTS: Final = "test_conversation"  # in a live set: test conversations are left out too
LIVE_TABLES: Final = ("conversations", "messages", "knowledge_citations")
DELETABLE: Final = ("conversations", "messages")  # the tables with a deleted_at column


def _live_rows_sql(table: str, tests: bool) -> str:
    """The live rows of one table: canonical SQL over its unqualified name."""
    test = " OR COALESCE(test_conversation, FALSE)" if tests else ""
    if table == "conversations":
        return "SELECT * FROM conversations AS t WHERE t.deleted_at IS NULL" + (
            " AND NOT COALESCE(t.test_conversation, FALSE)" if tests else ""
        )
    gone = (
        f"LEFT JOIN (SELECT provider, conversation_id FROM conversations WHERE deleted_at IS NOT NULL{test}) AS gone "
        "ON gone.provider = t.provider AND gone.conversation_id = t.conversation_id"
    )
    own = "t.deleted_at IS NULL AND " if table == "messages" else ""
    return f"SELECT t.* FROM {table} AS t {gone} WHERE {own}gone.conversation_id IS NULL"


def _live_rows_for(node: exp.Expr, live: frozenset[str], dataset: str) -> exp.Expr:
    if isinstance(node, exp.Table) and not node.db and node.name in live and node.name in LIVE_TABLES:
        inner = sqlglot.parse_one(_live_rows_sql(node.name, TESTS in live), read=SOURCE_DIALECT)
        for table in inner.find_all(exp.Table):  # qualified now, so this transform leaves them alone
            _qualify(table, dataset)
        return exp.Subquery(this=inner, alias=exp.TableAlias(this=exp.to_identifier(node.alias_or_name)))
    return node


def transpile(
    sql: str, dialect: str, dataset: str, missing: frozenset[str] = frozenset(), live: frozenset[str] = frozenset()
) -> str:
    """Canonical SQL (DuckDB dialect, unqualified tables) for one destination.

    Args:
        sql: A query over the canonical tables and views.
        dialect: One of ``DIALECTS``.
        dataset: The dataset (schema) holding the tables and views.
        missing: ``OPTIONAL_TABLES`` not in the warehouse yet: read as empty stand-ins.
        live: Tables read without what the provider deleted (see ``live_tables``).

    Returns:
        SQL for that destination.
    """
    tree = sqlglot.parse_one(sql, read=SOURCE_DIALECT)
    tree = tree.transform(_stand_in_for, missing).transform(_live_rows_for, live - missing, dataset)
    tree = tree.transform(_seconds_between, dialect).transform(_qualify, dataset)
    return tree.sql(dialect=dialect, pretty=True)


def transpile_view(
    view: str, dialect: str, dataset: str, missing: frozenset[str] = frozenset(), live: frozenset[str] = frozenset()
) -> str:
    """The ``SELECT`` of one of ``VIEWS`` for one destination (see ``transpile``)."""
    return transpile(view_sql(view), dialect, dataset, missing, live)


def view_statements(
    dialect: str, dataset: str, missing: frozenset[str] = frozenset(), live: frozenset[str] = frozenset()
) -> list[str]:
    """Statements that (re)create every view, in dependency order.

    Postgres refuses ``CREATE OR REPLACE VIEW`` when a view's columns change (e.g. after an
    upgrade), so there the views are dropped and created, in one transaction.

    Args:
        dialect: One of ``DIALECTS``.
        dataset: The dataset (schema).
        missing: ``OPTIONAL_TABLES`` not in the warehouse yet (see ``transpile``).
        live: Tables read without what the provider deleted (see ``transpile``).

    Returns:
        SQL statements to run in order.
    """
    name = {view: exp.table_(view, db=dataset, quoted=True).sql(dialect=dialect) for view in VIEWS}
    selects = {view: transpile_view(view, dialect, dataset, missing, live) for view in VIEWS}
    if dialect == "postgres":
        drops = [f"DROP VIEW IF EXISTS {name[view]}" for view in reversed(VIEWS)]
        creates = [f"CREATE VIEW {name[view]} AS\n{selects[view]}" for view in VIEWS]
        return drops + creates
    return [f"CREATE OR REPLACE VIEW {name[view]} AS\n{selects[view]}" for view in VIEWS]


def destination_dialect(pipeline: dlt.Pipeline) -> str:
    """The sqlglot dialect of a pipeline's destination."""
    name = pipeline.destination.destination_name if pipeline.destination else ""
    if name not in DIALECTS:
        raise ValueError(f"no analytics dialect for destination {name!r}; supported: {', '.join(DIALECTS)}")
    return name


def _canonical_tables_exist(pipeline: dlt.Pipeline) -> bool:
    """From the pipeline's schema; else (a pipeline that never loaded, e.g. an orchestrator's) the warehouse."""
    required = [t for t in TABLES if t not in OPTIONAL_TABLES]
    if pipeline.default_schema_name is not None and all(t in pipeline.default_schema.tables for t in required):
        return True
    return has_tables(pipeline, required)


def live_tables(client: Any) -> frozenset[str]:
    """The tables the views read without deleted rows (and test conversations): see ``live_rule``.

    A warehouse made before ``deleted_at`` (or ``test_conversation``) existed has none to leave out
    until a load adds the column.
    """
    deletions = columns_exist(client, dict.fromkeys(DELETABLE, "deleted_at"))
    return live_rule(deletions, deletions and columns_exist(client, {"conversations": TESTS}))


def live_rule(deletions_flagged: bool, tests_flagged: bool = False) -> frozenset[str]:
    """What every reader leaves out, one rule for all: what the provider deleted, unless ``[chatsync]
    views_include_deleted``, and conversations the provider marks as tests (Intercom's Fin previews),
    unless ``[chatsync] include_test_conversations``. ``*_flagged``: whether the columns exist."""
    if dlt.config.get("chatsync.views_include_deleted", bool) or not deletions_flagged:
        return frozenset()
    tests = tests_flagged and not dlt.config.get("chatsync.include_test_conversations", bool)
    return frozenset(LIVE_TABLES) | ({TESTS} if tests else set())


FINGERPRINT_VIEW: Final = "_chatsync_views"  # one row: the fingerprint of the views as last created


def views_fingerprint(dialect: str, dataset: str, missing: frozenset[str], live: frozenset[str]) -> str:
    """What the views are made of: their SQL, the destination, the dataset and what they read."""
    parts = [dialect, dataset, ",".join(sorted(missing)), ",".join(sorted(live)), *(view_sql(v) for v in VIEWS)]
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32]


def _qualified(name: str, dataset: str, dialect: str) -> str:
    return exp.table_(name, db=dataset, quoted=True).sql(dialect=dialect)


def views_current(client: Any, dialect: str, dataset: str, fingerprint: str) -> bool:
    """Whether every view exists as the fingerprint says: then re-creating them would change nothing."""
    try:
        rows = client.execute_sql(f"SELECT fingerprint FROM {_qualified(FINGERPRINT_VIEW, dataset, dialect)}")
        probes = (f"SELECT 1 AS present FROM {_qualified(v, dataset, dialect)} WHERE 1 = 0" for v in VIEWS)
        client.execute_sql(" UNION ALL ".join(probes))
    except Exception:  # a view missing (first run, dropped by hand): make them
        return False
    return bool(rows) and str(rows[0][0]) == fingerprint


def refresh_views(pipeline: dlt.Pipeline) -> list[str]:
    """Creates or refreshes every view in the pipeline's dataset; no-op before the first load.

    The views are re-created only when what they are made of changed (``views_fingerprint``): a
    run that loads leaves them as they are, since views read the tables live.

    Args:
        pipeline: A pipeline that has loaded the canonical tables.

    Returns:
        The views (empty when ``messages`` does not exist yet).
    """
    if not _canonical_tables_exist(pipeline):
        return []
    dialect, dataset = destination_dialect(pipeline), pipeline.dataset_name
    with pipeline.sql_client() as client:
        missing = frozenset(t for t in OPTIONAL_TABLES if not tables_exist(client, [t]))
        live = live_tables(client)
        fingerprint = views_fingerprint(dialect, dataset, missing, live)
        if views_current(client, dialect, dataset, fingerprint):
            return list(VIEWS)
        statements = view_statements(dialect, dataset, missing, live)
        statements += _fingerprint_statements(dialect, dataset, fingerprint)
        if dialect == "postgres":  # drop + create: atomic for readers only inside a transaction
            with client.begin_transaction():
                for statement in statements:
                    client.execute_sql(statement)
        else:  # CREATE OR REPLACE is atomic per view; BigQuery allows no DDL in transactions
            for statement in statements:
                client.execute_sql(statement)
    return list(VIEWS)


def _fingerprint_statements(dialect: str, dataset: str, fingerprint: str) -> list[str]:
    # last, so views left half-made by a failure are made again next time
    name = _qualified(FINGERPRINT_VIEW, dataset, dialect)
    select = f"SELECT '{fingerprint}' AS fingerprint"
    if dialect == "postgres":
        return [f"DROP VIEW IF EXISTS {name}", f"CREATE VIEW {name} AS {select}"]
    return [f"CREATE OR REPLACE VIEW {name} AS {select}"]
