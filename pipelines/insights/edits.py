"""What people change about topics (``chatsync topics``): names and merges, kept in ``topic_edits``.

An edit is a row per topic (its name, the topic it is merged into); it holds no conversation text,
so forgetting a conversation leaves nothing in it. Every refresh applies the edits (``refresh``):
a merged topic's conversations, and any that would later join it, are shown in the target; a
renamed topic's name is its ``label`` everywhere. A refit keeps ids where topics survive, so edits
survive it. A reset writes the row empty: the topic is as the model made it.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any, Final

import dlt

from sources.common.errors import ConfigurationError
from sources.common.tables import TOPIC_EDIT_COLUMNS, TOPIC_EDITS, TOPICS

from ..warehouse.read_model import pipeline_read_model

SOURCE_NAME = "topic_edits"
LISTED: Final = ("topic_id", "label", "name", "conversations", "languages", "failed", "last_7", "previous_7")


def topic_list(pipeline: dlt.Pipeline) -> list[dict[str, Any]]:
    """Every topic of the warehouse, largest first, as the read model gives them (the explorer's figures).

    Raises:
        ConfigurationError: No insights yet.
    """
    with pipeline_read_model(pipeline) as model:
        if TOPICS not in model.tables:
            raise ConfigurationError("no topics yet: run `chatsync insights` (or a run with insights) first")
        return [{k: topic[k] for k in LISTED} for topic in model.topics()]


def check_known(topic_ids: list[str], known: list[str]) -> None:
    """Refuses ids the warehouse has no topic of, naming the known ones.

    Raises:
        ConfigurationError: An unknown id (exit 2).
    """
    unknown = [topic for topic in topic_ids if topic not in known]
    if unknown:
        listed = ", ".join(known[:20]) + (" …" if len(known) > 20 else "")
        raise ConfigurationError(f"no topic {', '.join(unknown)}; known topics: {listed} (see `chatsync topics`)")


def edit_row(topic_id: str, name: str | None = None, merged_into: str | None = None) -> dict[str, Any]:
    """One ``topic_edits`` row (both None: the topic's edits are reset)."""
    return {"topic_id": topic_id, "name": name, "merged_into": merged_into, "edited_at": datetime.now(UTC)}


def save_edits(pipeline: dlt.Pipeline, rows: list[dict[str, Any]], file_format: str | None) -> None:
    """Merges edit rows into ``topic_edits`` (one row per topic: the newest edit wins)."""
    pipeline.extract(topic_edits_source(rows), loader_file_format=file_format)  # type: ignore[arg-type]
    pipeline.normalize()
    pipeline.load()


@dlt.source(name=SOURCE_NAME, max_table_nesting=0)
def topic_edits_source(rows: list[dict[str, Any]]) -> Iterator[Any]:
    """The edits as a dlt resource, merged on ``topic_id``."""
    yield dlt.resource(
        _once(rows),
        name=TOPIC_EDITS,
        write_disposition={"disposition": "merge", "strategy": "delete-insert"},
        primary_key=["topic_id"],
        columns=_columns(),
    )


def _once(rows: list[dict[str, Any]]) -> Iterator[Any]:
    yield rows  # one page: dlt writes it in one go


def _columns() -> Any:
    return {name: dict(column) for name, column in TOPIC_EDIT_COLUMNS.items()}
