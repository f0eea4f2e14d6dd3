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
_HOURS = """
SELECT provider, EXTRACT(HOUR FROM created_at AT TIME ZONE 'UTC') AS hour, COUNT(*) AS messages
FROM messages GROUP BY provider, EXTRACT(HOUR FROM created_at AT TIME ZONE 'UTC')
"""


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

    def coverage(self) -> str:
        """``Messages from … to …; last load at …`` (UTC)."""
        def when(moment: datetime | None) -> str:
            return f"{moment:%Y-%m-%d %H:%M}" if moment else "unknown"

        return (
            f"Messages from {when(self.first_message)} to {when(self.last_message)} UTC; "
            f"last load at {when(self.last_load)} UTC."
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
        loads = client.make_qualified_table_name("_dlt_loads")
        found = client.execute_sql(f"SELECT MAX(inserted_at) FROM {loads} WHERE status = 0") or [[None]]
        data.last_load = found[0][0]
    return data


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

    draw("Daily messages per provider", daily)
    draw("Distribution of response times", responses)
    draw("Distribution of conversation lengths", lengths)
    draw("Activity by hour of day", hours)
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
"""


def render_html(data: ReportData, dataset: str, generated_at: datetime) -> str:
    """The whole report as one self-contained HTML document."""
    parts = [
        f"<h1>chatsync report</h1><p>Dataset <code>{html.escape(dataset)}</code>, "
        f"generated {generated_at:%Y-%m-%d %H:%M} UTC. {html.escape(data.coverage())}</p>",
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
