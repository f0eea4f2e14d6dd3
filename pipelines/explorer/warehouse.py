"""Short-lived, read-only connections to the warehouse: one per request, on DuckDB or Postgres."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Final

from ..warehouse.read_model import ReadModel

SAFE_NAME: Final = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")


class Busy(Exception):
    """A load holds the warehouse (DuckDB allows no reader beside its one writer)."""


@dataclass(frozen=True)
class Warehouse:
    """Where the explorer reads: a DuckDB file or a Postgres database, and the dataset (schema)."""

    dialect: str
    dataset: str
    duckdb_path: str | None = None
    postgres_dsn: str | None = None

    def __post_init__(self) -> None:
        if not SAFE_NAME.match(self.dataset):
            raise ValueError(f"dataset {self.dataset!r} is not a plain name")

    @property
    def placeholder(self) -> str:
        """The driver's parameter marker: DuckDB's ``?``, psycopg2's ``%s``."""
        return "?" if self.dialect == "duckdb" else "%s"

    def table(self, name: str) -> str:
        """``"dataset"."name"``: both are plain names, checked."""
        assert SAFE_NAME.match(name)
        return f'"{self.dataset}"."{name}"'

    @contextmanager
    def connect(self) -> Iterator[Any]:
        """A read-only connection for one request, closed after it.

        Raises:
            Busy: DuckDB's file is held by a writer.
        """
        if self.dialect == "duckdb":
            import duckdb

            try:
                connection = duckdb.connect(str(self.duckdb_path), read_only=True)
            except duckdb.IOException as exc:
                if "lock" in str(exc).lower():
                    raise Busy(str(exc).splitlines()[0]) from None
                raise
        else:
            import psycopg2

            connection = psycopg2.connect(self.postgres_dsn)
            connection.set_session(readonly=True, autocommit=True)
        try:
            yield connection
        finally:
            connection.close()

    @contextmanager
    def read(self) -> Iterator[ReadModel]:
        """The read model on a read-only connection for one request (see ``connect``)."""
        with self.connect() as connection:
            yield ReadModel(ConnectionReader(self, connection))

    def rows(self, connection: Any, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Runs a parameterised query (the read model's SQL: ``?`` on DuckDB, ``%s`` on Postgres)."""
        if self.dialect == "duckdb":
            return [tuple(row) for row in connection.execute(sql, list(params)).fetchall()]
        with connection.cursor() as cursor:
            cursor.execute(sql, list(params))
            return [tuple(row) for row in cursor.fetchall()]

    def columns(self, connection: Any, table: str) -> frozenset[str]:
        """The columns of one table of the dataset (a warehouse of an older version may lack some).

        Read from an empty select's description: DuckDB's ``information_schema.columns`` takes ~50 ms.
        """
        sql = f"SELECT * FROM {self.table(table)} WHERE 1 = 0"
        if self.dialect == "duckdb":
            description = connection.execute(sql).description
        else:
            with connection.cursor() as cursor:
                cursor.execute(sql)
                description = cursor.description
        return frozenset(str(column[0]) for column in description or [])

    def tables(self, connection: Any) -> frozenset[str]:
        """The tables and views of the dataset."""
        sql = f"SELECT table_name FROM information_schema.tables WHERE table_schema = {self.placeholder}"
        return frozenset(str(name) for (name,) in self.rows(connection, sql, [self.dataset]))


@dataclass
class ConnectionReader:
    """The read model's ``Reader`` on one open connection of the explorer (tables and columns asked once)."""

    warehouse: Warehouse
    connection: Any
    _tables: frozenset[str] | None = None
    _columns: dict[str, frozenset[str]] = field(default_factory=dict)

    @property
    def dialect(self) -> str:
        """DuckDB or Postgres."""
        return self.warehouse.dialect

    @property
    def dataset(self) -> str:
        """The dataset (schema)."""
        return self.warehouse.dataset

    def execute(self, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        """Rows of transpiled SQL."""
        return self.warehouse.rows(self.connection, sql, params)

    def tables(self) -> frozenset[str]:
        """The dataset's tables and views."""
        if self._tables is None:
            self._tables = self.warehouse.tables(self.connection)
        return self._tables

    def columns(self, table: str) -> frozenset[str]:
        """One table's columns; none for a table that does not exist."""
        if table not in self._columns:
            present = table in self.tables()
            self._columns[table] = self.warehouse.columns(self.connection, table) if present else frozenset()
        return self._columns[table]
