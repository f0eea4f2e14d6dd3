"""The report's charts, drawn with matplotlib into inline SVG: one function per chart."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

from .data import ReportData, percentiles


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

    def draw(title: str, paint: Callable[[Any, ReportData], None]) -> None:
        figure, axes = pyplot.subplots(figsize=(12, 3.6))  # the page stretches it to its width
        paint(axes, data)
        axes.set_title(title)
        axes.grid(alpha=0.3)
        drawn[title] = _svg(figure)
        pyplot.close(figure)

    draw("Daily messages per provider", paint_daily)
    draw("Distribution of response times", paint_responses)
    draw("Distribution of conversation lengths", paint_lengths)
    draw("Activity by hour of day", paint_hours)
    if data.outcome_trend:
        draw("Containment and handoff per day", paint_outcomes)
    if data.latency_daily:
        draw("Model latency per day (p50 solid, p95 dashed)", paint_latency)
    if data.audience:
        draw("Conversations by country and device", paint_audience)
    if data.asked is not None and data.asked.days:
        draw("Top topics: conversations per day (UTC)", paint_topic_trend)
    return drawn


def legend(axes: Any, **options: Any) -> None:
    """The legend beside the plot, never over its bars or lines."""
    axes.legend(loc="upper left", bbox_to_anchor=(1.01, 1), borderaxespad=0, frameon=False, **options)


def paint_daily(axes: Any, data: ReportData) -> None:
    """Messages per day, one line per provider."""
    for provider, per_day in sorted(data.daily.items()):
        days = sorted(per_day)
        axes.plot(days, [per_day[d] for d in days], marker="o", markersize=3, label=provider)
    axes.set_ylabel("messages")
    legend(axes)
    axes.figure.autofmt_xdate()


def paint_responses(axes: Any, data: ReportData) -> None:
    """Seconds to reply, stacked by provider, clipped at p99."""
    providers = sorted(data.response_seconds)
    every = [v for p in providers for v in data.response_seconds[p]]
    ceiling = percentiles(every).get(99, 0.0) or max(every, default=1.0)
    clipped = [[min(v, ceiling) for v in data.response_seconds[p]] for p in providers]
    axes.hist(clipped, bins=30, range=(0, ceiling), stacked=True, label=providers)
    axes.set_xlabel(f"seconds to reply (clipped at p99: the last bar holds {ceiling:.0f} s and over)")
    axes.set_ylabel("replies")
    _explain_instant_replies(axes, every)
    legend(axes)


def _explain_instant_replies(axes: Any, seconds: list[float]) -> None:
    """Names the first bar's peak: replies stamped in the user's own second (instant bots, 1-second timestamps)."""
    instant = sum(1 for value in seconds if value < 1)
    if not seconds or instant < 0.05 * len(seconds):
        return
    text = f"{instant / len(seconds):.0%} of replies came within the same second"
    place = {"xycoords": ("data", "axes fraction"), "xytext": (12, -4), "textcoords": "offset points"}
    axes.annotate(text, xy=(0.5, 0.97), va="top", fontsize="small", **place)


def paint_lengths(axes: Any, data: ReportData) -> None:
    """Messages per conversation, stacked by provider."""
    providers = sorted(data.lengths)
    axes.hist([data.lengths[p] for p in providers], bins=30, stacked=True, label=providers)
    axes.set_xlabel("messages per conversation")
    axes.set_ylabel("conversations")
    legend(axes)


def paint_hours(axes: Any, data: ReportData) -> None:
    """Messages by hour of day (UTC), stacked by provider."""
    bottom = [0] * 24
    for provider, per_hour in sorted(data.hours.items()):
        counts = [per_hour.get(h, 0) for h in range(24)]
        axes.bar(range(24), counts, bottom=bottom, label=provider)
        bottom = [b + c for b, c in zip(bottom, counts, strict=True)]
    axes.set_xlabel("hour of day (UTC)")
    axes.set_ylabel("messages")
    axes.set_xticks(range(0, 24, 2))
    legend(axes)


def paint_outcomes(axes: Any, data: ReportData) -> None:
    """Containment and handoff rates per day."""
    days = [day for day, _, _ in data.outcome_trend]
    contained = [c for _, c, _ in data.outcome_trend]
    handed_off = [h for _, _, h in data.outcome_trend]
    for label, rates in (("contained", contained), ("handed off", handed_off)):
        axes.plot(days, [None if r is None else 100 * r for r in rates], marker="o", markersize=3, label=label)
    axes.set_ylabel("% of conversations with a user message")
    axes.set_ylim(0, 100)
    legend(axes)
    axes.figure.autofmt_xdate()


def paint_latency(axes: Any, data: ReportData) -> None:
    """Model latency per day: p50 solid, p95 dashed."""
    for (provider, model), per_day in sorted(data.latency_daily.items()):
        days, name = sorted(per_day), f"{provider} {model}"
        line = axes.plot(days, [per_day[d][0] for d in days], marker="o", markersize=3, label=f"{name} p50")
        p95 = [per_day[d][1] for d in days]
        axes.plot(days, p95, linestyle="--", color=line[0].get_color(), label=f"{name} p95")
    axes.set_ylabel("latency (ms)")
    legend(axes, fontsize="small")
    axes.figure.autofmt_xdate()


def paint_audience(axes: Any, data: ReportData) -> None:
    """Conversations by country, stacked by device type."""
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
    legend(axes)


def paint_topic_trend(axes: Any, data: ReportData) -> None:
    """The top topics' conversations per day, one line each, named by their labels."""
    assert data.asked is not None
    labels = {t["topic_id"]: t["label"] or t["topic_id"] for t in data.asked.topics}
    for topic_id, days in data.asked.days.items():
        if days:
            axes.plot(
                [d for d, _, _ in days], [n for _, n, _ in days], marker=".", label=labels.get(topic_id, topic_id)
            )
    axes.set_ylabel("conversations")
    legend(axes, fontsize="small")
