"""Every page of ``chatsync explore`` with Starlette's TestClient, on a real DuckDB demo from the simulator."""

from __future__ import annotations

import contextlib
import csv
import io
import subprocess
import sys
import time
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from pipelines.explorer.app import CSP, create_app
from pipelines.explorer.filters import PAGE_SIZE
from pipelines.explorer.views.export import COLUMNS
from pipelines.explorer.warehouse import Warehouse
from tests.worlds import Loaded

LIVE_WITH_MESSAGES = (
    "SELECT COUNT(*) FROM chat_history.conversations AS c WHERE c.deleted_at IS NULL "
    "AND NOT COALESCE(c.test_conversation, FALSE) AND EXISTS "
    "(SELECT 1 FROM chat_history.messages AS m WHERE m.provider = c.provider AND m.conversation_id = c.conversation_id)"
)


@pytest.fixture
def client(demo: Loaded) -> TestClient:
    return TestClient(create_app(Warehouse("duckdb", "chat_history", duckdb_path=str(demo.warehouse))))


def rows_of(csv_text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(csv_text.removeprefix("\ufeff"))))


def listed(client: TestClient, query: str) -> dict[str, Any]:
    """The ``.json`` twin of a conversation list."""
    response = client.get(f"/conversations.json?{query}")
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()
    return found


def test_every_page_answers_and_its_json_twin_holds_what_it_shows(client: TestClient, demo: Loaded) -> None:
    provider, cid = demo.rows("SELECT provider, conversation_id FROM chat_history.conversations LIMIT 1")[0]
    topic = demo.rows("SELECT topic_id FROM chat_history.topics ORDER BY conversations DESC LIMIT 1")[0][0]
    paths = ("/", "/conversations", f"/conversations/{provider}/{cid}", "/topics", f"/topics/{topic}", "/gaps")
    for path in paths:
        page = client.get(path)
        assert page.status_code == 200, path
        assert page.headers["content-security-policy"] == CSP
        assert "<script" not in page.text.split("<main>")[0], "no script anywhere: the pages work offline"
        twin = client.get("/index.json" if path == "/" else f"{path}.json")
        assert twin.status_code == 200 and twin.headers["content-type"].startswith("application/json"), path
    overview = client.get("/").text
    assert "Knowledge gaps to fill first" in overview and "/topics/" in overview
    gaps = client.get("/gaps.json").json()["gaps"]
    assert gaps and all(g["label"] in client.get("/gaps").text for g in gaps)
    topics = client.get("/topics.json").json()["topics"]
    assert [t["topic_id"] for t in topics][:3] == [
        t
        for (t,) in demo.rows("SELECT topic_id FROM chat_history.topics ORDER BY conversations DESC, topic_id LIMIT 3")
    ]


