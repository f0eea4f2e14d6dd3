"""The report's figures, read from the analytics views in one connection."""

from __future__ import annotations

import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Final

import dlt

from sources.common.timeutil import utc_stamp

from ..warehouse.read_model import bot_label, pipeline_read_model
from .asked import AskedFigures, collect_asked

PERCENTILES: Final = (50, 90, 99)

BUSIEST_DAYS: Final = 5

_ABANDONED = """
SELECT provider, bot_id, SUM(CASE WHEN abandoned THEN 1 ELSE 0 END) AS abandoned
FROM conversation_metrics GROUP BY provider, bot_id
"""

_RESPONSES = "SELECT provider, response_seconds FROM response_times WHERE response_seconds IS NOT NULL"

_LENGTHS = "SELECT provider, message_count FROM conversation_metrics"

_DAILY = """
SELECT day, provider, SUM(messages) AS messages, SUM(active_conversations) AS conversations
FROM daily_activity GROUP BY day, provider ORDER BY day, provider
"""

_SPAN = "SELECT MIN(created_at), MAX(created_at) FROM messages"

_ASKED = "o.user_messages > 0"  # containment and handoff count conversations with a user message

_KPIS = f"""
SELECT o.provider, o.bot_id, COUNT(*) AS conversations,
       AVG(CASE WHEN {_ASKED} THEN CASE WHEN o.contained THEN 1.0 WHEN NOT o.contained THEN 0.0 END END),
       AVG(CASE WHEN {_ASKED} THEN CASE WHEN o.handed_off THEN 1.0 WHEN NOT o.handed_off THEN 0.0 END END),
       AVG(CASE WHEN o.abandoned THEN 1.0 ELSE 0.0 END),
       COUNT(DISTINCT o.user_key), COUNT(DISTINCT CASE WHEN o.returning_user THEN o.user_key END)
FROM conversation_outcomes AS o
GROUP BY o.provider, o.bot_id ORDER BY o.provider, o.bot_id
"""

_FIRST_RESPONSES = """
SELECT provider, bot_id, first_response_seconds FROM conversation_metrics WHERE first_response_seconds IS NOT NULL
"""

_OUTCOME_TREND = f"""
SELECT CAST(o.started_at AT TIME ZONE 'UTC' AS DATE) AS day,
       AVG(CASE WHEN {_ASKED} THEN CASE WHEN o.contained THEN 1.0 WHEN NOT o.contained THEN 0.0 END END),
       AVG(CASE WHEN {_ASKED} THEN CASE WHEN o.handed_off THEN 1.0 WHEN NOT o.handed_off THEN 0.0 END END)
FROM conversation_outcomes AS o
WHERE o.handed_off IS NOT NULL
GROUP BY CAST(o.started_at AT TIME ZONE 'UTC' AS DATE)
ORDER BY CAST(o.started_at AT TIME ZONE 'UTC' AS DATE)
"""

_KNOWLEDGE = """
SELECT provider, bot_id, knowledge_id, citations, conversations, last_cited_at FROM knowledge_usage
ORDER BY citations DESC, conversations DESC, provider, bot_id, knowledge_id LIMIT 10
"""

_LATENCY_DAILY = "SELECT day, provider, model, p50_latency_ms, p95_latency_ms FROM model_latency ORDER BY day"

_LATENCIES = """
SELECT provider, model, latency_ms FROM messages
WHERE role = 'assistant' AND model IS NOT NULL AND latency_ms IS NOT NULL
"""

_AUDIENCE = """
SELECT provider, country, device_type, SUM(conversations) AS conversations FROM audience
WHERE country IS NOT NULL OR device_type IS NOT NULL
GROUP BY provider, country, device_type ORDER BY SUM(conversations) DESC, provider, country, device_type
"""

_HOURS = """
SELECT provider, EXTRACT(HOUR FROM created_at AT TIME ZONE 'UTC') AS hour, COUNT(*) AS messages
FROM messages GROUP BY provider, EXTRACT(HOUR FROM created_at AT TIME ZONE 'UTC')
"""


@dataclass(frozen=True)
class BotKpis:
    """One bot's chatbot KPIs over everything loaded; None where its provider sends no signal."""

    provider: str
    bot_id: str | None
    conversations: int
    containment: float | None
    handoff: float | None
    abandoned: float
    median_first_response: float | None
    users: int
    returning_users: int


@dataclass
class ReportData:
    """What the report shows, read from the warehouse."""

    volume: list[tuple[str, str | None, int, int, int]] = field(default_factory=list)
    response_seconds: dict[str, list[float]] = field(default_factory=dict)
    lengths: dict[str, list[int]] = field(default_factory=dict)
    daily: dict[str, dict[date, int]] = field(default_factory=dict)
    daily_conversations: dict[date, int] = field(default_factory=dict)
    hours: dict[str, dict[int, int]] = field(default_factory=dict)
    first_message: datetime | None = None
    last_message: datetime | None = None
    last_load: datetime | None = None
    bot_kpis: list[BotKpis] = field(default_factory=list)
    outcome_trend: list[tuple[date, float | None, float | None]] = field(default_factory=list)
    knowledge: list[tuple[str, str | None, str, int, int, datetime | None]] = field(default_factory=list)
    latency_daily: dict[tuple[str, str], dict[date, tuple[float | None, int | None]]] = field(default_factory=dict)
    latencies: dict[tuple[str, str], list[int]] = field(default_factory=dict)
    audience: list[tuple[str, str | None, str | None, int]] = field(default_factory=list)
    asked: AskedFigures | None = None  # None until chatsync insights ran
    bot_names: dict[tuple[str, str], str] = field(default_factory=dict)  # where the provider names its bots

    def bot(self, provider: str, bot_id: str | None) -> str:
        """The bot as the report shows it: ``Support (977cdc75)`` where named, else its id, else ``—``."""
        return bot_label(self.bot_names, provider, bot_id)

    def coverage(self) -> str:
        """``Messages from … to …; last load at …`` (UTC)."""

        def when(moment: datetime | None) -> str:
            return utc_stamp(moment) if moment else "unknown"

        return (
            f"Messages from {when(self.first_message)} to {when(self.last_message)}; "
            f"last load at {when(self.last_load)}."
        )

    @property
    def empty(self) -> bool:
        """Whether nothing is loaded yet."""
        return not self.volume


