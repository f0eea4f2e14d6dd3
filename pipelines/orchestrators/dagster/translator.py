"""Asset keys, groups and descriptions of each shard's assets (dagster-dlt's translator)."""

# No ``from __future__ import annotations``: Dagster reads the context and resource annotations.
from typing import Any

from dagster import (
    AssetKey,
    AssetSpec,
    MetadataValue,
)
from dagster_dlt import DagsterDltTranslator
from dagster_dlt.translator import DltResourceTranslatorData

from sources.common.tables import TABLES

from ...engine.target import DATASET_NAME
from ..shards import (
    Shard,
)


def shard_key(shard: Shard, by_day: bool = False) -> AssetKey:
    """``chat_history/<provider>/<shard>``; the daily-partitioned backfill twin is ``chat_history_by_day/…``."""
    return AssetKey([f"{DATASET_NAME}_by_day" if by_day else DATASET_NAME, shard.provider, shard.name])


class ShardTranslator(DagsterDltTranslator):
    """Names a shard's asset after the shard, groups it by provider, and says what it loads.

    dagster-dlt names the table after the dlt resource (OwlBot's ``sessions``), but every shard
    merges into the canonical tables: the spec names them, qualified by the dataset.
    """

    def __init__(self, shard: Shard, by_day: bool, dataset: str = DATASET_NAME) -> None:
        self.shard = shard
        self.by_day = by_day
        self.dataset = dataset

    def get_asset_spec(self, data: DltResourceTranslatorData) -> AssetSpec:
        """The dlt resource's default spec, with chatsync's key, group, description, tables and no upstream."""
        mode = (
            "Backfill by UTC day: re-reads exactly the selected days; incremental cursors are not moved."
            if self.by_day
            else "Incremental load from the stored per-conversation cursors."
        )
        return (
            super()
            .get_asset_spec(data)
            .replace_attributes(
                key=shard_key(self.shard, self.by_day),
                group_name=self.shard.provider,
                deps=[],
                description=(
                    f"{self.shard.describe()}. {mode} Merges into {self.dataset}.messages, .conversations "
                    f"and .sync_errors through dlt pipeline {self.shard.pipeline_name!r}."
                ),
                metadata=self.metadata(data),
            )
            .merge_attributes(tags={"chatsync/provider": self.shard.provider})
        )

    def metadata(self, data: DltResourceTranslatorData) -> dict[str, Any]:
        """The main table (Dagster's ``table_name``), every table the shard writes, and its dlt pipeline."""
        destination = data.destination.destination_name if data.destination else None
        return {  # Dagster's table metadata keys (its TableMetadataSet is not exported)
            "dagster/table_name": f"{self.dataset}.messages",
            **({"dagster/storage_kind": destination} if destination else {}),
            "chatsync/tables": MetadataValue.json([f"{self.dataset}.{table}" for table in TABLES]),
            "chatsync/pipeline": MetadataValue.text(self.shard.pipeline_name),
        }
