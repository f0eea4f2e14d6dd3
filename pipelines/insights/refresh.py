"""``chatsync insights`` and the refresh after ``chatsync run``: recompute what changed, write it through dlt.

1. Conversations new or changed since their row (message count or last message differ) are read
   with their messages and judged (``conversations.judge``); rows of conversations the warehouse
   no longer holds are deleted.
2. Each language's new questions join its existing topics (``topics.assign``); a language with no
   model yet is fitted, as is every language with ``--refit`` (old ids kept where topics match),
   and a young model (fitted on fewer than ``YOUNG_MODEL`` conversations) once its language doubled.
3. Canned replies are found across all rows; outcomes follow.
4. ``conversation_insights`` rows that changed are merged; ``topics``, ``knowledge_gaps`` and
   ``topic_model`` are replaced; the ``topic_daily`` view is made.

Imports scikit-learn and the models: import this module only when insights run.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

import dlt
import pyarrow as pa

from sources.common.batching import ROW_ID_HINT, funnel_adds_row_ids, with_row_ids
from sources.common.tables import (
    CONVERSATION_INSIGHT_COLUMNS,
    CONVERSATION_INSIGHTS,
    KNOWLEDGE_GAP_COLUMNS,
    KNOWLEDGE_GAPS,
    TOPIC_COLUMNS,
    TOPIC_MODEL,
    TOPIC_MODEL_COLUMNS,
    TOPICS,
)

from ..warehouse.analytics import destination_dialect
from ..warehouse.queries import has_tables
from .aggregates import gap_rows, group_by_topic, model_rows, topic_rows
from .conversations import ConversationInsight, as_row, judge, stored_columns
from .fallbacks import FallbackPhrases, canned_replies
from .settings import InsightsSettings
from .store import Reader, changed_conversations, create_topic_daily, delete_stale, stored_insights, stored_model
from .topics import UNDECIDED, assign, fit_language, match_ids

YOUNG_MODEL: Final = 200  # a language fitted on fewer conversations is refitted once it doubles
SOURCE_NAME: Final = "insights"


@dataclass
class InsightsSummary:
    """What one refresh did, for the run's summary and ``chatsync insights``."""

    recomputed: int = 0
    conversations: int = 0
    topics: int = 0
    gaps: int = 0
    refitted: list[str] = field(default_factory=list)
    outcomes: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    def describe(self) -> str:
        """One line: what was recomputed, how many topics and gaps."""
        refit = f", refitted {', '.join(self.refitted)}" if self.refitted else ""
        return (
            f"{self.recomputed:,} of {self.conversations:,} conversations recomputed, {self.topics} topics, "
            f"{self.gaps} knowledge gaps{refit} ({self.seconds:.1f} s)"
        )


def refresh_insights(
    pipeline: dlt.Pipeline,
    settings: InsightsSettings,
    providers: Iterable[str] | None = None,
    refit: bool = False,
    file_format: str | None = None,
) -> InsightsSummary:
    """Brings the insights tables up to date with the warehouse.

    Args:
        pipeline: A pipeline of the dataset, held by the caller's lock.
        settings: ``[insights]``.
        providers: Recompute only these providers' conversations (topics and gaps span all).
        refit: Re-cluster every language from scratch, keeping ids where topics survive.
        file_format: dlt's loader file format (parquet on DuckDB).

    Returns:
        What was done.
    """
    started = time.monotonic()
    summary = InsightsSummary()
    if not has_tables(pipeline, ["messages", "conversations"]):
        return summary
    now = datetime.now(UTC)
    fresh, stored, (model, fitted) = _read(pipeline, settings, providers, refit)
    model_before = (_exemplar_sets(model), dict(fitted))
    rows, dirty = _merge_rows(stored, fresh, settings.feature_chars)
    chosen = _topics(rows, dirty, model, fitted, settings, refit, summary)
    _settle_outcomes(rows, dirty, settings.canned_min_topics)
    topics = group_by_topic(rows.values())
    topic_table = topic_rows(topics, now)
    gaps = gap_rows(topics, {t["topic_id"]: t["label"] for t in topic_table}, now)
    changed = [as_row(rows[key], now) for key in sorted(dirty)]
    exemplars = model_rows(topics, fitted, now, chosen)
    same_model = (_exemplar_sets_of_rows(exemplars), fitted) == model_before
    _write(pipeline, changed, topic_table, gaps, None if same_model else exemplars, file_format)
    with pipeline.sql_client() as client:
        create_topic_daily(Reader(client, destination_dialect(pipeline), pipeline.dataset_name))
    summary.recomputed, summary.conversations = len(fresh), len(rows)
    summary.topics, summary.gaps = len(topic_table), len(gaps)
    summary.outcomes = _count(row.outcome for row in rows.values())
    summary.seconds = time.monotonic() - started
    return summary