def _day(value: Any) -> date:
    return value.date() if isinstance(value, datetime) else date.fromisoformat(str(value)[:10])


def collect_report(pipeline: dlt.Pipeline) -> ReportData:
    """Reads every figure of the report from the pipeline's dataset.

    Args:
        pipeline: A pipeline whose views exist (``refresh_views``).

    Returns:
        The figures.
    """
    data = ReportData()
    with pipeline_read_model(pipeline) as model:
        run = model.run  # the read model's rule for deleted rows on the tables read directly, as the views
        abandoned = {(p, b): int(n or 0) for p, b, n in run(_ABANDONED)}
        data.volume = [
            (
                v["provider"],
                v["bot_id"],
                int(v["conversations"]),
                int(v["messages"]),
                abandoned.get((v["provider"], v["bot_id"]), 0),
            )
            for v in model.bots()
        ]
        for provider, seconds in run(_RESPONSES):
            data.response_seconds.setdefault(provider, []).append(float(seconds))
        for provider, count in run(_LENGTHS):
            data.lengths.setdefault(provider, []).append(int(count))
        totals: dict[date, int] = defaultdict(int)
        for day, provider, messages, conversations in run(_DAILY):
            data.daily.setdefault(provider, {})[_day(day)] = int(messages)
            totals[_day(day)] += int(conversations)
        data.daily_conversations = dict(totals)
        for provider, hour, messages in run(_HOURS):
            data.hours.setdefault(provider, {})[int(hour)] = int(messages)
        ((data.first_message, data.last_message),) = run(_SPAN) or [(None, None)]
        _collect_chatbot_figures(data, run)
        data.bot_names = model.bot_names()
        if model.has_insights:
            data.asked = collect_asked(model)
        data.last_load = model.last_load()
    return data


def _rate(value: Any) -> float | None:
    return None if value is None else float(value)


def _collect_chatbot_figures(data: ReportData, run: Any) -> None:
    """The chatbot views' figures: KPIs per bot, the outcome trend, knowledge, latency, audience."""
    first_responses: dict[tuple[str, str | None], list[float]] = defaultdict(list)
    for provider, bot, seconds in run(_FIRST_RESPONSES):
        first_responses[(provider, bot)].append(float(seconds))
    for provider, bot, conversations, contained, handed_off, abandoned, users, returning in run(_KPIS):
        median = statistics.median(first_responses[(provider, bot)]) if first_responses[(provider, bot)] else None
        data.bot_kpis.append(
            BotKpis(
                provider,
                bot,
                int(conversations),
                _rate(contained),
                _rate(handed_off),
                float(abandoned),
                median,
                int(users),
                int(returning),
            )
        )
    data.outcome_trend = [(_day(day), _rate(c), _rate(h)) for day, c, h in run(_OUTCOME_TREND)]
    data.knowledge = [(p, b, str(k), int(c), int(n), last) for p, b, k, c, n, last in run(_KNOWLEDGE)]
    for day, provider, model, p50, p95 in run(_LATENCY_DAILY):
        data.latency_daily.setdefault((provider, model), {})[_day(day)] = (
            _rate(p50),
            None if p95 is None else int(p95),
        )
    for provider, model, latency in run(_LATENCIES):
        data.latencies.setdefault((provider, model), []).append(int(latency))
    data.audience = [(p, c, d, int(n)) for p, c, d, n in run(_AUDIENCE)]


def nearest_rank(values: list[int], percentile: int) -> int | None:
    """The nearest-rank percentile (the value at rank ceil(p/100 · n)), as the model_latency view defines it."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[-(-percentile * len(ordered) // 100) - 1]


def percentiles(values: list[float]) -> dict[int, float]:
    """The ``PERCENTILES`` of ``values`` (inclusive method); empty when there are none."""
    if not values:
        return {}
    if len(values) == 1:
        return dict.fromkeys(PERCENTILES, values[0])
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return {p: cuts[p - 1] for p in PERCENTILES}


def busiest_days(data: ReportData) -> list[tuple[date, int, int]]:
    """``(day, messages, active conversations)`` of the busiest days, busiest first."""
    totals: dict[date, int] = defaultdict(int)
    for per_day in data.daily.values():
        for day, messages in per_day.items():
            totals[day] += messages
    ranked = sorted(totals.items(), key=lambda item: (-item[1], item[0]))[:BUSIEST_DAYS]
    return [(day, messages, data.daily_conversations.get(day, 0)) for day, messages in ranked]
