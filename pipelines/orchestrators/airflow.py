"""chatsync as an Airflow DAG, through dlt's ``PipelineTasksGroup``: one task group per shard.

Put chatsync (``pip install -e .`` plus ``apache-airflow``) in Airflow's environment and this line in
a file of the DAGs folder, whose ``.dlt/`` holds chatsync's settings and secrets::

    from pipelines.airflow_dag import chatsync  # noqa: F401  (Airflow collects the DAG object)

(``pipelines.airflow_dag`` builds the DAG with ``build_dag`` from this module.)

Shards are those of the Dagster path (``pipelines.orchestrators.shards``), each its own dlt pipeline;
the shards' resources run one after another (``decompose="serialize"``), the analytics views are
re-created once every shard is done (``analytics_views``), then the conversation insights
(``conversation_insights``, as ``chatsync run`` refreshes them) and the quick ``chatsync audit`` of
every shard checks the warehouse holds what each provider reports (``audit``: it fails when a
conversation is incomplete), and one DAG run goes at a time
(``max_active_runs=1``), which stands in for chatsync's run lock: this path runs dlt's helper, not
chatsync's runner. On DuckDB every task holds the file's warehouse lock for its process's life, so a
``chatsync run`` meanwhile is skipped (75) rather than failing on DuckDB's own lock. Airflow workers
keep no local state, so dlt restores each pipeline's state from the warehouse (use Postgres or
BigQuery) and ``chatsync.pii_key`` must be configured: a key generated on one worker would hash
differently on the next. Tested by ``make test-airflow``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from functools import partial
from typing import Any

import pendulum
from airflow.providers.standard.operators.python import PythonOperator
from airflow.sdk import DAG
from dlt.helpers.airflow_helper import PipelineTasksGroup

from sources.common.errors import ConfigurationError
from sources.common.privacy import configured_key
from sources.common.source_run import SourceRun

from ..audit.audit import audit
from ..engine.exit_codes import ExitCode
from ..engine.factory import build_pipeline, hold_warehouse_lock
from ..engine.registry import PROVIDERS
from ..engine.target import PIPELINE_NAME, Target, insights_target
from ..warehouse.analytics import refresh_views
from ..warehouse.ledger import WarehouseLedger
from .insights import refresh_insights_of
from .shards import orchestration_schedule, orchestration_target, plan_shards, setting

TASK_RETRIES = 2


def _require_hashing_key() -> None:
    if configured_key() is None:
        raise ConfigurationError(
            "chatsync.pii_key is not set: under Airflow no generated key survives between tasks; "
            "set [chatsync] pii_key in .dlt/secrets.toml or CHATSYNC__PII_KEY"
        )


def build_dag() -> Any:
    """The ``chatsync`` DAG: every shard of every configured provider, each in its own task group.

    Raises:
        ConfigurationError: No hashing key is configured, or a setting is wrong.
    """
    _require_hashing_key()
    target = orchestration_target()
    start = pendulum.parse(str(setting("backfill_start", "2025-01-01")))
    with DAG(
        dag_id="chatsync",
        schedule=orchestration_schedule(),
        start_date=start,
        catchup=False,
        max_active_runs=1,
        tags=["chatsync"],
    ) as chatsync_dag:
        views = PythonOperator(
            task_id="analytics_views", python_callable=refresh_views_of, op_args=[target], trigger_rule="all_done"
        )
        completeness = PythonOperator(task_id="audit", python_callable=audit_shards, op_args=[target])
        insights = PythonOperator(task_id="conversation_insights", python_callable=insights_of, op_args=[target])
        views >> completeness
        views >> insights
        for shard in plan_shards():
            with PipelineTasksGroup(shard.pipeline_name, use_data_folder=False, wipe_local_data=True) as group:
                pipeline = build_pipeline(shard.target(target))
                source = PROVIDERS[shard.provider](**shard.source_options, run_with=SourceRun(ledger=WarehouseLedger))
                group.add_run(
                    pipeline,
                    source,
                    decompose="serialize",
                    trigger_rule="all_done",
                    retries=TASK_RETRIES,
                    on_before_run=partial(hold_warehouse_lock, shard.target(target)),  # one DuckDB writer
                )
            group >> views
    return chatsync_dag


def audit_shards(target: Target) -> dict[str, int]:
    """The quick audit of every shard; fails the task when one finds incomplete conversations.

    Returns:
        Conversations checked per shard.

    Raises:
        RuntimeError: A shard's audit found incomplete conversations, or could not be made.
    """
    audit_target = replace(target, pipeline_name=f"{PIPELINE_NAME}__audit")
    hold_warehouse_lock(audit_target)
    checked, problems = {}, []
    for shard in plan_shards():
        options = {shard.provider: shard.source_options}
        report = audit(audit_target, [shard.provider], census_options=options, open_pipeline=_held_pipeline)
        audited = report.audits[0]
        checked[shard.key] = audited.checked
        if report.exit_code() != ExitCode.OK:
            problems.append(f"{shard.key}: {audited.error or str(audited.count('incomplete')) + ' incomplete'}")
    if problems:
        raise RuntimeError("chatsync audit: " + "; ".join(problems))
    return checked


@contextmanager
def _held_pipeline(target: Target) -> Iterator[Any]:
    yield build_pipeline(target)  # the warehouse lock is this process's already (hold_warehouse_lock)


def insights_of(target: Target) -> str:
    """Conversation insights of ``target``'s dataset, after the views (skipped when ``[insights]`` is off)."""
    held = insights_target(target)
    hold_warehouse_lock(held)
    return refresh_insights_of(target, build_pipeline(held)) or "[insights] enabled = false: nothing computed"


def refresh_views_of(target: Target) -> list[str]:
    """The analytics views of ``target``'s dataset, re-created once every shard has loaded (or failed)."""
    views_target = replace(target, pipeline_name=f"{PIPELINE_NAME}__views")
    hold_warehouse_lock(views_target)
    return refresh_views(build_pipeline(views_target))
