"""The self-contained HTML report: a KPI strip, the tables with their meanings, the charts as inline SVG."""

from __future__ import annotations

import html
from datetime import datetime
from pathlib import Path

from sources.common.timeutil import utc_stamp

from .charts import charts
from .data import ReportData
from .sections import Section, sections, share


def _meanings(section: Section) -> str:
    if not section.meanings:
        return ""
    items = "".join(f"<dt>{html.escape(k)}</dt><dd>{html.escape(v)}</dd>" for k, v in section.meanings.items())
    return f'<dl class="meanings">{items}</dl>'


def _html_table(section: Section) -> str:
    def cell(row: int, index: int, value: str) -> str:
        css = ' class="text"' if index < section.text_columns else ""
        shown = html.escape(value)
        if index == 0 and row in section.links:
            shown = f'<a href="{html.escape(EXPLORE + section.links[row])}">{shown}</a>'
        return f"<td{css}>{shown}</td>"

    head = "".join(f"<th>{html.escape(h)}</th>" for h in section.header)
    body = "".join(
        "<tr>" + "".join(cell(r, i, c) for i, c in enumerate(row)) + "</tr>" for r, row in enumerate(section.rows)
    )
    title = html.escape(section.title)
    table = f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
    return f"<h2>{title}</h2>{table}{_meanings(section)}"


EXPLORE = "http://127.0.0.1:8765"  # chatsync explore's default address (pipelines.cli.parser.EXPLORE_PORT)

_STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem auto;max-width:1400px;color:#222}
body{padding:0 1rem}
table{border-collapse:collapse;margin-bottom:1.5rem}th,td{padding:.3rem .8rem;border-bottom:1px solid #ddd}
td{text-align:right}td.text{text-align:left}h2::first-letter{text-transform:uppercase}
figure{margin:1rem 0}svg{max-width:100%;height:auto}figure svg{width:100%}
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
            ("contained", share(k.containment)),
            ("handed off", share(k.handoff)),
            ("abandoned", share(k.abandoned)),
            ("first reply", "—" if k.median_first_response is None else f"{k.median_first_response:.1f} s"),
            ("returning users", f"{k.returning_users:,} of {k.users:,}" if k.users else "—"),
        )
        tiles = "".join(f"<div><b>{html.escape(v)}</b><span>{html.escape(n)}</span></div>" for n, v in figures)
        name = html.escape(f"{k.provider} · {data.bot(k.provider, k.bot_id)}")
        cards.append(f'<section class="kpi"><h3>{name}</h3><div class="tiles">{tiles}</div></section>')
    return f'<h2>chatbot KPIs</h2><div class="strip">{"".join(cards)}</div>' if cards else ""


def _explore_links(data: ReportData) -> str:
    """Where to click through: chatsync explore's pages (and how to start it)."""
    if data.empty:
        return ""
    links = [("conversations", "/conversations"), ("failed ones", "/conversations?outcome=failed")]
    if data.asked is not None:
        links += [("topics", "/topics"), ("knowledge gaps", "/gaps")]
    anchors = ", ".join(f'<a href="{EXPLORE}{html.escape(path)}">{html.escape(name)}</a>' for name, path in links)
    return (
        f'<p class="explore">Read the conversations behind these figures: {anchors}. '
        "The links open <code>chatsync explore</code>; start it with <code>chatsync explore</code> "
        "(it serves http://127.0.0.1:8765/ until Ctrl-C).</p>"
    )


def render_html(data: ReportData, dataset: str, generated_at: datetime) -> str:
    """The whole report as one self-contained HTML document."""
    parts = [
        f"<h1>chatsync report</h1><p>Dataset <code>{html.escape(dataset)}</code>, "
        f"generated {utc_stamp(generated_at)}. {html.escape(data.coverage())}</p>",
        kpi_strip(data),
        *(_html_table(section) for section in sections(data)),
        _explore_links(data),
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
