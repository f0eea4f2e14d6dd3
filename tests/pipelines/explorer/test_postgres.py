"""The explorer on a real PostgreSQL: the same pages, search folding accents without an extension."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from pipelines.explorer.app import create_app
from pipelines.explorer.warehouse import Warehouse
from pipelines.insights.refresh import refresh_insights
from pipelines.insights.settings import InsightsSettings
from tests.worlds import Parity


@pytest.mark.slow
def test_every_page_and_search_on_postgres(parity: Parity, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pipeline, uri = parity.postgres(tmp_path / "p", "explore_pg", monkeypatch)
    refresh_insights(pipeline, InsightsSettings())
    client = TestClient(create_app(Warehouse("postgres", parity.dataset, postgres_dsn=uri)))
    with pipeline.sql_client() as sql:
        provider, cid = sql.execute_sql("SELECT provider, conversation_id FROM parity.conversations LIMIT 1")[0]
        expected = sql.execute_sql(
            "SELECT COUNT(DISTINCT provider || conversation_id) FROM parity.messages WHERE content ILIKE %s",
            "%contraseña%",
        )[0][0]
    for path in ("/", "/conversations", f"/conversations/{provider}/{cid}", "/topics", "/gaps"):
        assert client.get(path).status_code == 200, path
    found = list(csv.DictReader(io.StringIO(client.get("/conversations.csv?q=Contrasena").text)))
    assert expected > 0 and len(found) == expected
    assert client.get("/conversations/owlbot/nope").status_code == 404
    assert client.get("/conversations?q=%25%27;DROP").status_code == 200