Model = tuple[dict[str, dict[str, list[str]]], dict[str, int]]


def _read(
    pipeline: dlt.Pipeline, settings: InsightsSettings, providers: Iterable[str] | None, refit: bool
) -> tuple[list[ConversationInsight], list[dict[str, Any]], Model]:
    """Deletes stale rows; judges new and changed conversations; reads the stored rows and the model."""
    with pipeline.sql_client() as client:
        reader = Reader(client, destination_dialect(pipeline), pipeline.dataset_name)
        delete_stale(reader)
        phrases = FallbackPhrases(settings.fallback_phrases)
        fresh = [
            judge(key, messages, flagged, phrases, settings.feature_chars)
            for key, flagged, messages in changed_conversations(reader, providers, settings.feature_chars, refit)
        ]
        return fresh, stored_insights(reader, stored_columns()), stored_model(reader)


def _settle_outcomes(rows: dict[tuple[str, str], ConversationInsight], dirty: set[tuple[str, str]], bar: int) -> None:
    """Finds the canned replies across every row, then settles each outcome; a changed one is written."""
    canned = canned_replies(((r.reply_fingerprint, r.topic_id) for r in rows.values()), bar)
    for key, row in rows.items():
        before = (row.outcome, row.fallback)
        row.settle(canned)
        if (row.outcome, row.fallback) != before:
            dirty.add(key)


Key = tuple[str, str]


def _merge_rows(
    stored: list[dict[str, Any]], fresh: list[ConversationInsight], limit: int
) -> tuple[dict[Key, ConversationInsight], set[Key]]:
    """Every row by key, fresh ones replacing stored ones; the fresh keys are the dirty ones."""
    rows: dict[Key, ConversationInsight] = {}
    for row in stored:
        insight = ConversationInsight.from_row(row, limit)
        rows[(insight.provider, insight.conversation_id)] = insight
    dirty = set()
    for insight in fresh:
        key = (insight.provider, insight.conversation_id)
        old = rows.get(key)
        if old is not None and old.topic_id is not None and old.features == insight.features:
            insight.topic_id = old.topic_id  # the same question keeps its topic
        rows[key] = insight
        dirty.add(key)
    return rows, dirty


def _topics(
    rows: dict[Key, ConversationInsight],
    dirty: set[Key],
    model: dict[str, dict[str, list[str]]],
    fitted: dict[str, int],
    settings: InsightsSettings,
    refit: bool,
    summary: InsightsSummary,
) -> dict[str, list[str]]:
    """Assigns or fits topics per language; returns the exemplars chosen by fits, by topic id."""
    by_language: defaultdict[str, list[Key]] = defaultdict(list)
    for key, row in rows.items():
        if row.features:
            by_language[row.language or UNDECIDED].append(key)
        elif row.topic_id is not None:
            row.topic_id = None
            dirty.add(key)
    chosen: dict[str, list[str]] = {}
    for prefix, keys in sorted(by_language.items()):
        young = fitted.get(prefix, 0) < YOUNG_MODEL and len(keys) >= 2 * fitted.get(prefix, 0)
        if refit or prefix not in model or young:
            chosen.update(_fit(prefix, keys, rows, dirty, model.get(prefix, {}), settings.max_topics))
            fitted[prefix] = len(keys)
            summary.refitted.append(prefix)
        else:
            _assign(prefix, [k for k in keys if rows[k].topic_id is None], rows, model[prefix])
    return chosen


def _language(prefix: str) -> str | None:
    return None if prefix == UNDECIDED else prefix


