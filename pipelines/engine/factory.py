"""The dlt pipeline of a target: to load (under its locks) or only to read."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import dlt
from dlt.destinations.impl.duckdb.configuration import DuckDbCredentials

from .destinations import make_destination, require_credentials, require_extra
from .locking import advisory_lock, file_lock
from .target import PIPELINE_NAME, Target
from .workspace import configure_dlt_defaults, make_private


def build_pipeline(target: Target) -> dlt.Pipeline:
    """The one pipeline every provider loads through.

    Args:
        target: Destination, dataset and pipeline location.

    Returns:
        The dlt pipeline.
    """
    target = target.resolved()
    require_extra(target.destination)
    if target.pipelines_dir:
        make_private(Path(target.pipelines_dir)).chmod(0o700)
    if target.duckdb_path and Path(target.duckdb_path).is_file():
        Path(target.duckdb_path).chmod(0o600)  # a file made before chatsync kept files private
    configure_dlt_defaults()
    return dlt.pipeline(
        pipeline_name=target.state_name,
        destination=make_destination(target.destination, target.duckdb_path, target.staging_layout),
        dataset_name=target.dataset,
        pipelines_dir=target.pipelines_dir,  # type: ignore[arg-type]  # None means dlt's default
    )


@contextmanager
def reading_pipeline(target: Target) -> Iterator[dlt.Pipeline | None]:
    """A pipeline that only reads the warehouse, and creates nothing in the project.

    DuckDB is opened read-only (a reader that holds the file writable would block the next run),
    and not at all when the file does not exist (None). dlt's working folder is a temporary one.

    Args:
        target: The warehouse to read.

    Yields:
        The pipeline, or None when there is no DuckDB file yet.
    """
    target = target.resolved()
    require_extra(target.destination)
    if target.destination == "duckdb" and not Path(str(target.duckdb_path)).is_file():
        yield None
        return
    destination: Any = make_destination(target.destination, target.duckdb_path)
    if target.destination == "duckdb":
        credentials = DuckDbCredentials(str(target.duckdb_path))
        credentials.read_only = True
        destination = dlt.destinations.duckdb(credentials)
    with tempfile.TemporaryDirectory(prefix="chatsync-read-") as scratch:
        yield dlt.pipeline(
            pipeline_name=target.state_name, destination=destination, dataset_name=target.dataset, pipelines_dir=scratch
        )


@contextmanager
def locked_pipeline(target: Target) -> Iterator[dlt.Pipeline]:
    """The pipeline, held exclusively (file lock; on Postgres also an advisory lock).

    Args:
        target: Where to load.

    Yields:
        The pipeline, for as long as the lock is held.

    Raises:
        RunLocked: Another run holds the lock.
    """
    target = target.resolved()
    require_extra(target.destination)
    require_credentials(target.destination)  # at run time: definitions (Dagster's) are built without them
    lock_path = target.paths.locks / f"{target.state_name}.lock"
    with file_lock(lock_path, f"the lock of pipeline {target.state_name!r} ({lock_path})"), duckdb_lock(target):
        pipeline = build_pipeline(target)
        warehouse_key = f"chatsync:{PIPELINE_NAME}:{target.dataset}"
        with advisory_lock(pipeline, warehouse_key, shared=target.pipeline_name != PIPELINE_NAME):
            yield pipeline


_HELD_FOR_PROCESS: dict[str, ExitStack] = {}


def hold_warehouse_lock(target: Target) -> None:
    """Takes the DuckDB file's warehouse lock until this process ends; again a no-op.

    For a writer chatsync does not run itself (an Airflow task runs dlt's ``pipeline.run``): the
    lock dies with the task's process, and a CLI run meanwhile is skipped with 75.

    Raises:
        RunLocked: Another process writes the file.
    """
    target = target.resolved()
    key = str(target.duckdb_path)
    if key not in _HELD_FOR_PROCESS:
        stack = ExitStack()
        stack.enter_context(duckdb_lock(target))
        _HELD_FOR_PROCESS[key] = stack


@contextmanager
def duckdb_lock(target: Target) -> Iterator[None]:
    """One writer per DuckDB file, whichever pipeline or orchestrator it runs for.

    Every pipeline has its own lock, but DuckDB lets one process write a file: a CLI run during a
    Dagster shard's must be told it was skipped (75), not fail on DuckDB's own file lock.
    """
    path = target.duckdb_file
    if path is None:
        yield
        return
    lock_path = Path(path + ".lock")
    with file_lock(lock_path, f"the warehouse lock of duckdb {path} ({lock_path})"):
        yield
