"""Every page of ``chatsync explore`` with Starlette's TestClient, on a real DuckDB demo from the simulator."""

from __future__ import annotations

import contextlib
import csv
import io
import subprocess
import sys
import time
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from pipelines.explorer.app import CSP, create_app
from pipelines.explorer.queries import PAGE_SIZE
from pipelines.explorer.warehouse import Warehouse
from tests.worlds import Loaded

CONVERSATION_LINK = 'href="/conversations/'

@pytest.fixture
def client(demo: Loaded) -> TestClient:
    return TestClient(create_app(Warehouse("duckdb", "chat_history", duckdb_path=str(demo.warehouse))))


def rows_of(csv_text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(csv_text)))


def test_every_page_answers(client: TestClient, demo: Loaded) -> None:
    provider, cid = demo.rows("SELECT provider, conversation_id FROM chat_history.conversations LIMIT 1")[0]
    topic = demo.rows("SELECT topic_id FROM chat_history.topics ORDER BY conversations DESC LIMIT 1")[0][0]
    for path in ("/", "/conversations", f"/conversations/{provider}/{cid}", "/topics", f"/topics/{topic}", "/gaps"):
        page = client.get(path)
        assert page.status_code == 200, path
        assert page.headers["content-security-policy"] == CSP
        assert "<script" not in page.text.split("<main>")[0], "no script anywhere: the pages work offline"
    overview = client.get("/").text
    assert "Knowledge gaps to fill first" in overview and "/topics/" in overview


