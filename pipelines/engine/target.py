"""Where a run loads: the destination, dataset and pipeline."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, replace
from pathlib import Path

import dlt

from sources.common.errors import ConfigurationError

from .destinations import DEFAULT_DUCKDB_FILE
from .workspace import StatePaths, absolute_duckdb_path, default_pipelines_dir

PIPELINE_NAME = "chat_history"

MAX_PIPELINE_NAME = 64

DATASET_NAME = "chat_history"


def scoped_pipeline_name(base: str, destination: str, dataset: str) -> str:
    """The dlt pipeline (state, cursors, lock) of ``base`` loading one destination and dataset.

    dlt keeps one state per pipeline name: two warehouses loaded through one name would share
    cursors, and the second would silently miss what the first already loaded. Each (destination,
    dataset) pair therefore gets its own name; DuckDB's default dataset keeps the bare name, which
    is what installations made before this rule use.

    Args:
        base: ``chat_history``, or a shard's ``chat_history__<provider>__<shard>``.
        destination: ``duckdb``, ``postgres`` or ``bigquery``.
        dataset: The dataset (schema) loaded.

    Returns:
        ``base``, or ``<base>__<destination>__<dataset>`` (cut, with a hash, to 64 characters).
    """
    if destination == "duckdb" and dataset == DATASET_NAME:
        return base
    name = f"{base}__{destination}__{re.sub(r'[^a-z0-9_]', '_', dataset.lower())}"
    if len(name) <= MAX_PIPELINE_NAME:
        return name
    digest = hashlib.sha1(name.encode()).hexdigest()[:8]  # dlt's schema names stop at 64 characters
    return f"{name[: MAX_PIPELINE_NAME - 9]}_{digest}"


@dataclass(frozen=True)
class Target:
    """Where a run loads to. ``pipeline_name`` is the base name; ``state_name`` the dlt pipeline."""

    destination: str = "duckdb"
    dataset: str = DATASET_NAME
    pipeline_name: str = PIPELINE_NAME
    pipelines_dir: str | None = None
    duckdb_path: str | None = None
    staging_layout: str | None = None  # the merge staging dataset; default dlt's "<dataset>_staging"

    @property
    def state_name(self) -> str:
        """The dlt pipeline that holds this target's state: see ``scoped_pipeline_name``."""
        return scoped_pipeline_name(self.pipeline_name, self.destination, self.dataset)

    @property
    def duckdb_file(self) -> str | None:
        """The DuckDB file this target loads, as given (resolve first).

        None for another warehouse, ``:memory:`` or a URI.
        """
        path = self.duckdb_path
        if self.destination != "duckdb" or not path or path.startswith(":") or "://" in path:
            return None
        return path

    @property
    def paths(self) -> StatePaths:
        """Where this target's state lives: its run locks, hashing key and erasures."""
        return StatePaths.of(self.resolved().pipelines_dir)

    def resolved(self) -> Target:
        """This target with project-local defaults made explicit and paths made absolute."""
        duckdb_path = self.duckdb_path
        if self.destination == "duckdb":
            duckdb_path = absolute_duckdb_path(duckdb_path or configured_duckdb_path())
        return replace(self, pipelines_dir=default_pipelines_dir(self.pipelines_dir), duckdb_path=duckdb_path)


def require_loaded_duckdb(target: Target) -> None:
    """For a command that only reads: the target's DuckDB file must exist (nothing is created).

    Raises:
        ConfigurationError: No file there: ``no warehouse at …`` (the same line for every such command).
    """
    resolved = target.resolved()
    path = resolved.duckdb_file
    if path is not None and not Path(path).is_file():
        raise ConfigurationError(f"no warehouse at {path}: run `chatsync run` first (or name it)")


def insights_target(target: Target) -> Target:
    """The pipeline insights write through: its own state, so a write never decodes the loads' state
    (the cursors of every conversation: ~6 s at 100k conversations)."""
    return replace(target, pipeline_name=f"{PIPELINE_NAME}__insights")


def configured_duckdb_path() -> str:
    """The DuckDB file from dlt config, else ``chatsync.duckdb`` in the working directory."""
    configured = dlt.secrets.get("destination.duckdb.credentials", str)
    return configured or DEFAULT_DUCKDB_FILE


def describe_warehouse(target: Target) -> str:
    """``duckdb /path/file.duckdb, dataset X`` or ``postgres, dataset X`` (no credentials)."""
    resolved = target.resolved()
    where = f"duckdb {resolved.duckdb_path}" if resolved.destination == "duckdb" else resolved.destination
    return f"{where}, dataset {resolved.dataset}"
