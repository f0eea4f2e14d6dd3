"""``chatsync insights`` and the refresh after ``chatsync run``: recompute what changed, write it through dlt.

1. Conversations new or changed since their row (message count or last message differ) are read
   with their messages and judged (``conversations.judge``); each new question is embedded once
   (``representations``); rows of conversations the warehouse no longer holds are deleted.
2. New questions join the nearest topic of the stored model (``topics.assign``). The topics are
   fitted instead, across every language at once, when there is no model yet, with ``--refit``
   (old ids kept where topics match), when a young model (fitted on fewer than ``YOUNG_MODEL``
   conversations) saw the warehouse double, and once after an upgrade from per-language topics
   (each old id is mapped to the topic now holding most of its conversations: ``topic_aliases``).
3. People's edits (``chatsync topics``: names, merges) are applied.
4. Canned replies are found across all rows; outcomes follow.
5. ``conversation_insights`` rows that changed are merged; ``topics``, ``knowledge_gaps`` and
   ``topic_model`` are replaced; the ``topic_daily`` view is made.

Imports scikit-learn and the models: import this module only when insights run.
"""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

import dlt
import numpy as np
import pyarrow as pa

from sources.common.batching import ROW_ID_HINT, funnel_adds_row_ids, with_row_ids
from sources.common.tables import (
    CONVERSATION_INSIGHT_COLUMNS,
    CONVERSATION_INSIGHTS,
    KNOWLEDGE_GAP_COLUMNS,
    KNOWLEDGE_GAPS,
    TOPIC_ALIAS_COLUMNS,
    TOPIC_ALIASES,
    TOPIC_COLUMNS,
    TOPIC_MODEL,
    TOPIC_MODEL_COLUMNS,
    TOPICS,
)

from ..warehouse.analytics import destination_dialect
from ..warehouse.queries import has_tables
from .aggregates import TopicModel, gap_rows, group_by_topic, model_rows, topic_rows
from .conversations import ConversationInsight, as_row, judge, score_sentiments, stored_columns
from .fallbacks import CANNED_MIN_CONVERSATIONS, FallbackPhrases, canned_replies
from .representations import LEXICAL, MULTILINGUAL, embed, lexical, pack, representation_of, unpack
from .settings import InsightsSettings
from .store import (
    Reader,
    changed_conversations,
    create_topic_daily,
    delete_stale,
    stored_edits,
    stored_exemplars,
    stored_insights,
    stored_labels,
    stored_model,
    stored_vectors,
)
from .topics import OTHER, assign, assign_lexical, centred, fit, id_number, is_paste, language_means, match_ids

YOUNG_MODEL: Final = 200  # a model fitted on fewer conversations is refitted once the warehouse doubles
SOURCE_NAME: Final = "insights"
MAX_MERGE_CHAIN: Final = 20  # a merge into a merged topic follows the chain; a circle stops it
LOAD_EVERY_VECTOR_ABOVE: Final = 2_000  # rows: beyond this, one scan of every vector beats a list of ids


@dataclass
class InsightsSummary:
    """What one refresh did, for the run's summary and ``chatsync insights``."""

    recomputed: int = 0
    conversations: int = 0
    topics: int = 0
    gaps: int = 0
    refitted: bool = False
    migrated: int = 0  # per-language topic ids of an earlier version mapped to the new topics
    outcomes: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    def describe(self) -> str:
        """One sentence: what was recomputed, how many topics and gaps (singular and plural right)."""
        refit = ", topics refitted" if self.refitted else ""
        migrated = (
            f"; {_count_of(self.migrated, 'per-language topic')} of the earlier version mapped to "
            "topics across languages (table topic_aliases)"
            if self.migrated
            else ""
        )
        return (
            f"{self.recomputed:,} of {_count_of(self.conversations, 'conversation')} recomputed, "
            f"{_count_of(self.topics, 'topic')}, {_count_of(self.gaps, 'knowledge gap')}{refit}{migrated} "
            f"({self.seconds:.1f} s)"
        )


def _count_of(count: int, noun: str) -> str:
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


Key = tuple[str, str]


