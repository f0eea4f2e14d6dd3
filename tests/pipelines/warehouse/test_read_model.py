"""The read model: the same figures and lists on DuckDB and PostgreSQL, one rule for deleted rows, one search."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import dlt
import duckdb
import pytest

from pipelines.insights.refresh import refresh_insights
from pipelines.insights.settings import InsightsSettings
from pipelines.warehouse.read_model import QUERIES, ConversationQuery, ReadModel, pipeline_read_model
from pipelines.warehouse.search import Search
from tests.utils import normalised
from tests.worlds import Loaded, Parity

# ≥ 20 searches: English, Spanish with and without accents, German, Chinese inside sentences, Japanese,
# two words, upper case, a word no message holds, and characters that mean something to LIKE or a regex.
SEARCHES = (
    "refund",
    "REFUND",
    "Refund order",
    "password",
    "contraseña",
    "contrasena",
    "CONTRASEÑA",
    "tarjeta regalo",
    "dirección",
    "direccion",
    "Passwort",
    "Rückerstattung",
    "ruckerstattung",
    "退款",
    "密码",
    "退款 订单",
    "パスワード",
    "返金",
    "gift card",
    "order",
    "zzqx-nothing",
    "%",
    "_",
    "a.b",
    "(refund",
    "[",
)


def _plain(rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    return sorted((tuple(normalised(v) for v in row) for row in rows), key=repr)


def _searched(model: ReadModel, query: str) -> set[tuple[str, str]]:
    found = model.conversations(ConversationQuery(search=Search.parse(query)), None)
    return {(r["provider"], r["conversation_id"]) for r in found.rows}


@pytest.mark.slow
def test_every_named_query_and_search_gives_the_same_rows_on_duckdb_and_postgres(
    parity: Parity, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    duck = parity.duckdb(tmp_path / "d")
    pg, _ = parity.postgres(tmp_path / "p", "read_model_parity", monkeypatch)
    for pipeline in (duck, pg):
        refresh_insights(pipeline, InsightsSettings())
    with pipeline_read_model(duck) as on_duckdb, pipeline_read_model(pg) as on_postgres:
        key = on_duckdb.run("SELECT provider, conversation_id FROM conversations ORDER BY 1, 2 LIMIT 1")[0]
        for name, sql in QUERIES.items():
            params = key if sql.count("?") == 2 else ()
            in_duckdb, in_postgres = _plain(on_duckdb.named(name, *params)), _plain(on_postgres.named(name, *params))
            if name not in ("last_load", "citations", "sync_errors", "verdicts"):  # verdicts: no Intercom here
                assert in_duckdb, name
            if name != "last_load":  # the loads happened at different moments
                assert in_postgres == in_duckdb, f"{name} differs between DuckDB and Postgres"
        assert on_postgres.topics() == on_duckdb.topics()
        assert _plain([tuple(g.values()) for g in on_postgres.gaps()]) == _plain(
            [tuple(g.values()) for g in on_duckdb.gaps()]
        )
        assert on_postgres.providers().keys() == on_duckdb.providers().keys()
        for query in (ConversationQuery(outcome="failed"), ConversationQuery(language="es", min_messages=4)):
            listed = on_duckdb.conversations(query, 50)
            assert listed.total > 0
            again = on_postgres.conversations(query, 50)
            assert (again.total, [r["conversation_id"] for r in again.rows]) == (
                listed.total,
                [r["conversation_id"] for r in listed.rows],
            )
        agreed = [q for q in SEARCHES if _searched(on_duckdb, q) == _searched(on_postgres, q)]
        assert agreed == list(SEARCHES), set(SEARCHES) - set(agreed)
        found = {q: len(_searched(on_duckdb, q)) for q in SEARCHES}
        assert found["contrasena"] == found["contraseña"] == found["CONTRASEÑA"] > 0
        assert found["退款"] > 0 and found["refund"] == found["REFUND"] > 0
        assert found["zzqx-nothing"] == found["%"] == found["_"] == 0


def test_a_chinese_word_inside_a_sentence_and_an_accent_are_found(demo: Loaded) -> None:
    with duckdb.connect(str(demo.warehouse), read_only=True) as db:
        inside = db.execute(
            "SELECT provider, conversation_id FROM chat_history.messages WHERE content LIKE '_%退款%' LIMIT 1"
        ).fetchall()
    assert inside
    model = _duckdb_model(demo)
    assert inside[0] in _searched(model, "退款")
    assert _searched(model, "contrasena") == _searched(model, "CONTRASEÑA") != set()


def _duckdb_model(loaded: Loaded) -> ReadModel:
    from pipelines.explorer.warehouse import ConnectionReader, Warehouse

    warehouse = Warehouse("duckdb", "chat_history", duckdb_path=str(loaded.warehouse))
    connection = duckdb.connect(str(loaded.warehouse), read_only=True)
    return ReadModel(ConnectionReader(warehouse, connection))


def test_what_the_provider_deleted_is_left_out_of_every_count(
    demo_copy: Loaded, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Conversations flagged deleted: the explorer's overview and list, status and the report all drop them."""
    from pipelines.report.data import collect_report
    from pipelines.warehouse.status import warehouse_status

    with duckdb.connect(str(demo_copy.warehouse)) as db:
        gone = db.execute(
            "SELECT provider, conversation_id FROM chat_history.conversations WHERE provider = 'owlbot' LIMIT 4"
        ).fetchall()
        before = _counts(db)
        for provider, cid in gone:
            db.execute(
                "UPDATE chat_history.conversations SET deleted_at = now() WHERE provider = ? AND conversation_id = ?",
                [provider, cid],
            )
        live = _counts(db, live=True)
    assert live["owlbot"][0] == before["owlbot"][0] - 4
    pipeline = dlt.pipeline(
        "read_model_deleted",
        destination=dlt.destinations.duckdb(str(demo_copy.warehouse)),
        dataset_name="chat_history",
        pipelines_dir=str(demo_copy.root / "check"),
    )
    status = warehouse_status(pipeline, ["owlbot"])["owlbot"]
    assert (status["conversations"], status["messages"]) == live["owlbot"]
    report = collect_report(pipeline)
    owlbot = [v for v in report.volume if v[0] == "owlbot"]
    assert (sum(v[2] for v in owlbot), sum(v[3] for v in owlbot)) == live["owlbot"]
    model = _duckdb_model(demo_copy)
    assert sum(b["conversations"] for b in model.bots() if b["provider"] == "owlbot") == live["owlbot"][0]
    listed = model.conversations(ConversationQuery(provider="owlbot"), None)
    shown = {(r["provider"], r["conversation_id"]) for r in listed.rows}
    assert listed.total == live["owlbot"][0] and not set(gone) & shown
    monkeypatch.setenv("CHATSYNC__VIEWS_INCLUDE_DELETED", "true")
    everything = _duckdb_model(demo_copy)
    assert sum(b["conversations"] for b in everything.bots() if b["provider"] == "owlbot") == before["owlbot"][0]


