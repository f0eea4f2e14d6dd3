"""``chatsync status``: what each provider's last run did and what the warehouse holds. No network.

The last run of each provider into a warehouse is kept beside a DuckDB file
(``chatsync.duckdb.runs.json``), or in the state folder for other warehouses, per dataset, written
at the end of every run; the rest is read from the warehouse, read-only.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sources.common.files import write_atomically
from sources.common.timeutil import stamp

from ..warehouse.status import warehouse_status
from .factory import reading_pipeline
from .outcome import RunReport
from .registry import PROVIDERS
from .target import Target, require_loaded_duckdb
from .workspace import describe_os_error

RUNS_SUFFIX = ".runs.json"


def runs_file(target: Target) -> Path:
    """Where the last run of each provider into ``target``'s warehouse is recorded.

    A DuckDB warehouse keeps it beside its file (``chatsync.duckdb.runs.json``), so that whoever
    names the file (``--warehouse``) finds its runs, whatever pipelines dir loaded it; any other
    warehouse, in the state folder, per pipeline (which names the destination and dataset).
    """
    target = target.resolved()
    if target.duckdb_file is not None:
        return Path(target.duckdb_file + RUNS_SUFFIX)
    return target.paths.locks.parent / f"last_runs__{target.state_name}.json"


def record_runs(report: RunReport, target: Target) -> str | None:
    """Merges this run's outcomes into the warehouse's record of last runs (one entry per provider and dataset).

    Written whole or not at all, so a full disk never truncates the earlier runs' record.

    Returns:
        Why the record could not be written (to be warned about), or None.
    """
    path = runs_file(target)
    recorded = _read_record(path)
    runs = recorded.setdefault(target.dataset, {})
    finished = stamp()
    for provider, outcome in report.to_json().items():
        runs[provider] = {"finished_at": finished, **outcome}
    try:
        write_atomically(path, json.dumps(recorded, indent=1, default=str), overwrite=True)
    except OSError as exc:
        return f"cannot record this run in {path}: {describe_os_error(exc, path)}"
    return None


def read_runs(target: Target) -> dict[str, Any]:
    """The recorded last runs into ``target``'s warehouse and dataset, or nothing."""
    runs: dict[str, Any] = _read_record(runs_file(target)).get(target.dataset, {})
    return runs


def _read_record(path: Path) -> dict[str, Any]:
    try:
        recorded = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return recorded if isinstance(recorded, dict) else {}


def collect_status(target: Target) -> dict[str, dict[str, Any]]:
    """The status of every provider: its last run into ``target`` and what that warehouse holds.

    Reads only: DuckDB is opened read-only, and nothing is created where nothing exists.
    """
    require_loaded_duckdb(target)
    runs = read_runs(target)
    with reading_pipeline(target) as pipeline:
        held = warehouse_status(pipeline, PROVIDERS) if pipeline is not None else {}
    return {provider: {"last_run": runs.get(provider), **held.get(provider, {})} for provider in PROVIDERS}