@dataclass
class State:
    """Everything a refresh works on: the rows by key, those to write, the model and people's edits."""

    rows: dict[Key, ConversationInsight]
    dirty: set[Key]
    model: TopicModel
    exemplars: dict[str, list[str]]
    edits: dict[str, tuple[str | None, str | None]]
    labels: dict[str, tuple[str, str | None, int]] = field(default_factory=dict)
    aliases: list[dict[str, Any]] = field(default_factory=list)


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
        refit: Re-cluster every topic from scratch, keeping ids where topics survive.
        file_format: dlt's loader file format (parquet on DuckDB).

    Returns:
        What was done.
    """
    started = time.monotonic()
    summary = InsightsSummary()
    if not has_tables(pipeline, ["messages", "conversations"]):
        return summary
    now = datetime.now(UTC)
    fresh, state = _read(pipeline, settings, providers, refit)
    before = _model_signature(state.model)
    _embed_missing(state)
    young = state.model.fitted < YOUNG_MODEL and len(state.rows) >= 2 * max(state.model.fitted, 1)
    if refit or not state.model or state.model.legacy or young:
        _load_vectors(pipeline, state, list(state.rows))
        summary.migrated = _fit_all(state, settings)
        summary.refitted = True
    else:
        _assign_new(state)
    _apply_edits(state)
    _settle_outcomes(pipeline, state, settings.canned_min_topics)
    _load_vectors(pipeline, state, list(state.dirty))  # a row written again keeps its vector
    topics = group_by_topic(state.rows.values())
    names = {topic: name for topic, (name, _) in state.edits.items() if name}
    previous = None if summary.refitted else state.labels
    topic_table = topic_rows(topics, names, settings.label_language, now, previous)
    gaps = gap_rows(topics, {t["topic_id"]: t["label"] for t in topic_table}, now)
    changed = [as_row(state.rows[key], now) for key in sorted(state.dirty)]
    same_model = _model_signature(state.model) == before and not summary.refitted
    model = None if same_model else model_rows(state.model, topics, now)
    _write(pipeline, changed, topic_table, gaps, model, state.aliases, file_format)
    with pipeline.sql_client() as client:
        create_topic_daily(Reader(client, destination_dialect(pipeline), pipeline.dataset_name))
    summary.recomputed, summary.conversations = len(fresh), len(state.rows)
    summary.topics, summary.gaps = len(topic_table), len(gaps)
    summary.outcomes = _count(row.outcome for row in state.rows.values())
    summary.seconds = time.monotonic() - started
    return summary


def _read(
    pipeline: dlt.Pipeline, settings: InsightsSettings, providers: Iterable[str] | None, refit: bool
) -> tuple[list[ConversationInsight], State]:
    """Deletes stale rows; judges new and changed conversations; reads the stored rows, model and edits."""
    with pipeline.sql_client() as client:
        reader = Reader(client, destination_dialect(pipeline), pipeline.dataset_name)
        delete_stale(reader)
        phrases = FallbackPhrases(settings.fallback_phrases)
        fresh = [
            judge(key, messages, flagged, phrases, settings.feature_chars)
            for key, flagged, messages in changed_conversations(reader, providers, settings.feature_chars, refit)
        ]
        score_sentiments(fresh)
        stored = stored_insights(reader, stored_columns())
        model, exemplars, edits = stored_model(reader), stored_exemplars(reader), stored_edits(reader)
        labels = stored_labels(reader)
    rows, dirty = _merge_rows(stored, fresh, settings.feature_chars)
    return fresh, State(rows, dirty, model, exemplars, edits, labels)


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
        if old is not None and old.features == insight.features:  # the same question keeps its vector and topic
            insight.question_vector, insight.model_topic_id = old.question_vector, old.model_topic_id
            insight.vector_stored = old.vector_stored
            insight.topic_id = old.topic_id
        rows[key] = insight
        dirty.add(key)
    return rows, dirty


def _multilingual(row: ConversationInsight) -> bool:
    """Whether a row's question is clustered in the multilingual space."""
    return bool(row.features) and not is_paste(row.features) and representation_of(row.language) == MULTILINGUAL


def _embed_missing(state: State) -> None:
    """Embeds the questions that have no vector yet (new ones; every one of a warehouse of an older version)."""
    missing = [
        key
        for key, row in state.rows.items()
        if _multilingual(row) and row.question_vector is None and not row.vector_stored
    ]
    vectors = embed([state.rows[key].features for key in missing])
    for key, vector in zip(missing, vectors, strict=True):
        state.rows[key].question_vector = pack(vector)
        state.dirty.add(key)


