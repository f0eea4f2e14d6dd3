"""``chatsync report``: terminal summary, offline HTML, and a real headless browser rendering it."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from pipelines.cli import main
from pipelines.engine.target import Target
from pipelines.report.data import percentiles
from simulator import Corpus, Simulator
from tests import reference
from tests.utils import chatbot_truth, truth_records
from tests.worlds import VIEWS_WORLD, Loaded, engine_world, load_all, private_copy

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
HEIGHT = 6000  # tall enough for the whole report, the chatbot charts at its end included


ReportWorld = tuple[Path, dict[str, list[float]]]  # the copy's folder, the true response times per provider
CHATBOT_TRUTH: dict[str, Any] = {}  # the loaded corpus' chatbot ground truth (records, conversations)
NEW_CHARTS = (
    "Containment and handoff per day",
    "Model latency per day (p50 solid, p95 dashed)",
    "Conversations by country and device",
)


@pytest.fixture(scope="session")  # not module: xdist may interleave other modules, which would copy it again
def report_world(tmp_path_factory: pytest.TempPathFactory) -> ReportWorld:
    """A copy of the views world (every provider loaded), and the true response times per provider."""
    root = private_copy(engine_world(tmp_path_factory, VIEWS_WORLD), tmp_path_factory.mktemp("report") / "world")
    with Simulator(VIEWS_WORLD.corpus()) as sim:
        records, _ = truth_records(sim)
        CHATBOT_TRUTH["records"], CHATBOT_TRUTH["conversations"] = chatbot_truth(sim)
        CHATBOT_TRUTH["owlbot_names"] = {c.bot_id: c.bot_name for c in sim.truth("owlbot").conversations}
    truth: dict[str, list[float]] = {}
    for (provider, _, _), seconds in reference.response_times(records).items():
        truth.setdefault(provider, []).append(seconds)
    return root, truth


def report(root: Path, monkeypatch: pytest.MonkeyPatch, *extra: str) -> int:
    monkeypatch.setenv("DESTINATION__DUCKDB__CREDENTIALS", str(root / "w.duckdb"))
    return main(["report", "--pipelines-dir", str(root / "pipelines"), *extra])


@pytest.fixture(scope="session")
def html_report(report_world: ReportWorld, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The HTML report of the loaded warehouse, written once for the tests that only read it."""
    folder = tmp_path_factory.mktemp("html")
    (folder / ".dlt").mkdir()  # a chatsync project, as every test's own folder is
    path = folder / "report.html"
    with pytest.MonkeyPatch.context() as env:
        env.chdir(folder)
        assert report(report_world[0], env, "--html", str(path)) == 0
    return path


