"""The canonical row funnel: Arrow tables into DuckDB, dicts elsewhere, the same rows either way."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import dlt
import pytest

from pipelines.engine.destinations import make_destination
from sources.common.batching import arrow_table, batched, current_destination, loads_arrow
from sources.common.rows import TableRows, as_conversations, as_messages, conversation_row, message_row
from tests.utils import make_pipeline, query, run_source

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _message(message_id: str, content: str, raw: dict[str, Any]) -> dict[str, Any]:
    return message_row(
        provider="owlbot",
        bot_id="bot",
        conversation_id="c1",
        message_id=message_id,
        role="user",
        content=content,
        created_at=T0,
        sender_id=None,
        raw=raw,
        sequence=int(message_id[1:]),
    )


def _source(rows: list[dict[str, Any]], as_arrow: bool) -> Any:
    @dlt.resource(name="messages_test")
    def messages() -> Iterator[Any]:
        pieces: list[TableRows] = [as_messages(rows)]
        yield from batched(pieces, as_arrow=as_arrow)

    return messages()


def test_arrow_table_keeps_every_value_and_raw_as_json_text() -> None:
    raw = {"id": 1, "text": "café ✓ \U0001f600", "nested": {"list": [1, None, "x"]}}
    table = arrow_table("messages", [_message("m1", "hi", raw), {**_message("m2", "yo", {}), "raw": None}])
    assert table.column_names[:4] == ["provider", "bot_id", "conversation_id", "message_id"]
    assert str(table.schema.field("created_at").type) == "timestamp[us, tz=UTC]"
    assert json.loads(table.column("raw")[0].as_py()) == raw
    assert table.column("raw")[1].as_py() is None
    assert table.column("sequence").to_pylist() == [1, 2]


def test_a_warehouse_loaded_with_dicts_continues_with_arrow(tmp_path: Path) -> None:
    pipeline = make_pipeline(tmp_path)
    first = [_message("m1", "one", {"id": 1}), _message("m2", "two", {"id": 2, "tags": ["a"]})]
    run_source(pipeline, _source(first, as_arrow=False))
    second = [_message("m2", "two, edited", {"id": 2, "tags": ["b"]}), _message("m3", "three", {"id": 3})]
    run_source(pipeline, _source(second, as_arrow=True))
    found = query(pipeline, "SELECT message_id, content, raw, _dlt_load_id, _dlt_id FROM {messages} ORDER BY 1")
    assert [(m, c, json.loads(r) if isinstance(r, str) else r) for m, c, r, _, _ in found] == [
        ("m1", "one", {"id": 1}),
        ("m2", "two, edited", {"id": 2, "tags": ["b"]}),
        ("m3", "three", {"id": 3}),
    ]
    load_ids = [load_id for *_, load_id, _ in found]
    assert load_ids[0] != load_ids[1] == load_ids[2], "the Arrow load carries its own _dlt_load_id"
    assert all(row_id for *_, row_id in found), "Arrow rows get a _dlt_id like dict rows"


def test_without_dlt_columns_on_arrow_rows_stay_dicts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NORMALIZE__PARQUET_NORMALIZER__ADD_DLT_LOAD_ID", "false")
    pipeline = make_pipeline(tmp_path)
    seen: list[bool] = []

    @dlt.resource(name="probe")
    def probe() -> Iterator[dict[str, bool]]:
        seen.append(loads_arrow(current_destination()))
        yield {"arrow": seen[-1]}

    pipeline.extract(probe())
    monkeypatch.setenv("NORMALIZE__PARQUET_NORMALIZER__ADD_DLT_LOAD_ID", "true")
    pipeline.extract(probe())
    assert seen == [False, True]


@pytest.mark.parametrize("dlt_adds_it", [False, True], ids=["the funnel adds _dlt_id", "dlt's normalize adds it"])
def test_arrow_rows_get_one_unique_dlt_id_whoever_adds_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, dlt_adds_it: bool
) -> None:
    monkeypatch.setenv("NORMALIZE__PARQUET_NORMALIZER__ADD_DLT_ID", str(dlt_adds_it).lower())
    pipeline = make_pipeline(tmp_path)
    rows = [_message(f"m{n}", "text", {"id": n}) for n in range(1, 6)]
    run_source(pipeline, _source(rows, as_arrow=True))
    found = query(pipeline, "SELECT COUNT(*), COUNT(DISTINCT _dlt_id), COUNT(_dlt_id) FROM {messages}")
    assert found == [(5, 5, 5)]
    column = pipeline.default_schema.get_table("messages")["columns"]["_dlt_id"]
    assert (column.get("unique"), column.get("row_key"), column.get("nullable")) == (True, True, False)


def test_a_warehouse_whose_row_ids_dlt_added_continues_with_the_funnels(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pipeline = make_pipeline(tmp_path)
    monkeypatch.setenv("NORMALIZE__PARQUET_NORMALIZER__ADD_DLT_ID", "true")  # as chatsync loaded before
    run_source(pipeline, _source([_message("m1", "one", {"id": 1}), _message("m2", "two", {"id": 2})], as_arrow=True))
    monkeypatch.setenv("NORMALIZE__PARQUET_NORMALIZER__ADD_DLT_ID", "false")
    edited = [_message("m2", "two, edited", {"id": 2}), _message("m3", "three", {})]
    run_source(pipeline, _source(edited, as_arrow=True))
    found = query(pipeline, "SELECT message_id, content, _dlt_id FROM {messages} ORDER BY 1")
    assert [(m, c) for m, c, _ in found] == [("m1", "one"), ("m2", "two, edited"), ("m3", "three")]
    assert len({row_id for *_, row_id in found}) == 3 and all(row_id for *_, row_id in found)


def _messages_file(pipeline: dlt.Pipeline, load_id: str) -> bytes:
    jobs = pipeline.get_load_package_info(load_id).jobs["new_jobs"]
    [path] = [job.file_path for job in jobs if Path(job.file_path).name.startswith("messages.")]
    return Path(path).read_bytes()


def test_with_the_funnel_adding_dlt_id_normalize_imports_files_without_rewriting(tmp_path: Path) -> None:
    pipeline = make_pipeline(tmp_path)
    rows = [_message(f"m{n}", "text", {"id": n}) for n in range(1, 4)]
    load_id = pipeline.extract(_source(rows, as_arrow=True)).loads_ids[-1]
    extracted = _messages_file(pipeline, load_id)
    pipeline.normalize()
    assert _messages_file(pipeline, load_id) == extracted, "the file loaded is the file extracted, not rewritten"


def test_a_repeated_conversation_or_key_in_one_run_loads_once(tmp_path: Path) -> None:
    pipeline = make_pipeline(tmp_path)
    first = [_message("m1", "one", {"id": 1}), _message("m2", "two", {"id": 2}), _message("m2", "again", {"id": 2})]
    repeat = [_message("m3", "a listing named the conversation twice", {"id": 3})]

    @dlt.resource(name="repeats")
    def repeats() -> Iterator[Any]:
        yield from batched([as_messages(first), as_messages(repeat)], as_arrow=True)

    run_source(pipeline, repeats())
    found = query(pipeline, "SELECT message_id, content FROM {messages} ORDER BY 1")
    assert found == [("m1", "one"), ("m2", "two")], "first copy kept, a repeated conversation dropped"
    hints = pipeline.default_schema.get_table("messages")
    assert hints.get("x-stage-data-deduplicated") is True, "dlt skips its own window over the staged rows"


def _canonical_rows() -> Any:
    @dlt.resource(name="rows")
    def rows() -> Iterator[Any]:
        conversation = conversation_row(
            provider="owlbot",
            bot_id="bot",
            conversation_id="c1",
            started_at=T0,
            user_id=None,
            reported_message_count=1,
            raw={},
        )
        pieces = [as_messages([_message("m1", "one", {"id": 1})]), as_conversations([conversation])]
        yield from batched(pieces, destination=current_destination())

    return rows()


def test_bigquery_tables_are_partitioned_by_day_and_clustered(tmp_path: Path) -> None:
    # built from configuration and checked offline: extract and normalize never reach BigQuery
    pipeline = dlt.pipeline(
        pipeline_name="bq_hints",
        destination=make_destination("bigquery"),
        dataset_name="chat_history",
        pipelines_dir=str(tmp_path / "pipelines"),
    )
    pipeline.extract(_canonical_rows())
    pipeline.normalize()
    messages = pipeline.default_schema.get_table("messages")
    conversations = pipeline.default_schema.get_table("conversations")
    assert messages["columns"]["created_at"].get("x-bigquery-partition") is True
    assert messages.get("x-bigquery-cluster-columns") == ["provider", "conversation_id"]
    assert conversations.get("x-bigquery-cluster-columns") == ["provider", "bot_id"]
    assert [c for c, column in conversations["columns"].items() if column.get("x-bigquery-partition")] == []
    assert messages.get("x-stage-data-deduplicated") is True


def test_other_destinations_get_no_bigquery_hints(tmp_path: Path) -> None:
    pipeline = make_pipeline(tmp_path)
    pipeline.extract(_canonical_rows())
    messages = pipeline.default_schema.get_table("messages")
    assert "x-bigquery-cluster-columns" not in messages
    assert not any(key.startswith("x-bigquery") for column in messages["columns"].values() for key in column)