def _load_vectors(pipeline: dlt.Pipeline, state: State, keys: list[Key], fingerprints: list[str] | None = None) -> None:
    """Reads the stored vectors of these rows (or of rows with these reply fingerprints), where not read yet.

    Vectors are read only when needed: a refit, canned-reply candidates, rows written again. An
    incremental run on a large warehouse thus reads a small part of them.
    """
    needed = [key for key in keys if state.rows[key].vector_stored and state.rows[key].question_vector is None]
    if not needed:
        return
    with pipeline.sql_client() as client:
        reader = Reader(client, destination_dialect(pipeline), pipeline.dataset_name)
        if fingerprints is not None:
            found = stored_vectors(reader, fingerprints=fingerprints)
        elif len(needed) > LOAD_EVERY_VECTOR_ABOVE:
            found = stored_vectors(reader)
        else:
            found = stored_vectors(reader, conversations=[conversation for _, conversation in needed])
    for key in needed:
        if key in found:
            state.rows[key].question_vector = found[key]


def _vectors(rows: list[ConversationInsight]) -> Any:
    return np.stack([unpack(row.question_vector or "") for row in rows]) if rows else np.zeros((0, 512))


def _fit_all(state: State, settings: InsightsSettings) -> int:
    """Fits every topic anew; returns how many per-language ids of an older version were mapped."""
    legacy = state.model.legacy
    rows = state.rows
    old_final = {key: row.topic_id for key, row in rows.items()}
    numbers = [id_number(row.model_topic_id or "") for row in rows.values()]
    next_number = max([*numbers, *(id_number(t) for t in state.model.centroids)], default=0) + 1
    model = TopicModel(fitted=len(rows))
    spaced = sorted(key for key, row in rows.items() if _multilingual(row))  # the same fit whatever order rows came in
    if spaced:
        members = [rows[key] for key in spaced]
        unit = _vectors(members)
        languages = [row.language for row in members]
        model.means = language_means(unit, languages)
        found = fit(centred(unit, languages, model.means), MULTILINGUAL, settings.min_topic_share, settings.max_topics)
        before = [None if legacy else row.model_topic_id for row in members]
        ids = match_ids(before, [int(n) for n in found.labels], next_number)
        next_number = max([next_number - 1, *(id_number(i) for i in ids.values())]) + 1
        model.centroids = {ids[n]: centroid for n, centroid in found.centroids.items()}
        for key, number in zip(spaced, found.labels, strict=True):
            _set_topic(state, key, ids[int(number)])
    by_language: defaultdict[str, list[Key]] = defaultdict(list)
    for key, row in sorted(rows.items()):
        if row.features and not is_paste(row.features) and representation_of(row.language) == LEXICAL:
            by_language[str(row.language)].append(key)
        elif row.features and is_paste(row.features):
            _set_topic(state, key, OTHER)
        elif not row.features:
            _set_topic(state, key, None)
    for language, keys in sorted(by_language.items()):
        next_number = _fit_lexical(state, model, language, keys, settings, next_number, legacy)
    state.model = model
    return _aliases(state, old_final) if legacy else 0


def _fit_lexical(
    state: State,
    model: TopicModel,
    language: str,
    keys: list[Key],
    settings: InsightsSettings,
    next_number: int,
    legacy: bool,
) -> int:
    """Fits the topics of one language the multilingual model does not cover; returns the next free number."""
    members = [state.rows[key] for key in keys]
    found = fit(lexical([row.features for row in members]), LEXICAL, settings.min_topic_share, settings.max_topics)
    before = [None if legacy else row.model_topic_id for row in members]
    ids = match_ids(before, [int(n) for n in found.labels], next_number)
    for key, number in zip(keys, found.labels, strict=True):
        _set_topic(state, key, ids[int(number)])
    for number, topic in ids.items():
        if number != -1:
            model.lexical[topic] = language
    state.exemplars = {}
    return max([next_number - 1, *(id_number(i) for i in ids.values())]) + 1


def _aliases(state: State, old_final: dict[Key, str | None]) -> int:
    """Maps each per-language id of an older version to the topic now holding most of its conversations."""
    held: defaultdict[str, Counter[str]] = defaultdict(Counter)
    for key, old in old_final.items():
        new = state.rows[key].model_topic_id
        if old is not None and new is not None and "-" in old:
            held[old][new] += 1
    now = datetime.now(UTC)
    for old, counts in sorted(held.items()):
        topic, conversations = min(counts.items(), key=lambda item: (-item[1], item[0]))
        state.aliases.append({"old_topic_id": old, "topic_id": topic, "conversations": conversations, "mapped_at": now})
    return len(state.aliases)