def _fit(
    prefix: str,
    keys: list[Key],
    rows: dict[Key, ConversationInsight],
    dirty: set[Key],
    old: dict[str, list[str]],
    max_topics: int,
) -> dict[str, list[str]]:
    fit = fit_language([rows[k].features for k in keys], _language(prefix), max_topics)
    numbers = [int(topic.rsplit("-", 1)[1]) for topic in old if topic.rsplit("-", 1)[1].isdigit()]
    ids = match_ids(_language(prefix), old, fit.exemplars, prefix, max(numbers, default=0) + 1)
    for key, label in zip(keys, fit.labels, strict=True):
        if rows[key].topic_id != ids[label]:
            rows[key].topic_id = ids[label]
            dirty.add(key)
    return {ids[number]: texts for number, texts in fit.exemplars.items()}


def _assign(
    prefix: str, keys: list[Key], rows: dict[Key, ConversationInsight], exemplars: dict[str, list[str]]
) -> None:
    for key, topic in zip(keys, assign([rows[k].features for k in keys], _language(prefix), exemplars), strict=True):
        rows[key].topic_id = topic


def _exemplar_sets(model: dict[str, dict[str, list[str]]]) -> dict[str, set[str]]:
    """The stored model's exemplars, by topic."""
    return {topic: set(texts) for topics in model.values() for topic, texts in topics.items()}


def _exemplar_sets_of_rows(rows: list[dict[str, Any]]) -> dict[str, set[str]]:
    """This run's ``topic_model`` rows' exemplars, by topic."""
    sets: dict[str, set[str]] = {}
    for row in rows:
        sets.setdefault(row["topic_id"], set()).add(row["exemplar"])
    return sets


def _count(values: Iterable[str]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for value in values:
        counts[value] = counts.get(value, 0) + 1
    return counts


def _write(
    pipeline: dlt.Pipeline,
    changed: list[dict[str, Any]],
    topics: list[dict[str, Any]],
    gaps: list[dict[str, Any]],
    model: list[dict[str, Any]] | None,
    file_format: str | None,
) -> None:
    """One load: changed rows merged, the derived tables replaced (the model only when it changed)."""
    source = insights_source(changed, topics, gaps, model)
    pipeline.extract(source, loader_file_format=file_format)  # type: ignore[arg-type]
    pipeline.normalize()
    pipeline.load()


@dlt.source(name=SOURCE_NAME, max_table_nesting=0)
def insights_source(
    changed: list[dict[str, Any]],
    topics: list[dict[str, Any]],
    gaps: list[dict[str, Any]],
    model: list[dict[str, Any]] | None,
) -> Iterator[Any]:
    """The insights tables as dlt resources."""
    insights, columns = as_arrow(changed, CONVERSATION_INSIGHT_COLUMNS), _columns(CONVERSATION_INSIGHT_COLUMNS)
    if funnel_adds_row_ids():  # dlt's normalize does not add _dlt_id to Arrow tables (.dlt/config.toml)
        insights, columns = with_row_ids(insights), columns | ROW_ID_HINT
    yield dlt.resource(
        _once(insights),
        name=CONVERSATION_INSIGHTS,
        write_disposition={"disposition": "merge", "strategy": "delete-insert"},
        primary_key=["provider", "conversation_id"],
        columns=columns,
    )
    replaced = [(TOPICS, topics, TOPIC_COLUMNS), (KNOWLEDGE_GAPS, gaps, KNOWLEDGE_GAP_COLUMNS)]
    if model is not None:
        replaced.append((TOPIC_MODEL, model, TOPIC_MODEL_COLUMNS))
    for name, rows, columns in replaced:
        yield dlt.resource(_once(rows), name=name, write_disposition="replace", columns=_columns(columns))


def _once(rows: Any) -> Iterator[Any]:
    yield rows  # one page: dlt writes it in one go


_ARROW_TYPES: Final = {
    "text": pa.string(),
    "bigint": pa.int64(),
    "double": pa.float64(),
    "bool": pa.bool_(),
    "timestamp": pa.timestamp("us", tz="UTC"),
}


def as_arrow(rows: list[dict[str, Any]], columns: Any) -> pa.Table:
    """Rows as one Arrow table typed by the table's column hints: dlt writes it without per-row work."""
    schema = pa.schema([(name, _ARROW_TYPES[str(hint["data_type"])]) for name, hint in columns.items()])
    return pa.Table.from_pylist(rows, schema=schema)


def _columns(columns: Any) -> Any:
    return {name: dict(column) for name, column in columns.items()}