def test_the_list_pages_through_everything_and_a_page_beyond_goes_to_the_last(client: TestClient, demo: Loaded) -> None:
    total = demo.rows(LIVE_WITH_MESSAGES)[0][0]
    first = listed(client, "")
    assert first["total"] == total and len(first["rows"]) == PAGE_SIZE
    pages = -(-total // PAGE_SIZE)
    assert first["pages"] == pages
    last = listed(client, f"page={pages}")
    assert len(last["rows"]) == total - PAGE_SIZE * (pages - 1)
    assert "older →" not in client.get(f"/conversations?page={pages}").text
    beyond = client.get("/conversations?page=999999&outcome=answered", follow_redirects=False)
    assert beyond.status_code == 303
    answered = listed(client, "outcome=answered")
    assert beyond.headers["location"] == f"/conversations?outcome=answered&page={answered['pages']}"
    seen = {
        (r["provider"], r["conversation_id"]) for p in range(1, pages + 1) for r in listed(client, f"page={p}")["rows"]
    }
    assert len(seen) == total


def test_search_ignores_case_and_accents_ands_its_words_and_shows_why(client: TestClient, demo: Loaded) -> None:
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
    found = listed(client, "q=refund")
    assert found["total"] > 0 and found["filters"]["sort"] == ""
    for row in found["rows"]:
        assert row["snippet"][1].lower() == "refund", row["snippet"]
    matches = [r["matches"] for r in found["rows"]]
    assert matches == sorted(matches, reverse=True), "most matching messages first"
    page = client.get("/conversations?q=refund").text
    assert f"<b>{found['total']:,}</b> conversation" in page and "<mark>" in page
    chinese = listed(client, "q=退款")
    inside = demo.rows(
        "SELECT COUNT(DISTINCT provider || conversation_id) FROM chat_history.messages "
        "WHERE content LIKE '%退款%' AND content NOT LIKE '退款%'"
    )[0][0]
    assert inside > 0 and chinese["total"] >= inside, "a Chinese word inside a sentence is found"


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
    window = rows_of(client.get("/conversations.csv?since=2026-03-05&until=2026-03-05").text)
    assert window and all(r["started_at"][:10] == "2026-03-05" for r in window)
    failed = rows_of(client.get("/conversations.csv?outcome=failed").text)
    assert {r["outcome"] for r in failed} == {"unanswered", "handed_off"}
    assert len(failed) == sum(1 for _, o, _ in insights.values() if o in ("unanswered", "handed_off"))
    topic = next(iter(insights.values()))[0]
    of_topic = rows_of(client.get(f"/conversations.csv?topic={topic}").text)
    assert len(of_topic) == sum(1 for t, _, _ in insights.values() if t == topic)
    newest = demo.rows("SELECT MAX(created_at)::DATE FROM chat_history.messages")[0][0]
    week = rows_of(client.get("/conversations.csv?period=7d").text)
    assert week and all((newest - date.fromisoformat(r["started_at"][:10])).days < 7 for r in week)


def test_feedloop_conversations_have_a_start_and_a_date_filter_keeps_them(client: TestClient) -> None:
    feedloop = rows_of(client.get("/conversations.csv?provider=feedloop").text)
    assert feedloop and all(r["started_at"] for r in feedloop)
    day = min(r["started_at"][:10] for r in feedloop)
    assert rows_of(client.get(f"/conversations.csv?provider=feedloop&since={day}").text) == feedloop


def test_a_gaps_failed_link_lists_as_many_as_it_says(client: TestClient) -> None:
    gaps = client.get("/gaps.json").json()["gaps"]
    page = client.get("/gaps").text
    assert gaps
    for gap in gaps:
        link = f"/conversations?outcome=failed&amp;topic={gap['topic_id']}"
        assert link in page and f"{gap['failed']} failed" in page
        assert listed(client, f"topic={gap['topic_id']}&outcome=failed")["total"] == gap["failed"]


def test_each_bots_outcome_links_keep_the_bot(client: TestClient) -> None:
    overview = client.get("/index.json").json()
    page = client.get("/").text
    for bot in overview["bots"]:
        if not bot["bot_id"] or not bot["judged"]:
            continue
        query = f"provider={bot['provider']}&bot_id={bot['bot_id']}"
        assert f"/conversations?{query.replace('&', '&amp;')}&amp;outcome=answered" in page
        found = listed(client, f"{query}&outcome=answered")
        assert found["total"] == bot["outcomes"]["answered"]
        assert {r["bot_id"] for r in found["rows"]} <= {bot["bot_id"]}
    assert any(b["name"] for b in overview["bots"]), "OwlBot's bots by name"
    named = next(b for b in overview["bots"] if b["name"])
    assert f">{named['label']}</a>" in page, "shown by name, the id on hover"


def test_unknown_values_are_a_400_naming_the_known_ones(client: TestClient) -> None:
    for query, named in (
        ("provider=nosuch", "owlbot"),
        ("bot_id=nosuch", "default"),
        ("topic=nosuch", "t"),
        ("language=xx", "en"),
        ("outcome=exploded", "failed"),
    ):
        response = client.get(f"/conversations?{query}")
        assert response.status_code == 400, query
        assert "is not one of" in response.text and named in response.text, query


def test_the_csv_is_the_whole_result_for_excel_with_labels_and_links(client: TestClient, demo: Loaded) -> None:
    response = client.get("/conversations.csv")
    assert response.headers["content-type"].startswith("text/csv")
    assert response.content.startswith(b"\xef\xbb\xbf"), "a UTF-8 BOM: Excel on Windows reads 中文 and ñ"
    rows = rows_of(response.text)
    assert len(rows) == demo.rows(LIVE_WITH_MESSAGES)[0][0] > PAGE_SIZE
    assert list(rows[0]) == list(COLUMNS)
    labelled = [r for r in rows if r["topic_id"]]
    labels = dict(demo.rows("SELECT topic_id, label FROM chat_history.topics"))
    assert labelled and all(r["topic"] == labels[r["topic_id"]] for r in labelled)
    link = rows[0]["link"]
    assert link.startswith("http://testserver/conversations/")
    assert client.get(link.removeprefix("http://testserver")).status_code == 200


def test_a_transcript_marks_the_fallback_and_handoff_and_knows_its_place(client: TestClient, demo: Loaded) -> None:
    provider, cid = demo.rows(
        "SELECT provider, conversation_id FROM chat_history.messages WHERE content LIKE '%<script>%' LIMIT 1"
    )[0]
    page = client.get(f"/conversations/{provider}/{cid}").text
    count = demo.rows(
        f"SELECT COUNT(*) FROM chat_history.messages WHERE provider = '{provider}' AND conversation_id = '{cid}'"
    )[0][0]
    assert page.count('<li class="message') == count
    assert "<script>document.title" not in page and "&lt;script&gt;document.title" in page
    assert "The SQL behind this page" in page and 'href="#end"' in page
    unanswered = listed(client, "outcome=unanswered")["rows"][1]
    marked = client.get(f"/conversations/{unanswered['provider']}/{unanswered['conversation_id']}").text
    assert marked.count("the bot's fallback") == 1
    handed = listed(client, "outcome=handed_off&provider=owlbot")["rows"]
    assert handed and "a human took over here" in client.get(handed[0]["link"]).text
    second = listed(client, "outcome=failed")["rows"][1]
    opened = client.get(second["link"]).text
    assert 'rel="prev"' in opened and 'rel="next"' in opened and "2 in the list" in opened
    assert 'href="/conversations?outcome=failed"' in opened, "back to the same results"
    first = listed(client, "outcome=failed")["rows"][0]
    assert 'rel="next"' in client.get(first["link"]).text and 'rel="prev"' not in client.get(first["link"]).text
    long = demo.rows("SELECT provider, conversation_id FROM chat_history.messages WHERE length(content) > 1200 LIMIT 1")
    assert long and "show all" in client.get(f"/conversations/{long[0][0]}/{long[0][1]}").text


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
        ("/conversations?provider=%27%3B%20DROP%20TABLE%20messages%3B", 400),
        ("/topics?sort=nope", 400),
        ("/topics?language=xx", 400),
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


def test_explore_on_port_0_prints_the_free_port_it_took_and_ctrl_c_stops_it_with_130(
    demo: Loaded, tmp_path: Path
) -> None:
    import os
    import re
    import signal

    import requests

    (tmp_path / ".dlt").mkdir(exist_ok=True)
    environment = {**os.environ, "DESTINATION__DUCKDB__CREDENTIALS": str(demo.warehouse)}
    started = time.monotonic()
    server = subprocess.Popen(
        [sys.executable, "-m", "pipelines.cli", "explore", "--port", "0"],
        cwd=tmp_path,
        env=environment,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        printed = re.search(r"http://127\.0\.0\.1:(\d+)/", server.stdout.readline())
        assert printed and int(printed.group(1)) > 0
        url = printed.group(0)
        while time.monotonic() - started < 20:
            try:
                assert requests.get(url, timeout=2).status_code == 200
                break
            except requests.ConnectionError:
                time.sleep(0.05)
        server.send_signal(signal.SIGINT)
        assert server.wait(timeout=10) == 130
    finally:
        server.kill()


def test_a_port_in_use_is_one_line_and_exit_2_for_explore_and_simulate(
    demo: Loaded, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import socket

    from pipelines.cli import main

    monkeypatch.setenv("DESTINATION__DUCKDB__CREDENTIALS", str(demo.warehouse))
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        assert main(["explore", "--port", port]) == 2
        assert main(["simulate", "--port", port]) == 2
    out = capsys.readouterr()
    said = out.out + out.err
    assert said.count(f"port {port} on 127.0.0.1 is in use") == 2 and "Traceback" not in said
    assert "chatsync explore on" not in said, "no URL printed for a server that never started"


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
