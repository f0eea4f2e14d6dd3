"""Names the Dagster definitions share: jobs, the DuckDB pool, keys."""

# No ``from __future__ import annotations``: Dagster reads the context and resource annotations.
from typing import Final

from dagster import (
    AssetKey,
)

from ...engine.target import DATASET_NAME

INCREMENTAL_JOB: Final = "chatsync_incremental_job"

BACKFILL_JOB: Final = "chatsync_backfill_job"

AUDIT_JOB: Final = "chatsync_audit_job"

DUCKDB_POOL: Final = "chatsync_duckdb"  # DuckDB takes one writer at a time: its loads queue here

VIEWS_KEY: Final = AssetKey([DATASET_NAME, "analytics_views"])

INSIGHTS_KEY: Final = AssetKey([DATASET_NAME, "conversation_insights"])

RESOURCE_KEY: Final = "chatsync_dlt"

DEFINITION_ONLY: Final = "resolved-at-run-time"  # what the definition-time source is given for secrets
