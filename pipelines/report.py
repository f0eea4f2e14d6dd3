"""``chatsync report``: a terminal summary of the warehouse, and a self-contained HTML report.

Every figure comes from the analytics views, through SQL transpiled for the destination, so the
report reads DuckDB, Postgres and BigQuery alike. Charts are drawn with matplotlib as inline SVG:
the HTML file has no script and fetches nothing, so it opens offline.
"""

from __future__ import annotations

import html
import io
import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, Final

import dlt
from rich.console import Console
from rich.table import Table

from .analytics import destination_dialect, transpile
from .workspace import utc_stamp

PERCENTILES: Final = (50, 90, 99)
BUSIEST_DAYS: Final = 5

_VOLUME = """
SELECT provider, bot_id, COUNT(*) AS conversations, SUM(message_count) AS messages,
       SUM(CASE WHEN unanswered THEN 1 ELSE 0 END) AS unanswered
FROM conversation_metrics GROUP BY provider, bot_id ORDER BY provider, bot_id
"""
_RESPONSES = "SELECT provider, response_seconds FROM response_times WHERE response_seconds IS NOT NULL"
_LENGTHS = "SELECT provider, message_count FROM conversation_metrics"
_DAILY = """
SELECT day, provider, SUM(messages) AS messages, SUM(active_conversations) AS conversations
FROM daily_activity GROUP BY day, provider ORDER BY day, provider
"""
_SPAN = "SELECT MIN(created_at), MAX(created_at) FROM messages"
_ASKED = "m.user_messages > 0"  # containment and handoff count conversations with a user message
_KPIS = f"""
SELECT o.provider, o.bot_id, COUNT(*) AS conversations,
       AVG(CASE WHEN {_ASKED} THEN CASE WHEN o.contained THEN 1.0 WHEN NOT o.contained THEN 0.0 END END),
       AVG(CASE WHEN {_ASKED} THEN CASE WHEN o.handed_off THEN 1.0 WHEN NOT o.handed_off THEN 0.0 END END),
       AVG(CASE WHEN m.unanswered THEN 1.0 ELSE 0.0 END),
       COUNT(DISTINCT o.user_key), COUNT(DISTINCT CASE WHEN o.returning_user THEN o.user_key END)
FROM conversation_outcomes AS o
JOIN conversation_metrics AS m ON m.provider = o.provider AND m.conversation_id = o.conversation_id
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
JOIN conversation_metrics AS m ON m.provider = o.provider AND m.conversation_id = o.conversation_id
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
    unanswered: float
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


def collect(pipeline: dlt.Pipeline) -> ReportData:
    """Reads every figure of the report from the pipeline's dataset.

    Args:
        pipeline: A pipeline whose views exist (``refresh_views``).

    Returns:
        The figures.
    """
    dialect, dataset = destination_dialect(pipeline), pipeline.dataset_name
    data = ReportData()
    with pipeline.sql_client() as client:

        def run(sql: str) -> list[tuple[Any, ...]]:
            return [tuple(row) for row in client.execute_sql(transpile(sql, dialect, dataset)) or []]

        data.volume = [(p, b, int(c), int(m), int(u)) for p, b, c, m, u in run(_VOLUME)]
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
        loads = client.make_qualified_table_name("_dlt_loads")
        found = client.execute_sql(f"SELECT MAX(inserted_at) FROM {loads} WHERE status = 0") or [[None]]
        data.last_load = found[0][0]
    return data


def _rate(value: Any) -> float | None:
    return None if value is None else float(value)


def _collect_chatbot_figures(data: ReportData, run: Any) -> None:
    """The chatbot views' figures: KPIs per bot, the outcome trend, knowledge, latency, audience."""
    first_responses: dict[tuple[str, str | None], list[float]] = defaultdict(list)
    for provider, bot, seconds in run(_FIRST_RESPONSES):
        first_responses[(provider, bot)].append(float(seconds))
    for provider, bot, conversations, contained, handed_off, unanswered, users, returning in run(_KPIS):
        median = statistics.median(first_responses[(provider, bot)]) if first_responses[(provider, bot)] else None
        data.bot_kpis.append(
            BotKpis(
                provider,
                bot,
                int(conversations),
                _rate(contained),
                _rate(handed_off),
                float(unanswered),
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


@dataclass(frozen=True)
class Section:
    """One summary table, shown in the terminal and in the HTML report alike."""

    title: str
    header: list[str]
    rows: list[list[str]]
    text_columns: int = 1  # leading columns that are text, not numbers
    meanings: dict[str, str] = field(default_factory=dict)  # column → what it means, shown in HTML


def sections(data: ReportData) -> list[Section]:
    """Volume and unanswered rate per provider and bot, response-time percentiles, busiest days."""
    volume = [[p, b or "—", f"{c:,}", f"{m:,}", f"{m / c:.1f}", f"{u / c:.1%}"] for p, b, c, m, u in data.volume]
    responses = []
    for provider, values in sorted(data.response_seconds.items()):
        cuts = percentiles(values)
        responses.append([provider, f"{len(values):,}", *(f"{cuts[p]:.1f}" for p in PERCENTILES)])
    days = [[d.isoformat(), f"{m:,}", f"{c:,}"] for d, m, c in busiest_days(data)]
    return [
        Section(
            "volume per provider and bot",
            ["provider", "bot", "conversations", "messages", "msgs/conv", "unanswered"],
            volume,
            2,
            {
                "conversations": "conversations with at least one message",
                "messages": "messages of every role",
                "msgs/conv": "messages per conversation, on average",
                "unanswered": "share of conversations whose last message is the user's",
            },
        ),
        Section(
            "response time (seconds, user message → assistant reply)",
            ["provider", "replies", *(f"p{p}" for p in PERCENTILES)],
            responses,
            1,
            {
                "replies": "assistant replies to a user message (times only first seen are left out)",
                **{f"p{p}": f"{p}% of replies came within this many seconds" for p in PERCENTILES},
            },
        ),
        Section(
            f"busiest {BUSIEST_DAYS} days (UTC)",
            ["day", "messages", "active conversations"],
            days,
            1,
            {"active conversations": "conversations with a message that day"},
        ),
        *chatbot_sections(data),
    ]


def _share(value: float | None) -> str:
    return "—" if value is None else f"{value:.1%}"


def chatbot_sections(data: ReportData) -> list[Section]:
    """KPIs per bot, the top knowledge-base documents, model latency and the audience (— where not sent)."""
    kpis = [
        [
            k.provider,
            k.bot_id or "—",
            f"{k.conversations:,}",
            _share(k.containment),
            _share(k.handoff),
            _share(k.unanswered),
            "—" if k.median_first_response is None else f"{k.median_first_response:.1f}",
            f"{k.returning_users:,} of {k.users:,}" if k.users else "—",
        ]
        for k in data.bot_kpis
    ]
    knowledge = [
        [p, b or "—", k, f"{c:,}", f"{n:,}", f"{last:%Y-%m-%d}" if last else "—"]
        for p, b, k, c, n, last in data.knowledge
    ]
    latency = [
        [provider, model, f"{len(values):,}", f"{statistics.median(values):.0f}", f"{nearest_rank(values, 95)}"]
        for (provider, model), values in sorted(data.latencies.items())
    ]
    audience = [[p, c or "—", d or "—", f"{n:,}"] for p, c, d, n in data.audience[:15]]
    return [
        Section(
            "chatbot KPIs per bot",
            ["provider", "bot", "conversations", "contained", "handed off", "unanswered", "first reply s", "returning"],
            kpis,
            2,
            {
                "contained": "conversations the bot handled with no handoff to a human, of those with a user message",
                "handed off": "conversations with an agent message or the provider's handoff flag, "
                "of those with a user message",
                "first reply s": "median seconds from the first user message to the first assistant reply",
                "returning": "users who came back to the same bot, of the users with a known id",
                "—": "the provider sends no such signal",
            },
        ),
        Section(
            "top knowledge-base documents",
            ["provider", "bot", "knowledge id", "citations", "conversations", "last cited"],
            knowledge,
            3,
            {"citations": "assistant messages citing the document"},
        ),
        Section(
            "model latency (ms)",
            ["provider", "model", "replies", "p50", "p95"],
            latency,
            2,
            {"p95": "nearest rank: 95% of replies took at most this long"},
        ),
        Section(
            "audience by country and device",
            ["provider", "country", "device", "conversations"],
            audience,
            3,
            {"device": "mobile, tablet, desktop, bot or other, from the user agent"},
        ),
    ]


def _rich_table(section: Section) -> Table:
    table = Table(title=section.title)
    for index, column in enumerate(section.header):
        table.add_column(column, justify="left" if index < section.text_columns else "right")
    for row in section.rows:
        table.add_row(*row)
    return table


def print_report(data: ReportData, console: Console) -> None:
    """The terminal summary: volume, unanswered rate, response-time percentiles, busiest days."""
    if data.empty:
        console.print("nothing loaded yet: run [bold]chatsync run[/] first")
        return
    for section in sections(data):
        console.print(_rich_table(section))


def _svg(figure: Any) -> str:
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", bbox_inches="tight")
    text = buffer.getvalue()
    return text[text.index("<svg") :]  # drop the XML prolog and doctype: inline SVG


def charts(data: ReportData) -> dict[str, str]:
    """The report's charts as inline SVG, by title."""
    import matplotlib

    matplotlib.use("Agg")
    matplotlib.rcParams["svg.hashsalt"] = "chatsync"  # stable ids: the same data, the same file
    from matplotlib import pyplot

    drawn: dict[str, str] = {}

    def draw(title: str, paint: Any) -> None:
        figure, axes = pyplot.subplots(figsize=(9, 3.6))
        paint(axes)
        axes.set_title(title)
        axes.grid(alpha=0.3)
        drawn[title] = _svg(figure)
        pyplot.close(figure)

    def daily(axes: Any) -> None:
        for provider, per_day in sorted(data.daily.items()):
            days = sorted(per_day)
            axes.plot(days, [per_day[d] for d in days], marker="o", markersize=3, label=provider)
        axes.set_ylabel("messages")
        axes.legend()
        axes.figure.autofmt_xdate()

    def responses(axes: Any) -> None:
        providers = sorted(data.response_seconds)
        every = [v for p in providers for v in data.response_seconds[p]]
        ceiling = percentiles(every).get(99, 0.0) or max(every, default=1.0)
        clipped = [[min(v, ceiling) for v in data.response_seconds[p]] for p in providers]
        axes.hist(clipped, bins=30, range=(0, ceiling), stacked=True, label=providers)
        axes.set_xlabel(f"seconds to reply (clipped at p99: the last bar holds {ceiling:.0f} s and over)")
        axes.set_ylabel("replies")
        axes.legend()

    def lengths(axes: Any) -> None:
        providers = sorted(data.lengths)
        axes.hist([data.lengths[p] for p in providers], bins=30, stacked=True, label=providers)
        axes.set_xlabel("messages per conversation")
        axes.set_ylabel("conversations")
        axes.legend()

    def hours(axes: Any) -> None:
        bottom = [0] * 24
        for provider, per_hour in sorted(data.hours.items()):
            counts = [per_hour.get(h, 0) for h in range(24)]
            axes.bar(range(24), counts, bottom=bottom, label=provider)
            bottom = [b + c for b, c in zip(bottom, counts, strict=True)]
        axes.set_xlabel("hour of day (UTC)")
        axes.set_ylabel("messages")
        axes.set_xticks(range(0, 24, 2))
        axes.legend()

    def outcomes(axes: Any) -> None:
        days = [day for day, _, _ in data.outcome_trend]
        contained = [c for _, c, _ in data.outcome_trend]
        handed_off = [h for _, _, h in data.outcome_trend]
        for label, rates in (("contained", contained), ("handed off", handed_off)):
            axes.plot(days, [None if r is None else 100 * r for r in rates], marker="o", markersize=3, label=label)
        axes.set_ylabel("% of conversations with a user message")
        axes.set_ylim(0, 100)
        axes.legend()
        axes.figure.autofmt_xdate()

    def latency(axes: Any) -> None:
        for (provider, model), per_day in sorted(data.latency_daily.items()):
            days, name = sorted(per_day), f"{provider} {model}"
            line = axes.plot(days, [per_day[d][0] for d in days], marker="o", markersize=3, label=f"{name} p50")
            p95 = [per_day[d][1] for d in days]
            axes.plot(days, p95, linestyle="--", color=line[0].get_color(), label=f"{name} p95")
        axes.set_ylabel("latency (ms)")
        axes.legend(fontsize="small", ncols=2)
        axes.figure.autofmt_xdate()

    def audience(axes: Any) -> None:
        countries = sorted({c or "unknown" for _, c, _, _ in data.audience})
        devices = sorted({d or "unknown" for _, _, d, _ in data.audience})
        bottom = [0] * len(countries)
        for device in devices:
            counts = [
                sum(n for _, c, d, n in data.audience if (c or "unknown") == country and (d or "unknown") == device)
                for country in countries
            ]
            axes.bar(countries, counts, bottom=bottom, label=device)
            bottom = [b + c for b, c in zip(bottom, counts, strict=True)]
        axes.set_ylabel("conversations")
        axes.legend()

    draw("Daily messages per provider", daily)
    draw("Distribution of response times", responses)
    draw("Distribution of conversation lengths", lengths)
    draw("Activity by hour of day", hours)
    if data.outcome_trend:
        draw("Containment and handoff per day", outcomes)
    if data.latency_daily:
        draw("Model latency per day (p50 solid, p95 dashed)", latency)
    if data.audience:
        draw("Conversations by country and device", audience)
    return drawn


def _meanings(section: Section) -> str:
    if not section.meanings:
        return ""
    items = "".join(f"<dt>{html.escape(k)}</dt><dd>{html.escape(v)}</dd>" for k, v in section.meanings.items())
    return f'<dl class="meanings">{items}</dl>'


def _html_table(section: Section) -> str:
    def cell(index: int, value: str) -> str:
        css = ' class="text"' if index < section.text_columns else ""
        return f"<td{css}>{html.escape(value)}</td>"

    head = "".join(f"<th>{html.escape(h)}</th>" for h in section.header)
    body = "".join("<tr>" + "".join(cell(i, c) for i, c in enumerate(row)) + "</tr>" for row in section.rows)
    title = html.escape(section.title)
    table = f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
    return f"<h2>{title}</h2>{table}{_meanings(section)}"


_STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem auto;max-width:1000px;color:#222}
table{border-collapse:collapse;margin-bottom:1.5rem}th,td{padding:.3rem .8rem;border-bottom:1px solid #ddd}
td{text-align:right}td.text{text-align:left}h2::first-letter{text-transform:uppercase}
figure{margin:1rem 0}svg{max-width:100%;height:auto}
dl.meanings{font-size:.85rem;color:#555;display:grid;grid-template-columns:max-content 1fr;gap:.1rem 1rem}
dl.meanings dt{font-weight:600}dl.meanings dd{margin:0}
.strip{display:flex;flex-wrap:wrap;gap:.8rem;margin-bottom:1.5rem}
.kpi{border:1px solid #ddd;border-radius:6px;padding:.5rem .8rem}.kpi h3{font-size:.85rem;margin:0 0 .4rem;color:#555}
.tiles{display:flex;gap:1rem}.tiles div{display:flex;flex-direction:column}.tiles b{font-size:1.1rem}
.tiles span{font-size:.75rem;color:#666}
"""


def kpi_strip(data: ReportData) -> str:
    """One card per bot with its five KPIs, at the top of the HTML report (— where not sent)."""
    cards = []
    for k in data.bot_kpis:
        figures = (
            ("contained", _share(k.containment)),
            ("handed off", _share(k.handoff)),
            ("unanswered", _share(k.unanswered)),
            ("first reply", "—" if k.median_first_response is None else f"{k.median_first_response:.1f} s"),
            ("returning users", f"{k.returning_users:,} of {k.users:,}" if k.users else "—"),
        )
        tiles = "".join(f"<div><b>{html.escape(v)}</b><span>{html.escape(n)}</span></div>" for n, v in figures)
        name = html.escape(f"{k.provider} · {k.bot_id or '—'}")
        cards.append(f'<section class="kpi"><h3>{name}</h3><div class="tiles">{tiles}</div></section>')
    return f'<h2>chatbot KPIs</h2><div class="strip">{"".join(cards)}</div>' if cards else ""


def render_html(data: ReportData, dataset: str, generated_at: datetime) -> str:
    """The whole report as one self-contained HTML document."""
    parts = [
        f"<h1>chatsync report</h1><p>Dataset <code>{html.escape(dataset)}</code>, "
        f"generated {utc_stamp(generated_at)}. {html.escape(data.coverage())}</p>",
        kpi_strip(data),
        *(_html_table(section) for section in sections(data)),
        *(f"<figure>{svg}</figure>" for svg in charts(data).values()),
    ]
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>chatsync report</title>'
        f"<style>{_STYLE}</style></head><body>{''.join(parts)}</body></html>"
    )


def write_html(data: ReportData, path: Path, dataset: str, generated_at: datetime) -> Path:
    """Writes the HTML report.

    Args:
        data: From ``collect``.
        path: Where to write.
        dataset: Named in the heading.
        generated_at: Shown in the heading.

    Returns:
        The absolute path written.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_html(data, dataset, generated_at), encoding="utf-8")
    return path.resolve()
