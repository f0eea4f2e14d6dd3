"""Writers wait, bounded, for DuckDB readers to let the file go.

DuckDB lets a process open a file for writing only while no other process holds it, even
read-only: a reader that polls (``chatsync explore``, a BI tool, a notebook) made a load fail at
once with "Could not set lock on file". The wait belongs where dlt opens DuckDB, its connection pool
(``DuckDbConnectionPool.borrow_conn``), for which dlt has no public hook. This module is the one
place chatsync reaches into it; ``tests/pipelines/engine/test_duckdb_readers.py`` fails loudly when
a dlt upgrade changes what it relies on (the pool's class, its ``borrow_conn``, and credentials
making it in ``on_resolved``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, Final, TypeVar

import dlt
from dlt.destinations.impl.duckdb.configuration import DuckDbConnectionPool, DuckDbCredentials

DEFAULT_WAIT_SECONDS: Final = 30.0
FIRST_PAUSE: Final = 0.02
LONGEST_PAUSE: Final = 0.5

T = TypeVar("T")


class ReadersHoldWarehouse(RuntimeError):
    """The DuckDB file stayed held by another process for the whole wait."""


def reader_wait_seconds() -> float:
    """``[chatsync] reader_wait_seconds``: how long a writer waits for readers (default 30)."""
    configured: Any = dlt.config.get("chatsync.reader_wait_seconds")
    return DEFAULT_WAIT_SECONDS if configured is None else max(0.0, float(configured))


def is_lock_conflict(exc: BaseException) -> bool:
    """Whether DuckDB refused a file because another process holds it."""
    return "could not set lock on file" in str(exc).lower() or "conflicting lock" in str(exc).lower()


def wait_for_readers(open_file: Callable[[], T], path: str, seconds: float | None = None) -> T:
    """``open_file()``, retried with growing pauses while another process holds the file.

    Args:
        open_file: Opens the file (a DuckDB connection).
        path: The file, for the message.
        seconds: The longest wait; ``[chatsync] reader_wait_seconds`` when None.

    Returns:
        What ``open_file`` returned.

    Raises:
        ReadersHoldWarehouse: Still held when the wait ran out: one line naming the file and the wait.
    """
    limit = reader_wait_seconds() if seconds is None else seconds
    deadline, pause = time.monotonic() + limit, FIRST_PAUSE
    while True:
        try:
            return open_file()
        except Exception as exc:
            if not is_lock_conflict(exc):
                raise
            if time.monotonic() + pause > deadline:
                raise ReadersHoldWarehouse(
                    f"warehouse {path} is held by another process (a reader such as chatsync explore, or another "
                    f"writer) and was not let go within {limit:g} s; nothing was written (chatsync.reader_wait_seconds)"
                ) from None
            time.sleep(pause)
            pause = min(pause * 2, LONGEST_PAUSE)


class PatientConnectionPool(DuckDbConnectionPool):
    """dlt's DuckDB connection pool, waiting for readers before it opens the file."""

    def borrow_conn(self, *args: Any, **kwargs: Any) -> Any:
        """dlt's ``borrow_conn``, waited for (see ``wait_for_readers``)."""
        path = str(self.credentials._conn_str())
        return wait_for_readers(lambda: super(PatientConnectionPool, self).borrow_conn(*args, **kwargs), path)


class PatientDuckDbCredentials(DuckDbCredentials):
    """DuckDB credentials whose connections wait for readers to let go of the file."""

    def on_resolved(self) -> None:
        """dlt's, with the patient pool in place of dlt's own."""
        super().on_resolved()
        self.conn_pool = PatientConnectionPool(self)
