"""Writers wait, bounded, for DuckDB readers to let the file go.

DuckDB lets a process open a file for writing only while no other process holds it, even
read-only: a reader that polls (``chatsync explore``, a BI tool, a notebook) made a load fail at
once with "Could not set lock on file". The wait belongs where dlt opens DuckDB, its connection pool
(``DuckDbConnectionPool.borrow_conn``), for which dlt has no public hook: dlt rebuilds DuckDB
credentials from its own configuration spec, so a subclass is not kept, and the pool's method is
wrapped instead. This module is the one place chatsync reaches into it;
``tests/pipelines/engine/test_readers.py`` fails loudly when a dlt upgrade changes what it relies
on (the pool's class and its ``borrow_conn``, which opens the file).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, Final, TypeVar

import dlt
from dlt.destinations.impl.duckdb.configuration import DuckDbConnectionPool

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
        if time.monotonic() + pause > deadline:  # raised outside the handler: DuckDB's error is not its cause
            raise ReadersHoldWarehouse(
                f"warehouse {path} is held by another process (a reader such as chatsync explore, or another "
                f"writer) and was not let go within {limit:g} s; nothing was written (chatsync.reader_wait_seconds)"
            )
        time.sleep(pause)
        pause = min(pause * 2, LONGEST_PAUSE)


_PATIENT: Final = "_chatsync_waits_for_readers"


def wait_in_dlt_pool() -> None:
    """Makes dlt's DuckDB connection pool wait for readers (once per process; idempotent).

    dlt builds its DuckDB credentials, and their pool, from its own configuration spec, so a
    subclass handed to it is not the one used: the pool's ``borrow_conn`` itself is wrapped.
    """
    original = DuckDbConnectionPool.borrow_conn
    if getattr(original, _PATIENT, False):
        return

    def borrow_conn(self: DuckDbConnectionPool, *args: Any, **kwargs: Any) -> Any:
        path = str(self.credentials._conn_str())
        return wait_for_readers(lambda: original(self, *args, **kwargs), path)

    setattr(borrow_conn, _PATIENT, True)
    DuckDbConnectionPool.borrow_conn = borrow_conn  # type: ignore[method-assign]
