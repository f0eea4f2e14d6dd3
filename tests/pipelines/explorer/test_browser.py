"""The explorer in a real headless Chromium (Debian's): search, filter, read, export, and markup that never runs.

Playwright drives Debian's ``chromium`` (``executable_path``): its own browser download cannot be
reached from here. Screenshots of each page go to the test's temporary folder, or to the folder
``CHATSYNC_SCREENSHOTS`` names: ``make docs-screenshots`` sets it to ``docs/assets`` for the Explore page
of the docs. The suite never writes into the checkout.
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from pipelines.explorer.app import create_app
from pipelines.explorer.warehouse import Warehouse
from tests.worlds import Loaded

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


@pytest.fixture
def served(demo: Loaded) -> Iterator[tuple[str, Loaded]]:
    """The explorer on the shared explorer world, served by uvicorn on a free loopback port."""
    import uvicorn

    app = create_app(Warehouse("duckdb", "chat_history", duckdb_path=str(demo.warehouse)))
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}", demo
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture
def screenshots(tmp_path: Path) -> Path:
    """Where the screenshots go: ``CHATSYNC_SCREENSHOTS`` (``make docs-screenshots``), else a temporary folder."""
    folder = Path(os.environ.get("CHATSYNC_SCREENSHOTS") or tmp_path / "screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def test_a_reader_searches_filters_reads_and_exports(
    served: tuple[str, Loaded], screenshots: Path, tmp_path: Path
) -> None:
    from playwright.sync_api import sync_playwright

    url, loaded = served
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = browser.new_page(viewport={"width": 1400, "height": 900}, accept_downloads=True)
        page.goto(url + "/")
        assert page.locator("h1").inner_text() == "Overview"
        page.screenshot(path=str(screenshots / "explore-overview.png"), full_page=True)

        page.click("text=Conversations")
        page.fill("input[name=q]", "contrasena")
        page.click("button[type=submit]")
        assert "q=contrasena" in page.url
        found = page.locator("table.list tbody tr").count()
        assert found > 0 and "contraseña" in page.content().lower()
        page.select_option("select[name=outcome]", "answered")
        page.click("button[type=submit]")
        assert "outcome=answered" in page.url
        assert page.locator("span.outcome.answered").count() == page.locator("table.list tbody tr").count()
        page.screenshot(path=str(screenshots / "explore-conversations.png"))

        with page.expect_download() as download:
            page.click("text=Export CSV")
        saved = tmp_path / "conversations.csv"
        download.value.save_as(saved)
        assert saved.read_text(encoding="utf-8").splitlines()[0].startswith("provider,bot_id,conversation_id")

        provider, cid = loaded.rows(
            "SELECT provider, conversation_id FROM chat_history.messages WHERE content LIKE '%<script>%' LIMIT 1"
        )[0]
        page.goto(f"{url}/conversations/{provider}/{cid}")
        assert page.title() != "pwned", "the planted <script> never ran"
        assert page.evaluate("document.title") != "pwned"
        assert "<script>document.title='pwned'</script>" in page.locator("ol.transcript").inner_text()
        page.screenshot(path=str(screenshots / "explore-transcript.png"), full_page=True)

        page.goto(url + "/topics")
        page.screenshot(path=str(screenshots / "explore-topics.png"))
        page.click("table.list tbody tr:first-child a")  # the largest topic: one question, every language
        assert page.locator("h2", has_text="In each language").count() == 1
        assert page.locator("li span.id").count() >= 3, "examples in at least three languages"
        page.screenshot(path=str(screenshots / "explore-topic.png"), full_page=True)
        page.goto(url + "/gaps")
        assert page.locator("table.list tbody tr").count() > 0
        page.screenshot(path=str(screenshots / "explore-gaps.png"))
        browser.close()
    for name in ("overview", "conversations", "transcript", "topics", "topic", "gaps"):
        assert (screenshots / f"explore-{name}.png").stat().st_size > 10_000, name