def _counts(db: duckdb.DuckDBPyConnection, live: bool = False) -> dict[str, tuple[int, int]]:
    where = (
        " WHERE m.deleted_at IS NULL AND NOT EXISTS (SELECT 1 FROM chat_history.conversations AS c WHERE "
        "c.provider = m.provider AND c.conversation_id = m.conversation_id AND c.deleted_at IS NOT NULL)"
        if live
        else ""
    )
    rows = db.execute(
        "SELECT provider, COUNT(DISTINCT conversation_id), COUNT(*) FROM chat_history.messages AS m"
        f"{where} GROUP BY provider"
    ).fetchall()
    return {p: (int(c), int(n)) for p, c, n in rows}


def test_the_explorer_and_the_report_show_the_same_numbers(demo: Loaded) -> None:
    """Every figure both show: per bot conversations, messages and outcomes; topics, their week; gaps; last load."""
    from starlette.testclient import TestClient

    from pipelines.explorer.app import create_app
    from pipelines.explorer.warehouse import Warehouse
    from pipelines.report.data import collect_report

    client = TestClient(create_app(Warehouse("duckdb", "chat_history", duckdb_path=str(demo.warehouse))))
    overview = client.get("/index.json").json()
    topics = client.get("/topics.json").json()["topics"]
    gaps = client.get("/gaps.json").json()["gaps"]
    pipeline = dlt.pipeline(
        "read_model_report",
        destination=dlt.destinations.duckdb(str(demo.warehouse)),
        dataset_name="chat_history",
        pipelines_dir=str(demo.root / "compare"),
    )
    report = collect_report(pipeline)
    assert report.asked is not None
    assert [(b["provider"], b["bot_id"], b["conversations"], b["messages"]) for b in overview["bots"]] == [
        v[:4] for v in report.volume
    ]
    assert {(b["provider"], b["bot_id"]): b["outcomes"] for b in overview["bots"]} == {
        key: {o: counts.get(o, 0) for o in ("answered", "unanswered", "handed_off", "abandoned")}
        for key, counts in report.asked.outcomes.items()
    }
    assert [(t["topic_id"], t["conversations"], t["last_7"], t["previous_7"], t["failed"]) for t in topics] == [
        (t["topic_id"], t["conversations"], t["last_7"], t["previous_7"], t["failed"]) for t in report.asked.topics
    ]
    assert [(g["topic_id"], g["failed"], g["last_7_days"]) for g in gaps] == [
        (g["topic_id"], g["failed"], g["last_7_days"]) for g in report.asked.gaps
    ]
    assert report.last_load is not None and overview["last_load"] == report.last_load.isoformat()
    assert {b["label"] for b in overview["bots"]} >= {report.bot(p, b) for p, b, *_ in report.volume}
    newest = max(date.fromisoformat(b["last_message"][:10]) for b in overview["bots"])
    assert report.last_message is not None and report.last_message.date() == newest


def test_the_report_sets_fins_verdict_beside_chatsyncs_outcome(demo: Loaded) -> None:
    from pipelines.report.asked import asked_sections
    from pipelines.report.data import collect_report

    pipeline = dlt.pipeline(
        "read_model_verdicts",
        destination=dlt.destinations.duckdb(str(demo.warehouse)),
        dataset_name="chat_history",
        pipelines_dir=str(demo.root / "verdicts"),
    )
    report = collect_report(pipeline)
    assert report.asked is not None and report.asked.verdicts
    assert {provider for provider, _ in report.asked.verdicts} == {"intercom"}
    held = demo.rows(
        "SELECT c.provider_verdict, i.outcome, COUNT(*) FROM chat_history.conversations AS c "
        "JOIN chat_history.conversation_insights AS i USING (provider, conversation_id) "
        "WHERE c.provider_verdict IS NOT NULL AND NOT COALESCE(c.test_conversation, FALSE) GROUP BY 1, 2"
    )
    assert {(v, o): n for v, o, n in held} == {
        (verdict, outcome): n for (_, verdict), counts in report.asked.verdicts.items() for outcome, n in counts.items()
    }
    titles = [s.title for s in asked_sections(report.asked, report.bot)]
    assert "what users ask: the provider's own verdict against chatsync's outcome" in titles
