"""``chatsync status``: what each provider's last run did and what the warehouse holds. No network.

The last run of each provider is kept in ``last_runs.json`` beside the pipelines dir (written at
the end of every run); the rest is read from the warehouse.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import dlt

from sources.common.canonical import CONVERSATIONS, MESSAGES, SYNC_ERRORS
from sources.common.ledger import query_table

from .registry import PROVIDERS
from .runner import PIPELINE_NAME, RunReport, Target, reading_pipeline
from .workspace import lock_dir, stamp, utc_stamp

RUNS_FILE = "last_runs.json"


def runs_file(target: Target) -> Path:
    """Where the last run of each provider into ``target`` is recorded (one file per pipeline state)."""
    target = target.resolved()
    name = RUNS_FILE if target.state_name == PIPELINE_NAME else f"last_runs__{target.state_name}.json"
    return lock_dir(target.pipelines_dir).parent / name


def record_runs(report: RunReport, target: Target) -> None:
    """Merges this run's outcomes into the target's ``last_runs`` file (one entry per provider)."""
    path = runs_file(target)
    runs = read_runs(target)
    finished = stamp()
    for provider, outcome in report.to_json().items():
        runs[provider] = {"finished_at": finished, **outcome}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(runs, indent=1, default=str), encoding="utf-8")


def read_runs(target: Target) -> dict[str, Any]:
    """The recorded last runs into ``target``, or nothing."""
    try:
        runs: dict[str, Any] = json.loads(runs_file(target).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return runs


def _grouped(client: Any, table: str, select: str, where: str = "") -> dict[str, tuple[Any, ...]]:
    rows = query_table(client, table, f"SELECT provider, {select} FROM {{table}} {where} GROUP BY provider") or []
    return {str(row[0]): tuple(row[1:]) for row in rows}


def warehouse_status(pipeline: dlt.Pipeline) -> dict[str, dict[str, Any]]:
    """Per provider: messages, conversations, oldest and newest message, open sync errors."""
    with pipeline.sql_client() as client:
        if not client.has_dataset():
            return {}
        messages = _grouped(client, MESSAGES, "COUNT(*), MIN(created_at), MAX(created_at)")
        conversations = _grouped(client, CONVERSATIONS, "COUNT(*)")
        errors = _grouped(client, SYNC_ERRORS, "COUNT(*)", "WHERE resolved_at IS NULL")
    return {
        provider: {
            "messages": int(messages.get(provider, (0,))[0]),
            "conversations": int(conversations.get(provider, (0,))[0]),
            "oldest_message": _iso(messages.get(provider, (0, None, None))[1]),
            "newest_message": _iso(messages.get(provider, (0, None, None))[2]),
            "open_sync_errors": int(errors.get(provider, (0,))[0]),
        }
        for provider in PROVIDERS
    }


def _iso(value: Any) -> str | None:
    if value is None:
        return None
    return utc_stamp(value) if isinstance(value, datetime) else str(value)


def collect(target: Target) -> dict[str, dict[str, Any]]:
    """The status of every provider: its last run into ``target`` and what that warehouse holds.

    Reads only: DuckDB is opened read-only, and nothing is created where nothing exists.
    """
    runs = read_runs(target)
    with reading_pipeline(target) as pipeline:
        held = warehouse_status(pipeline) if pipeline is not None else {}
    return {provider: {"last_run": runs.get(provider), **held.get(provider, {})} for provider in PROVIDERS}
