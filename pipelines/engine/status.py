"""``chatsync status``: what each provider's last run did and what the warehouse holds. No network.

The last run of each provider into a target is kept in ``last_runs.json`` (``last_runs__<pipeline>.json``
for other targets) beside the pipelines dir, written at the end of every run; the rest is read from
the warehouse, read-only.
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
from .target import PIPELINE_NAME, Target
from .workspace import describe_os_error, lock_dir

RUNS_FILE = "last_runs.json"


def runs_file(target: Target) -> Path:
    """Where the last run of each provider into ``target`` is recorded (one file per pipeline state)."""
    target = target.resolved()
    name = RUNS_FILE if target.state_name == PIPELINE_NAME else f"last_runs__{target.state_name}.json"
    return lock_dir(target.pipelines_dir).parent / name


def record_runs(report: RunReport, target: Target) -> str | None:
    """Merges this run's outcomes into the target's ``last_runs`` file (one entry per provider).

    Written whole or not at all, so a full disk never truncates the earlier runs' record.

    Returns:
        Why the record could not be written (to be warned about), or None.
    """
    path = runs_file(target)
    runs = read_runs(target)
    finished = stamp()
    for provider, outcome in report.to_json().items():
        runs[provider] = {"finished_at": finished, **outcome}
    try:
        write_atomically(path, json.dumps(runs, indent=1, default=str), overwrite=True)
    except OSError as exc:
        return f"cannot record this run in {path}: {describe_os_error(exc, path)}"
    return None


def read_runs(target: Target) -> dict[str, Any]:
    """The recorded last runs into ``target``, or nothing."""
    try:
        runs: dict[str, Any] = json.loads(runs_file(target).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return runs


def collect_status(target: Target) -> dict[str, dict[str, Any]]:
    """The status of every provider: its last run into ``target`` and what that warehouse holds.

    Reads only: DuckDB is opened read-only, and nothing is created where nothing exists.
    """
    runs = read_runs(target)
    with reading_pipeline(target) as pipeline:
        held = warehouse_status(pipeline, PROVIDERS) if pipeline is not None else {}
    return {provider: {"last_run": runs.get(provider), **held.get(provider, {})} for provider in PROVIDERS}
