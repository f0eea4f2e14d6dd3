"""Queries on the loaded warehouse that work on every destination."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any, Final

import dlt
from dlt.destinations.exceptions import DatabaseUndefinedRelation

from sources.common.tables import CONVERSATIONS, KNOWLEDGE_CITATIONS, MESSAGES

IDS_PER_STATEMENT: Final = 500  # far below every destination's parameter limit


def query_table(client: Any, table: str, sql: str, *args: Any) -> list[tuple[Any, ...]] | None:
    """Runs ``sql`` with ``{table}`` replaced by the qualified name of ``table``; None when it does not exist.

    Args:
        client: An open dlt SQL client.
        table: A table of the dataset.
        sql: The statement, with ``{table}``.
        *args: Its parameters.

    Returns:
        The rows (empty for statements that return none), or None when the table does not exist yet.
    """
    try:
        rows = client.execute_sql(sql.format(table=client.make_qualified_table_name(table)), *args)
    except DatabaseUndefinedRelation:
        return None
    return [tuple(row) for row in rows or []]


def id_chunks(ids: Iterable[str]) -> Iterator[list[str]]:
    """Ids in sorted chunks small enough for one ``IN (…)`` each."""
    ordered = sorted(ids)
    for start in range(0, len(ordered), IDS_PER_STATEMENT):
        yield ordered[start : start + IDS_PER_STATEMENT]


def in_list(count: int) -> str:
    """``(%s, %s, …)``: the placeholders of an ``IN`` list of ``count`` parameters."""
    return "(" + ", ".join(["%s"] * count) + ")"


def row_counts(pipeline: dlt.Pipeline) -> dict[tuple[str, str], int]:
    """Rows per ``(provider, table)`` in the canonical tables.

    Args:
        pipeline: A pipeline that has loaded at least once.

    Returns:
        Counts keyed by provider and table name; empty when nothing is loaded.
    """
    counts: dict[tuple[str, str], int] = {}
    with pipeline.sql_client() as client:
        for table in (CONVERSATIONS, MESSAGES, KNOWLEDGE_CITATIONS):
            if not client.has_dataset():
                return counts
            qualified = client.make_qualified_table_name(table)
            try:
                rows = client.execute_sql(f"SELECT provider, COUNT(*) FROM {qualified} GROUP BY provider")
            except Exception:
                continue
            for provider, count in rows or []:
                counts[(str(provider), table)] = int(count)
    return counts


def tables_exist(client: Any, tables: Iterable[str]) -> bool:
    """Whether each table can be selected from, on an open SQL client."""
    return columns_exist(client, dict.fromkeys(tables, "1"))


def columns_exist(client: Any, columns: dict[str, str]) -> bool:
    """Whether each table has its column (``{table: column}``), on an open SQL client."""
    if not client.has_dataset():
        return False
    for table, column in columns.items():
        try:
            client.execute_sql(f"SELECT {column} FROM {client.make_qualified_table_name(table)} WHERE 1 = 0")
        except Exception:
            return False
    return True


def has_tables(pipeline: dlt.Pipeline, tables: Iterable[str]) -> bool:
    """Whether every table exists in the pipeline's dataset, asked of the warehouse itself.

    Args:
        pipeline: Any pipeline of the dataset; it need not have loaded anything.
        tables: Table names.

    Returns:
        True when each can be selected from.
    """
    with pipeline.sql_client() as client:
        return tables_exist(client, tables)
