"""Analytics views: edge cases by hand, values against ground truth, and every dialect."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import dlt
import pytest
import sqlglot

from pipelines.engine.destinations import make_destination
from pipelines.warehouse import analytics
from pipelines.warehouse.analytics import DIALECTS, TABLES, VIEWS, refresh_views, transpile_view, view_statements
from sources.common.batching import batched
from sources.common.rows import TableRows, as_conversations, as_messages, conversation_row, message_row
from tests import reference
from tests.utils import chatbot_truth, make_pipeline, run_source, truth_records, utc, view
from tests.worlds import EngineLoaded

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


# (conversation, message_id, role, seconds after T0, sequence)
OBSERVED = "observed"  # times are when chatsync first saw the messages: no latency can be known
EDGE_CASES: list[tuple[str, str, str, float, int | None]] = [
    # equal timestamps, no sequence: message_id decides, so the assistant ("a") comes first
    ("tie_by_id", "b", "user", 0, None),
    ("tie_by_id", "a", "assistant", 0, None),
    # equal timestamps with a sequence: the sequence decides, whatever the ids
    ("tie_by_sequence", "b", "user", 0, 1),
    ("tie_by_sequence", "a", "assistant", 0, 2),
    # no assistant reply at all
    ("no_reply", "m1", "user", 0, None),
    ("no_reply", "m2", "user", 30, None),
    # system messages are counted but neither ask nor answer
    ("system", "m1", "system", 0, None),
    ("system", "m2", "user", 10, None),
    ("system", "m3", "system", 12, None),
    ("system", "m4", "assistant", 25, None),
    # role unknown last: not "abandoned" (the last message is not the user's)
    ("unknown", "m1", "user", 0, None),
    ("unknown", "m2", "unknown", 5, None),
    # a streamed burst is one reply; two user messages, then the reply counts from the later one
    ("burst", "m1", "user", 0, 1),
    ("burst", "m2", "assistant", 5, 2),
    ("burst", "m3", "assistant", 5, 3),
    ("burst", "m4", "user", 10, 4),
    ("burst", "m5", "user", 12, 5),
    ("burst", "m6", "assistant", 20, 6),
    (OBSERVED, "m1", "user", 100, 1),
    (OBSERVED, "m2", "assistant", 100, 2),
]


def edge_case_source() -> Any:
    @dlt.resource(name="edge_cases")
    def rows() -> Iterator[Any]:
        def pieces() -> Iterator[TableRows]:
            yield as_messages(
                [
                    message_row(
                        provider="example_ai",
                        bot_id="b1",
                        conversation_id=cid,
                        message_id=mid,
                        role=role,
                        content=None,
                        created_at=at(s),
                        sender_id=None,
                        raw={},
                        sequence=seq,
                        observed=cid == OBSERVED,
                    )
                    for cid, mid, role, s, seq in EDGE_CASES
                ]
            )
            yield as_conversations(
                [
                    conversation_row(
                        provider="example_ai",
                        bot_id="b1",
                        conversation_id=cid,
                        started_at=None,
                        user_id=None,
                        reported_message_count=None,
                        raw={},
                    )
                    for cid in {c for c, *_ in EDGE_CASES}
                ]
            )

        yield from batched(pieces())

    return rows


def metrics_rows(pipeline: dlt.Pipeline) -> dict[str, dict[str, Any]]:
    with pipeline.sql_client() as client:
        table = client.make_qualified_table_name("conversation_metrics")
        cursor_rows = client.execute_sql(f"SELECT * FROM {table}")
        with client.execute_query(f"SELECT * FROM {table} LIMIT 0") as cursor:
            names = [d[0] for d in cursor.description]
    return {row[2]: dict(zip(names, row, strict=True)) for row in cursor_rows or []}


def test_edge_cases_have_defined_results(tmp_path: Path) -> None:
    pipeline = make_pipeline(tmp_path)
    run_source(pipeline, edge_case_source())
    assert refresh_views(pipeline) == list(VIEWS)
    got = metrics_rows(pipeline)
    pick = ("message_count", "first_response_seconds", "median_response_seconds", "abandoned", "turns")
    assert {cid: tuple(row[k] for k in pick) for cid, row in got.items()} == {
        "tie_by_id": (2, None, None, False, 0),  # a reply in the same second counts as a reply
        "tie_by_sequence": (2, 0.0, 0.0, False, 1),
        "no_reply": (2, None, None, True, 0),
        "system": (4, 15.0, 15.0, False, 1),
        "unknown": (2, None, None, False, 0),
        "burst": (6, 5.0, 6.5, False, 2),
        OBSERVED: (2, None, None, False, 1),
    }
    assert got[OBSERVED]["duration_seconds"] is None
    assert (got["system"]["system_messages"], got["unknown"]["unknown_messages"]) == (2, 1)
    assert got["burst"]["duration_seconds"] == 20.0


def test_views_match_an_independent_computation_from_ground_truth(views_world: EngineLoaded) -> None:
    pipeline = views_world.pipeline()
    records, users = truth_records(views_world.sim)

    expected_replies = reference.response_times(records)
    got_replies = {(r[0], r[2], r[3]): r[7] for r in view(pipeline, "response_times", "1, 3, 4")}
    assert got_replies.keys() == expected_replies.keys()
    assert all(got_replies[k] == (v if v is None else pytest.approx(v, abs=1e-6)) for k, v in expected_replies.items())

    _, conversations = chatbot_truth(views_world.sim)
    flagged = {key for key, conversation in conversations.items() if conversation.handed_off}
    expected = reference.conversation_metrics(records, flagged)
    got = {(r[0], r[2]): r for r in view(pipeline, "conversation_metrics", "1, 3")}
    assert got.keys() == expected.keys()
    for key, want in expected.items():
        row = got[key]
        assert (utc(row[3]), utc(row[4])) == (want["started_at"], want["ended_at"])
        assert row[6:12] == (
            want["message_count"],
            want["user_messages"],
            want["assistant_messages"],
            want["agent_messages"],
            want["system_messages"],
            want["unknown_messages"],
        )
        for column, index in (("duration_seconds", 5), ("first_response_seconds", 12), ("median_response_seconds", 13)):
            assert row[index] == (None if want[column] is None else pytest.approx(want[column], abs=1e-6)), column
        assert (row[14], row[15]) == (want["abandoned"], want["turns"])

    daily = reference.daily_activity(records, users)
    got_daily = {(r[0], r[1], r[2]): r[3:] for r in view(pipeline, "daily_activity", "1, 2, 3")}
    assert got_daily == {
        key: (
            v["conversations_started"],
            v["active_conversations"],
            v["messages"],
            v["user_messages"],
            v["assistant_messages"],
            v["agent_messages"],
            v["system_messages"],
            v["unknown_messages"],
            v["distinct_users"],
        )
        for key, v in daily.items()
    }
    assert any(row[-1] is None for row in got_daily.values()) and any(row[-1] for row in got_daily.values())


@pytest.mark.parametrize("dialect", DIALECTS)
def test_every_view_transpiles_and_parses_back(dialect: str) -> None:
    for name in VIEWS:
        sql = transpile_view(name, dialect, "chat_history")
        assert "SECONDS_BETWEEN" not in sql.upper()
        parsed = sqlglot.parse_one(sql, read=dialect)
        assert parsed.find(sqlglot.exp.Select) is not None
        stored = [t for t in parsed.find_all(sqlglot.exp.Table) if t.name in (*TABLES, *VIEWS)]
        assert stored or name == "provider_signals", "every view but the signal matrix reads the warehouse"
        assert all(t.db == "chat_history" for t in stored), "every stored table is qualified"
    statements = view_statements(dialect, "chat_history")
    assert all(sqlglot.parse_one(s, read=dialect) for s in statements)


def test_bigquery_specifics() -> None:
    sql = transpile_view("response_times", "bigquery", "chat_history")
    assert "TIMESTAMP_DIFF(created_at, previous_created_at, MICROSECOND)" in sql
    assert "`chat_history`.`messages`" in sql


def test_bigquery_destination_is_built_from_config(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DESTINATION__BIGQUERY__CREDENTIALS__PROJECT_ID", "my-project")
    monkeypatch.setenv("DESTINATION__BIGQUERY__CREDENTIALS__CLIENT_EMAIL", "loader@my-project.iam.gserviceaccount.com")
    monkeypatch.setenv("DESTINATION__BIGQUERY__CREDENTIALS__PRIVATE_KEY", "-----BEGIN PRIVATE KEY-----\nx\n")
    monkeypatch.setenv("DESTINATION__BIGQUERY__LOCATION", "EU")
    destination = make_destination("bigquery")
    assert destination.destination_name == "bigquery"
    config = destination.configuration(destination.spec()._bind_dataset_name("chat_history"))  # type: ignore[attr-defined]
    assert config.credentials.project_id == "my-project"
    assert config.location == "EU"


def test_views_are_made_again_only_when_what_they_are_made_of_changed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pipeline = make_pipeline(tmp_path)
    run_source(pipeline, edge_case_source())
    made: list[int] = []
    real = analytics.view_statements
    monkeypatch.setattr(analytics, "view_statements", lambda *a: made.append(1) or real(*a))

    def definitions() -> dict[str, str]:
        with pipeline.sql_client() as client:
            sql = "SELECT view_name, sql FROM duckdb_views() WHERE schema_name = 'chat_history'"
            return {str(name): str(text) for name, text in client.execute_sql(sql) or []}

    assert refresh_views(pipeline) == list(VIEWS) and len(made) == 1
    assert refresh_views(pipeline) == list(VIEWS) and len(made) == 1, "unchanged: no DDL"
    with pipeline.sql_client() as client:
        client.execute_sql(f"DROP VIEW {client.make_qualified_table_name('audience')}")
    refresh_views(pipeline)
    assert len(made) == 2 and "audience" in definitions(), "a view dropped by hand is made again"
    assert "deleted_at IS NULL" in definitions()["conversation_metrics"], "deleted rows are left out"
    monkeypatch.setenv("CHATSYNC__VIEWS_INCLUDE_DELETED", "true")
    refresh_views(pipeline)
    assert len(made) == 3 and "deleted_at" not in definitions()["conversation_metrics"], "a setting changed"