def test_the_list_pages_through_everything(client: TestClient, demo: Loaded) -> None:
    total = demo.rows("SELECT COUNT(*) FROM chat_history.conversations")[0][0]
    first = client.get("/conversations").text
    assert first.count(CONVERSATION_LINK) == PAGE_SIZE and "older →" in first
    pages = -(-total // PAGE_SIZE)
    last = client.get(f"/conversations?page={pages}").text
    assert last.count(CONVERSATION_LINK) == total - PAGE_SIZE * (pages - 1)
    assert "older →" not in last


def test_search_ignores_case_and_accents_and_ands_its_words(client: TestClient, demo: Loaded) -> None:
    folded = rows_of(client.get("/conversations.csv?q=CONTRASENA").text)
    expected = demo.rows(
        "SELECT COUNT(DISTINCT provider || conversation_id) FROM chat_history.messages "
        "WHERE strip_accents(lower(content)) LIKE '%contrasena%'"
    )[0][0]
    assert expected > 5 and len(folded) == expected
    both = rows_of(client.get("/conversations.csv?q=tarjeta+regalo").text)
    one = rows_of(client.get("/conversations.csv?q=tarjeta").text)
    assert 0 < len(both) <= len(one)
    for row in both:
        words = demo.rows(
            "SELECT string_agg(lower(content), ' ') FROM chat_history.messages "
            f"WHERE provider = '{row['provider']}' AND conversation_id = '{row['conversation_id']}'"
        )[0][0]
        assert "tarjeta" in words and "regalo" in words


def test_every_filter_selects_what_it_says(client: TestClient, demo: Loaded) -> None:
    insights = {
        (p, c): (t, o, lang)
        for p, c, t, o, lang in demo.rows(
            "SELECT provider, conversation_id, topic_id, outcome, language FROM chat_history.conversation_insights"
        )
    }
    unanswered = rows_of(client.get("/conversations.csv?outcome=unanswered&provider=owlbot").text)
    assert unanswered and all(r["outcome"] == "unanswered" and r["provider"] == "owlbot" for r in unanswered)
    assert len(unanswered) == sum(1 for (p, _), (_, o, _) in insights.items() if p == "owlbot" and o == "unanswered")
    spanish = rows_of(client.get("/conversations.csv?language=es&min_messages=4").text)
    assert spanish and all(r["language"] == "es" and int(r["messages"]) >= 4 for r in spanish)
    window = rows_of(client.get("/conversations.csv?since=2026-03-05&until=2026-03-06").text)
    assert window and all(r["started_at"][:10] == "2026-03-05" for r in window)
    handed = rows_of(client.get("/conversations.csv?handed_off=yes").text)
    assert handed and all(insights[(r["provider"], r["conversation_id"])][1] == "handed_off" for r in handed)
    topic = next(iter(insights.values()))[0]
    of_topic = rows_of(client.get(f"/conversations.csv?topic={topic}").text)
    assert len(of_topic) == sum(1 for t, _, _ in insights.values() if t == topic)
    assert rows_of(client.get("/conversations.csv?deleted=yes").text) == []


def test_the_csv_is_the_whole_result_with_its_columns(client: TestClient, demo: Loaded) -> None:
    response = client.get("/conversations.csv")
    assert response.headers["content-type"].startswith("text/csv")
    rows = rows_of(response.text)
    assert len(rows) == demo.rows("SELECT COUNT(*) FROM chat_history.conversations")[0][0] > PAGE_SIZE
    assert list(rows[0])[:9] == [
        "provider",
        "bot_id",
        "conversation_id",
        "started_at",
        "messages",
        "topic_id",
        "outcome",
        "sentiment",
        "question",
    ]


def test_a_transcript_shows_every_message_in_order_with_markup_as_text(client: TestClient, demo: Loaded) -> None:
    provider, cid = demo.rows(
        "SELECT provider, conversation_id FROM chat_history.messages WHERE content LIKE '%<script>%' LIMIT 1"
    )[0]
    page = client.get(f"/conversations/{provider}/{cid}").text
    count = demo.rows(
        f"SELECT COUNT(*) FROM chat_history.messages WHERE provider = '{provider}' AND conversation_id = '{cid}'"
    )[0][0]
    assert page.count('<li class="message') == count
    assert "<script>document.title" not in page and "&lt;script&gt;document.title" in page
    assert "The SQL behind this page" in page and "outcome" in page


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/nowhere", 404),
        ("/conversations/owlbot/no-such-conversation", 404),
        ("/conversations/owlbot/../../../etc/passwd", 404),
        ("/topics/xx-999", 404),
        ("/conversations?q=%00", 400),
        ("/conversations?q=" + "a" * 5_000, 400),
        ("/conversations?outcome=exploded", 400),
        ("/conversations?since=yesterday", 400),
        ("/conversations?min_messages=-1", 400),
        ("/conversations?page=0", 400),
        ("/conversations?q=%25%27%20OR%201%3D1%20--", 200),
        ("/conversations?provider=%27%3B%20DROP%20TABLE%20messages%3B", 200),
    ],
)
def test_bad_input_gets_a_page_never_a_traceback(client: TestClient, demo: Loaded, path: str, status: int) -> None:
    before = demo.rows("SELECT COUNT(*) FROM chat_history.messages")
    response = client.get(path)
    assert response.status_code == status
    assert "Traceback" not in response.text and "<html" in response.text
    assert demo.rows("SELECT COUNT(*) FROM chat_history.messages") == before


def test_hostile_search_strings_find_nothing_rather_than_everything(client: TestClient) -> None:
    assert rows_of(client.get("/conversations.csv?q=%25").text) == []
    assert rows_of(client.get("/conversations.csv?q=_").text) == []