def test_terminal_summary_shows_true_percentiles(
    report_world: ReportWorld, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    root, truth = report_world
    assert report(root, monkeypatch) == 0
    out = capsys.readouterr().out
    for title in ("volume per provider and bot", "response time", "busiest 5 days"):
        assert title in out
    for provider, values in truth.items():
        cuts = percentiles(values)
        line = next(
            line
            for line in out.splitlines()
            if line.startswith(f"│ {provider} ") and "│" in line[2:] and f"{len(values):,}" in line
        )
        assert all(f"{cuts[p]:.1f}" in line for p in (50, 90, 99)), line


def test_html_report_is_self_contained(
    report_world: ReportWorld, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    root, truth = report_world
    path = tmp_path / "out" / "report.html"
    assert report(root, monkeypatch, "--html", str(path)) == 0
    page = path.read_text(encoding="utf-8")
    assert page.count("<svg") == 7
    for title in (
        "Daily messages per provider",
        "Distribution of response times",
        "Distribution of conversation lengths",
        "Activity by hour of day",
        *NEW_CHARTS,
        "chatbot KPIs per bot",
        "top knowledge-base documents",
        "model latency (ms)",
        "audience by country and device",
    ):
        assert title in page
    assert "<script" not in page and "<link" not in page and "@import" not in page
    fetched = re.findall(r'(?:src|(?<!<a )href)\s*=\s*"(?!#|data:)([^"]*)"', page)
    assert fetched == [], "nothing is fetched: the file opens offline"
    clicked = re.findall(r'<a href="([^"]*)"', page)
    assert clicked and all(url.startswith("http://127.0.0.1:8765/") for url in clicked), "links open chatsync explore"
    assert "start it with <code>chatsync explore</code>" in page
    cuts = percentiles(truth["owlbot"])
    assert f"<td>{cuts[50]:.1f}</td>" in page
    bots = {(m.provider, m.bot_id) for m in CHATBOT_TRUTH["records"]}
    assert page.count('<section class="kpi">') == len(bots), "one KPI card per bot"


def test_report_before_any_load_is_a_usage_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert report(tmp_path, monkeypatch) == 2
    assert "nothing loaded yet" in capsys.readouterr().err


@pytest.mark.browser
@pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium (.ci/run installs it)")
def test_a_headless_browser_renders_the_charts(html_report: Path, tmp_path: Path) -> None:
    from matplotlib import image

    page, shot = html_report, tmp_path / "report.png"
    command = [
        str(CHROMIUM),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={tmp_path / 'profile'}",
        "--hide-scrollbars",
        f"--window-size=1100,{HEIGHT}",
        f"--screenshot={shot}",
        page.as_uri(),
    ]
    subprocess.run(command, check=True, capture_output=True, timeout=120)
    pixels = image.imread(str(shot))[:, :, :3]
    assert pixels.shape[:2] == (HEIGHT, 1100)
    ink = (pixels.max(axis=2) < 0.9).mean()
    colour = (pixels.max(axis=2) - pixels.min(axis=2)) > 0.3
    assert ink > 0.02, "text and axes are drawn"
    assert colour.mean() > 0.01, "the coloured series of the charts are drawn"
    # the chatbot charts come last: their coloured series fill the bottom of the page
    rows_with_colour = colour.any(axis=1).nonzero()[0]
    assert rows_with_colour.max() > HEIGHT * 0.6, "the last charts are drawn, not blank"
    bottom = colour[int(HEIGHT * 0.55) :]
    assert bottom.mean() > 0.004, "the chatbot charts' series are drawn"


def test_first_seen_times_give_no_response_percentiles(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from simulator import SimulatorSettings

    with Simulator(Corpus(seed=3, size=600), settings=SimulatorSettings(feedloop_shape="reply")) as sim:
        target = Target(pipelines_dir=str(tmp_path / "pipelines"), duckdb_path=str(tmp_path / "w.duckdb"))
        load_all(sim, target)
    assert report(tmp_path, monkeypatch) == 0
    out = capsys.readouterr().out
    response_section = out[out.index("response time") : out.index("busiest")]
    assert "owlbot" in response_section and "feedloop" not in response_section


def test_html_report_states_its_coverage_defines_columns_and_clips_outliers(
    report_world: ReportWorld, html_report: Path
) -> None:
    _, truth = report_world
    page = html_report.read_text(encoding="utf-8")
    stamp = r"2026-\d\d-\d\dT\d\d:\d\d:\d\dZ"  # chatsync's one timestamp format
    assert re.search(rf"Messages from {stamp} to {stamp}; last load at 20\d\d-\d\d-\d\dT\d\d:\d\d:\d\dZ", page)
    abandoned = (
        "share of conversations ending on a user message nobody answered (a human&#x27;s takeover is handed off)"
    )
    assert f"<dt>abandoned</dt><dd>{abandoned}</dd>" in page
    ceiling = percentiles([v for values in truth.values() for v in values])[99]
    assert f"clipped at p99: the last bar holds {ceiling:.0f} s and over" in page


def test_terminal_shows_chatbot_kpis_from_ground_truth(
    report_world: ReportWorld, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    root, _ = report_world
    assert report(root, monkeypatch) == 0
    out = capsys.readouterr().out
    for title in ("chatbot KPIs per bot", "top knowledge-base documents", "model latency", "audience by country"):
        assert title in out
    records, conversations = CHATBOT_TRUTH["records"], CHATBOT_TRUTH["conversations"]
    metrics = reference.conversation_metrics(records)
    asked: dict[str, list[bool]] = {}
    for key, outcome in reference.conversation_outcomes(records, conversations).items():
        if key[0] == "chatnode" and metrics[key]["user_messages"] > 0:
            asked.setdefault(outcome["bot_id"], []).append(bool(outcome["contained"]))
    kpis = out[out.index("chatbot KPIs per bot") : out.index("top knowledge-base documents")].splitlines()
    for bot, contained in asked.items():
        line = next(line for line in kpis if line.startswith("│ chatnode ") and bot[:8] in line)
        assert f"{sum(contained) / len(contained):.1%}" in line, line
    example = next(line for line in kpis if line.startswith("│ example_ai "))
    assert example.count("—") >= 2, "no handoff signal: containment and handoff shown as —, not 0%"
    latencies = sorted(m.latency_ms for m in records if m.model == "gpt-4o-mini" and m.latency_ms is not None)
    line = next(line for line in out.splitlines() if "gpt-4o-mini" in line)
    assert f"{len(latencies):,}" in line and str(latencies[-(-95 * len(latencies) // 100) - 1]) in line, line


def test_owlbot_bots_show_their_names_from_check_token(
    report_world: ReportWorld,
    html_report: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert report(report_world[0], monkeypatch) == 0
    out, page = capsys.readouterr().out, html_report.read_text(encoding="utf-8")
    owlbots = CHATBOT_TRUTH["owlbot_names"]
    assert owlbots and all(owlbots.values()), "the simulator names every OwlBot bot"
    for bot_id, name in owlbots.items():
        label = f"{name} ({bot_id[:8]})"
        assert label in out and f"owlbot · {label}" in page
        assert bot_id not in out, "the bare uuid gives way to the name"


def test_legends_sit_beside_the_plot_never_over_it(report_world: ReportWorld) -> None:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    from pipelines.engine.factory import reading_pipeline
    from pipelines.report import charts
    from pipelines.report.data import collect_report

    root, _ = report_world
    with reading_pipeline(Target(pipelines_dir=str(root / "pipelines"), duckdb_path=str(root / "w.duckdb"))) as p:
        assert p is not None
        data = collect_report(p)
    painters = [
        charts.paint_daily,
        charts.paint_responses,
        charts.paint_lengths,
        charts.paint_hours,
        charts.paint_outcomes,
        charts.paint_latency,
        charts.paint_audience,
    ]
    for paint in painters:
        figure, axes = pyplot.subplots(figsize=(12, 3.6))
        paint(axes, data)
        figure.canvas.draw()
        renderer = figure.canvas.get_renderer()  # type: ignore[attr-defined]
        legend, plot = axes.get_legend().get_window_extent(renderer), axes.get_window_extent(renderer)
        assert legend.x0 >= plot.x1, f"{paint.__name__}: the legend overlaps the plot"
        pyplot.close(figure)


def test_the_response_chart_names_its_same_second_peak(report_world: ReportWorld, html_report: Path) -> None:
    _, truth = report_world
    every = [v for values in truth.values() for v in values]
    share = sum(1 for v in every if v < 1) / len(every)
    assert share > 0.05, "the simulator's instant replies"
    assert f"{share:.0%} of replies came within the same second" in html_report.read_text(encoding="utf-8")


def test_the_report_of_a_warehouse_with_deletions_fits_duckdbs_memory_and_links_topics(
    demo_copy: Loaded, tmp_path: Path
) -> None:
    """The reported crash: conversations deleted at the provider, then the KPI query ran DuckDB out of its memory.

    Every query of the report now reads the read model's live rows or one view; the report finishes
    with exit 0, leaves the deleted ones out, and links each top topic and gap to the explorer.
    """
    import duckdb

    with duckdb.connect(str(demo_copy.warehouse)) as db:
        db.execute(
            "UPDATE chat_history.conversations SET deleted_at = now() WHERE conversation_id IN "
            "(SELECT conversation_id FROM chat_history.conversations ORDER BY conversation_id LIMIT 4)"
        )
    written = tmp_path / "report.html"
    assert demo_copy.chatsync("report", "--html", str(written)) == 0
    page = written.read_text(encoding="utf-8")
    assert "Top topics: conversations per day (UTC)" in page
    assert re.search(r'<a href="http://127\.0\.0\.1:8765/topics/t\d+">', page), "each top topic opens its page"
    assert re.search(r'<a href="http://127\.0\.0\.1:8765/conversations\?outcome=failed&amp;topic=t\d+">', page)
