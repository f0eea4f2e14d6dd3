"""The report's tables: volume, responses, busiest days and the chatbot KPIs, for the terminal and HTML."""

from __future__ import annotations

import statistics

from rich.console import Console
from rich.table import Table

from .asked import asked_sections
from .data import BUSIEST_DAYS, PERCENTILES, ReportData, busiest_days, nearest_rank, percentiles
from .table import Section, share

__all__ = ["Section", "print_report_data", "sections", "share"]


def sections(data: ReportData) -> list[Section]:
    """Volume and abandoned rate per provider and bot, response-time percentiles, busiest days."""
    volume = [[p, data.bot(p, b), f"{c:,}", f"{m:,}", f"{m / c:.1f}", f"{u / c:.1%}"] for p, b, c, m, u in data.volume]
    responses = []
    for provider, values in sorted(data.response_seconds.items()):
        cuts = percentiles(values)
        responses.append([provider, f"{len(values):,}", *(f"{cuts[p]:.1f}" for p in PERCENTILES)])
    days = [[d.isoformat(), f"{m:,}", f"{c:,}"] for d, m, c in busiest_days(data)]
    return [
        Section(
            "volume per provider and bot",
            ["provider", "bot", "conversations", "messages", "msgs/conv", "abandoned"],
            volume,
            2,
            {
                "conversations": "conversations with at least one message",
                "messages": "messages of every role",
                "msgs/conv": "messages per conversation, on average",
                "abandoned": (
                    "share of conversations ending on a user message nobody answered (a human's takeover is handed off)"
                ),
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
        *asked_sections(data.asked, data.bot),
    ]


def chatbot_sections(data: ReportData) -> list[Section]:
    """KPIs per bot, the top knowledge-base documents, model latency and the audience (— where not sent)."""
    kpis = [
        [
            k.provider,
            data.bot(k.provider, k.bot_id),
            f"{k.conversations:,}",
            share(k.containment),
            share(k.handoff),
            share(k.abandoned),
            "—" if k.median_first_response is None else f"{k.median_first_response:.1f}",
            f"{k.returning_users:,} of {k.users:,}" if k.users else "—",
        ]
        for k in data.bot_kpis
    ]
    knowledge = [
        [p, data.bot(p, b), k, f"{c:,}", f"{n:,}", f"{last:%Y-%m-%d}" if last else "—"]
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
            ["provider", "bot", "conversations", "contained", "handed off", "abandoned", "first reply s", "returning"],
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


def print_report_data(data: ReportData, console: Console) -> None:
    """The terminal summary: volume, abandoned rate, response-time percentiles, busiest days."""
    if data.empty:
        console.print("nothing loaded yet: run [bold]chatsync run[/] first")
        return
    for section in sections(data):
        console.print(_rich_table(section))