def test_a_token_guards_every_request(demo: Loaded) -> None:
    guarded = TestClient(create_app(Warehouse("duckdb", "chat_history", duckdb_path=str(demo.warehouse)), "s3cret"))
    assert guarded.get("/").status_code == 401
    assert guarded.get("/", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert guarded.get("/", headers={"Authorization": "Bearer s3cret"}).status_code == 200
    assert guarded.get("/?token=s3cret").status_code == 200
    assert guarded.get("/topics").status_code == 200, "the token came back as a cookie"


def test_a_page_during_a_write_says_busy_and_retries(demo_copy: Loaded) -> None:
    """Another process holds the (private) warehouse for writing: the page says busy, then answers."""
    warehouse = str(demo_copy.warehouse)
    client = TestClient(create_app(Warehouse("duckdb", "chat_history", duckdb_path=warehouse)))
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import duckdb, time; c = duckdb.connect({warehouse!r}); print(1, flush=True); time.sleep(8)",
        ],
        stdout=subprocess.PIPE,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == b"1"
        started = time.monotonic()
        busy = client.get("/conversations")
        assert time.monotonic() - started < 1, "answers within a second"
        assert busy.status_code == 503 and busy.headers["retry-after"] == "2"
        assert '<meta http-equiv="refresh" content="2">' in busy.text and "busy" in busy.text
    finally:
        holder.kill()
        holder.wait()
    assert client.get("/conversations").status_code == 200


def test_the_explorer_never_writes(client: TestClient, demo: Loaded) -> None:
    before = demo.warehouse.stat().st_mtime_ns
    for path in ("/", "/conversations?q=refund", "/conversations.csv", "/topics", "/gaps"):
        assert client.get(path).status_code == 200
    assert demo.warehouse.stat().st_mtime_ns == before, "read-only connections leave the file as it was"


def test_explore_prints_its_url_and_ctrl_c_stops_it_with_130(demo: Loaded, tmp_path: Path) -> None:
    import os
    import signal
    import socket

    import requests

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    (tmp_path / ".dlt").mkdir(exist_ok=True)
    environment = {**os.environ, "DESTINATION__DUCKDB__CREDENTIALS": str(demo.warehouse)}
    started = time.monotonic()
    server = subprocess.Popen(
        [sys.executable, "-m", "pipelines.cli", "explore", "--port", str(port)],
        cwd=tmp_path,
        env=environment,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        assert f"http://127.0.0.1:{port}/" in server.stdout.readline()
        while time.monotonic() - started < 20:
            try:
                assert requests.get(f"http://127.0.0.1:{port}/", timeout=2).status_code == 200
                break
            except requests.ConnectionError:
                time.sleep(0.05)
        server.send_signal(signal.SIGINT)
        assert server.wait(timeout=10) == 130
    finally:
        server.kill()


def test_a_public_host_needs_a_token(demo: Loaded, monkeypatch: pytest.MonkeyPatch) -> None:
    from pipelines.cli import main

    monkeypatch.setenv("DESTINATION__DUCKDB__CREDENTIALS", str(demo.warehouse))
    assert main(["explore", "--host", "0.0.0.0"]) == 2


@pytest.mark.slow
def test_a_run_succeeds_while_the_explorer_is_open_and_read(sim: object, configured: Path, tmp_path: Path) -> None:
    """The explorer in its own process, a page every 50 ms throughout a load: the load succeeds."""
    import os
    import socket
    import threading

    import requests

    from pipelines.cli import main

    assert main(["run", "--provider", "feedloop"]) == 0
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    environment = {**os.environ, "DESTINATION__DUCKDB__CREDENTIALS": str(configured)}
    server = subprocess.Popen(
        [sys.executable, "-m", "pipelines.cli", "-q", "explore", "--port", str(port)], cwd=tmp_path, env=environment
    )
    answers: list[int] = []
    stop = threading.Event()

    def browse() -> None:
        while not stop.is_set():
            with contextlib.suppress(requests.ConnectionError):  # still starting
                answers.append(requests.get(f"http://127.0.0.1:{port}/conversations?q=order", timeout=5).status_code)
            time.sleep(0.05)

    browsing = threading.Thread(target=browse)
    browsing.start()
    try:
        while not answers:
            time.sleep(0.05)
        assert main(["run"]) == 0
    finally:
        stop.set()
        browsing.join()
        server.terminate()
        server.wait(timeout=10)
    assert answers.count(200) > 5 and set(answers) <= {200, 503}, answers
