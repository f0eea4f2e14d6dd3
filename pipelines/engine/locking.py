"""One run per pipeline at a time: an OS file lock, plus a Postgres advisory lock for shared warehouses.

The file lock is ``fcntl``-based (the ``filelock`` package), so it dies with its holder: a killed
run never blocks the next one. Who holds it (pid, host, since when) is written beside it, because
the lock file itself is truncated by every process that tries it. On Postgres a session advisory
lock is taken too, so that two machines loading one warehouse cannot overlap either; it also dies
with its connection.
"""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Final

import dlt
from filelock import FileLock, Timeout

from sources.common.errors import ChatsyncError, StorageError
from sources.common.timeutil import stamp, utc_stamp

from .workspace import describe_os_error, make_private

# Two-int advisory lock key: a fixed class for chatsync, the object is hashtext(pipeline/dataset).
ADVISORY_CLASS: Final = 0x63687473  # "chts"


class RunLocked(ChatsyncError):
    """Another run holds the lock of this pipeline; this run did nothing."""


def _holder_file(lock_path: Path) -> Path:
    return lock_path.with_name(lock_path.name + ".holder")


def describe_holder(lock_path: Path) -> str:
    """``pid 123 on host since 2026-11-23T03:00:00Z``, or why it cannot be told."""
    try:
        holder = json.loads(_holder_file(lock_path).read_text(encoding="utf-8"))
        return f"pid {holder['pid']} on {holder['host']} since {holder['since']}"
    except (OSError, ValueError, KeyError, TypeError):
        return "a process that has not written its name yet"


@contextmanager
def file_lock(lock_path: Path, what: str) -> Iterator[None]:
    """Holds an exclusive lock on ``lock_path`` or raises ``RunLocked`` at once.

    Args:
        lock_path: The lock file (created; its folder too).
        what: What is locked, for the message, e.g. ``pipeline chat_history``.

    Raises:
        RunLocked: Another process holds it.
        StorageError: The lock or its holder's name cannot be written (e.g. a full disk).
    """
    try:
        make_private(lock_path.parent)
    except OSError as exc:
        raise StorageError(f"cannot create {lock_path.parent}: {describe_os_error(exc, lock_path)}") from None
    lock = FileLock(str(lock_path), timeout=0, mode=0o600)
    try:
        lock.acquire()
    except Timeout:
        raise RunLocked(f"another chatsync run holds {what}: {describe_holder(lock_path)}; skipped") from None
    try:
        _write_holder(lock_path)
        yield
    finally:
        _holder_file(lock_path).unlink(missing_ok=True)
        lock.release()


def _write_holder(lock_path: Path) -> None:
    holder_file = _holder_file(lock_path)
    holder = {"pid": os.getpid(), "host": socket.gethostname(), "since": stamp()}
    try:
        holder_file.write_text(json.dumps(holder), encoding="utf-8")
        os.chmod(holder_file, 0o600)
    except OSError as exc:
        raise StorageError(f"cannot write {holder_file}: {describe_os_error(exc, holder_file)}") from None


@contextmanager
def advisory_lock(pipeline: dlt.Pipeline, warehouse_key: str, shared: bool) -> Iterator[None]:
    """On Postgres, holds the warehouse's advisory lock and the pipeline's own; elsewhere does nothing.

    The warehouse lock (``warehouse_key``, per dataset) is taken exclusively by a whole run and
    shared by shards, so a CLI run and an orchestrator's shards refuse each other while shards
    run side by side; each shard's own pipeline lock keeps two copies of one shard apart.

    Args:
        pipeline: The pipeline about to write.
        warehouse_key: The dataset's lock name.
        shared: Take the warehouse lock shared (a shard) rather than exclusively.

    Raises:
        RunLocked: A session on another machine (or process) holds it.
    """
    if pipeline.destination is None or pipeline.destination.destination_name != "postgres":
        yield
        return
    keys = [(warehouse_key, shared)]
    own = f"chatsync:{pipeline.pipeline_name}:{pipeline.dataset_name}"
    if own != warehouse_key:
        keys.append((own, False))
    with pipeline.sql_client() as client:
        taken: list[tuple[str, bool]] = []
        try:
            for key, share in keys:
                mode = "_shared" if share else ""
                rows = client.execute_sql(f"SELECT pg_try_advisory_lock{mode}(%s, hashtext(%s))", ADVISORY_CLASS, key)
                if not rows or not rows[0][0]:
                    raise RunLocked(
                        f"another chatsync run holds the warehouse lock of dataset {pipeline.dataset_name!r}: "
                        f"{_advisory_holder(client, key)}; skipped"
                    )
                taken.append((key, share))
            yield
        finally:
            for key, share in reversed(taken):
                mode = "_shared" if share else ""
                client.execute_sql(f"SELECT pg_advisory_unlock{mode}(%s, hashtext(%s))", ADVISORY_CLASS, key)


def _advisory_holder(client: Any, key: str) -> str:
    rows = client.execute_sql(
        "SELECT a.pid, COALESCE(a.client_hostname, host(a.client_addr), 'local socket'), a.backend_start "
        "FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
        "WHERE l.locktype = 'advisory' AND l.granted AND l.classid = %s AND l.objid = hashtext(%s)::oid",
        ADVISORY_CLASS,
        key,
    )
    if not rows:
        return "a session that just ended"
    pid, host, since = rows[0]
    return f"postgres backend pid {pid} from {host} since {utc_stamp(since)}"


@contextmanager
def schema_migration_lock(pipeline: dlt.Pipeline) -> Iterator[None]:
    """On Postgres, waits for and holds the dataset's schema lock; elsewhere does nothing.

    Shards load one dataset in parallel. Creating or altering its tables at the same moment
    fails in Postgres' catalog (``pg_type_typname_nsp_index``), so schema changes take turns.

    Args:
        pipeline: The pipeline about to change the dataset's tables.
    """
    if pipeline.destination is None or pipeline.destination.destination_name != "postgres":
        yield
        return
    key = f"chatsync:schema:{pipeline.dataset_name}"
    with pipeline.sql_client() as client:
        client.execute_sql("SELECT pg_advisory_lock(%s, hashtext(%s))", ADVISORY_CLASS, key)
        try:
            yield
        finally:
            client.execute_sql("SELECT pg_advisory_unlock(%s, hashtext(%s))", ADVISORY_CLASS, key)
