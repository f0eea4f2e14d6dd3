"""The explorer in a real headless Chromium (Debian's): search, filter, read, export, and markup that never runs.

Playwright drives Debian's ``chromium`` (``executable_path``): its own browser download cannot be
reached from here. Screenshots of each page go to the test's temporary folder, or to the folder
``CHATSYNC_SCREENSHOTS`` names: ``make docs-screenshots`` sets it to ``docs/assets`` for the Explore page
of the docs. The suite never writes into the checkout.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from pipelines.explorer.app import create_app
from pipelines.explorer.warehouse import Warehouse
from tests.worlds import Loaded, Parity

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

if CHROMIUM is None:
    if os.environ.get("CI"):
        pytest.fail("no chromium found: .ci/run installs Debian's chromium", pytrace=False)
    pytest.skip("needs Debian's chromium (apt-get install chromium; .ci/run installs it)", allow_module_level=True)

pytestmark = pytest.mark.browser


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def serving(app: Any) -> Iterator[str]:
    """``app`` served by uvicorn on a free loopback port; its URL."""
    import uvicorn

    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture
def served(demo: Loaded) -> Iterator[tuple[str, Loaded]]:
    """The explorer on the shared explorer world."""
    with serving(create_app(Warehouse("duckdb", "chat_history", duckdb_path=str(demo.warehouse)))) as url:
        yield url, demo


@pytest.fixture
def screenshots(tmp_path: Path) -> Path:
    """Where the screenshots go: ``CHATSYNC_SCREENSHOTS`` (``make docs-screenshots``), else a temporary folder."""
    folder = Path(os.environ.get("CHATSYNC_SCREENSHOTS") or tmp_path / "screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def support_leads_path(url: str, screenshots: Path | None, downloads: Path) -> None:
    """Overview → a knowledge gap → its failed conversations → a transcript → the next → back → CSV."""
    from playwright.sync_api import sync_playwright

    def shot(page: Any, name: str, full: bool = False) -> None:
        if screenshots is not None:
            page.screenshot(path=str(screenshots / f"explore-{name}.png"), full_page=full)

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = browser.new_page(viewport={"width": 1400, "height": 900}, accept_downloads=True)
        page.goto(url + "/")
        assert page.locator("h1").inner_text() == "Overview"
        assert page.locator("time[title$='UTC']").count() > 0, "times as '… ago', the exact UTC time on hover"
        shot(page, "overview", full=True)

        gap = page.locator("section", has_text="Knowledge gaps to fill first").locator("li a").first
        said = int(re.search(r": (\d+) failed", gap.locator("xpath=..").inner_text()).group(1))  # type: ignore[union-attr]
        gap.click()
        assert "outcome=failed" in page.url and "topic=" in page.url
        count = page.locator("p.count b").inner_text()
        assert int(count.replace(",", "")) == said, "the gap's figure is the list's length"
        assert page.locator("select[name=outcome] option:checked").inner_text().startswith("failed")
        outcomes = {o.inner_text() for o in page.locator("table.list span.outcome").all()}
        assert outcomes <= {"unanswered", "handed off"} and outcomes
        results = page.url
        shot(page, "gap-conversations")

        page.locator("table.list tbody tr td.question a").first.click()
        assert page.locator("text=1 in the list").count() == 1
        assert page.locator(".message.marked").count() >= 1, "the fallback or the handoff is marked"
        shot(page, "transcript", full=True)
        page.click("a[rel=next]")
        assert page.locator("text=2 in the list").count() == 1
        page.locator("a", has_text="back to the results").first.click()
        assert page.url == results

        with page.expect_download() as download:
            page.click("text=CSV of all")
        saved = downloads / "conversations.csv"
        download.value.save_as(saved)
        raw = saved.read_bytes()
        assert raw.startswith(b"\xef\xbb\xbf")
        lines = raw.decode("utf-8-sig").splitlines()
        assert lines[0].startswith("provider,bot,bot_id,conversation_id") and len(lines) == said + 1

        page.goto(url + "/conversations")
        page.fill("input[name=q]", "contrasena")
        page.click("button[type=submit]")
        assert "q=contrasena" in page.url
        assert page.locator("div.snippet mark").count() > 0, "the match shown and highlighted"
        assert "contraseña" in page.locator("div.snippet mark").first.inner_text().lower()
        shot(page, "search")

        page.goto(url + "/topics?sort=failed")
        shot(page, "topics")
        page.click("table.list tbody tr:first-child td:first-child a")
        assert page.locator("svg.trend rect").count() > 0, "a trend chart, inline and offline"
        shot(page, "topic", full=True)
        browser.close()


def test_a_support_lead_goes_from_a_gap_to_its_conversations_and_back_on_duckdb(
    served: tuple[str, Loaded], screenshots: Path, tmp_path: Path
) -> None:
    url, _ = served
    support_leads_path(url, screenshots, tmp_path)
    for name in ("overview", "gap-conversations", "transcript", "search", "topics", "topic"):
        assert (screenshots / f"explore-{name}.png").stat().st_size > 10_000, name


@pytest.mark.slow
def test_the_same_path_on_postgres(parity: Parity, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from pipelines.insights.refresh import refresh_insights
    from pipelines.insights.settings import InsightsSettings

    pipeline, uri = parity.postgres(tmp_path / "p", "browser_pg", monkeypatch)
    refresh_insights(pipeline, InsightsSettings())
    with serving(create_app(Warehouse("postgres", parity.dataset, postgres_dsn=uri))) as url:
        support_leads_path(url, None, tmp_path)


def test_markup_in_a_message_never_runs(served: tuple[str, Loaded]) -> None:
    from playwright.sync_api import sync_playwright

    url, loaded = served
    provider, cid = loaded.rows(
        "SELECT provider, conversation_id FROM chat_history.messages WHERE content LIKE '%<script>%' LIMIT 1"
    )[0]
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = browser.new_page()
        page.goto(f"{url}/conversations/{provider}/{cid}")
        assert page.evaluate("document.title") != "pwned", "the planted <script> never ran"
        assert "<script>document.title='pwned'</script>" in page.locator("ol.transcript").inner_text()
        browser.close()