def _set_topic(state: State, key: Key, topic: str | None) -> None:
    row = state.rows[key]
    if row.model_topic_id != topic:
        row.model_topic_id = topic
        state.dirty.add(key)


def _assign_new(state: State) -> None:
    """New questions join the nearest topic of the stored model."""
    new = [key for key in state.dirty if state.rows[key].model_topic_id is None]
    spaced = [key for key in new if _multilingual(state.rows[key])]
    if spaced:
        members = [state.rows[key] for key in spaced]
        unit = centred(_vectors(members), [row.language for row in members], state.model.means)
        for key, topic in zip(spaced, assign(unit, state.model.centroids), strict=True):
            _set_topic(state, key, topic)
    by_language: defaultdict[str, list[Key]] = defaultdict(list)
    for key in new:
        row = state.rows[key]
        if row.features and is_paste(row.features):
            _set_topic(state, key, OTHER)
        elif row.features and representation_of(row.language) == LEXICAL:
            by_language[str(row.language)].append(key)
    for language, keys in by_language.items():
        exemplars = {t: state.exemplars.get(t, []) for t, lang in state.model.lexical.items() if lang == language}
        exemplars = {t: texts for t, texts in exemplars.items() if texts}
        topics = assign_lexical([state.rows[key].features for key in keys], exemplars)
        for key, topic in zip(keys, topics, strict=True):
            _set_topic(state, key, topic)


def resolve(topic: str | None, edits: dict[str, tuple[str | None, str | None]]) -> str | None:
    """The topic a model topic's conversations are shown in: merges followed (a circle stops where it closes)."""
    seen: set[str] = set()
    while topic is not None and topic not in seen and len(seen) < MAX_MERGE_CHAIN:
        seen.add(topic)
        into = edits.get(topic, (None, None))[1]
        if into is None or into in seen:
            return topic
        topic = into
    return topic


def _apply_edits(state: State) -> None:
    """Each row's shown topic: its model topic, merges followed."""
    for key, row in state.rows.items():
        final = resolve(row.model_topic_id, state.edits) if row.features else None
        if row.topic_id != final:
            row.topic_id = final
            state.dirty.add(key)


def _settle_outcomes(pipeline: dlt.Pipeline, state: State, min_topics: int) -> None:
    """Finds the canned replies across every row, then settles each outcome; a changed one is written."""
    rows = list(state.rows.values())
    given = Counter(row.reply_fingerprint for row in rows if row.reply_fingerprint is not None)
    repeated = {reply for reply, count in given.items() if count >= CANNED_MIN_CONVERSATIONS}
    candidates = [key for key, row in state.rows.items() if row.reply_fingerprint in repeated]
    _load_vectors(pipeline, state, candidates, sorted(repeated))
    spaced = [row for row in rows if row.question_vector is not None and row.reply_fingerprint in repeated]
    unit = centred(_vectors(spaced), [row.language for row in spaced], state.model.means) if spaced else None
    vector_of = {id(row): unit[n] for n, row in enumerate(spaced)} if unit is not None else {}
    canned = canned_replies(((r.reply_fingerprint, r.topic_id, vector_of.get(id(r))) for r in rows), min_topics)
    for key, row in state.rows.items():
        before = (row.outcome, row.fallback)
        row.settle(canned)
        if (row.outcome, row.fallback) != before:
            state.dirty.add(key)


def _model_signature(model: TopicModel) -> tuple[Any, ...]:
    return (sorted(model.centroids), sorted(model.lexical.items()), sorted(model.means), model.fitted)


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
    aliases: list[dict[str, Any]],
    file_format: str | None,
) -> None:
    """One load: changed rows merged, the derived tables replaced (the model only when it changed)."""
    source = insights_source(changed, topics, gaps, model, aliases)
    pipeline.extract(source, loader_file_format=file_format)  # type: ignore[arg-type]
    pipeline.normalize()
    pipeline.load()


@dlt.source(name=SOURCE_NAME, max_table_nesting=0)
def insights_source(
    changed: list[dict[str, Any]],
    topics: list[dict[str, Any]],
    gaps: list[dict[str, Any]],
    model: list[dict[str, Any]] | None,
    aliases: list[dict[str, Any]] | None = None,
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
    if aliases:
        replaced.append((TOPIC_ALIASES, aliases, TOPIC_ALIAS_COLUMNS))
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
