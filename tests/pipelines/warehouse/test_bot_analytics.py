"""Chatbot analytics views: hand-built edge cases, and every view against the simulator's ground truth."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import dlt
import pytest

from pipelines.warehouse.analytics import VIEWS, refresh_views
from sources.common.batching import batched
from sources.common.rows import (
    TableRows,
    as_citations,
    as_conversations,
    as_messages,
    citation_rows,
    conversation_row,
    message_row,
)
from tests import reference
from tests.utils import chatbot_truth, make_pipeline, run_source, utc, view
from tests.worlds import EngineLoaded

DAY1 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
DAY2 = DAY1 + timedelta(days=1)
DAY3 = DAY1 + timedelta(days=2)

# (provider, bot, conversation, user_id, for_agent, [(role, seconds after its day, sender, model, latency, cited)])
Message = tuple[str, float, str | None, str | None, int | None, list[int]]
CONVERSATIONS: list[tuple[str, str, str, datetime, str | None, bool | None, list[Message]]] = [
    # two agent messages: one handoff; the bot had answered before
    (
        "owlbot",
        "bot_a",
        "two_handoffs",
        DAY1,
        "u1",
        None,
        [
            ("user", 0, None, None, None, []),
            ("assistant", 5, None, None, None, [7, 7, 8]),  # a repeated id is one citation
            ("agent", 60, None, None, None, []),
            ("user", 70, None, None, None, []),
            ("agent", 90, None, None, None, []),
        ],
    ),
    # the agent answers before any bot reply
    (
        "owlbot",
        "bot_a",
        "handoff_first",
        DAY1,
        "u2",
        None,
        [
            ("user", 100, None, None, None, []),
            ("agent", 110, None, None, None, []),
            ("assistant", 130, None, None, None, [7]),
        ],
    ),
    # contained: answered by the bot alone; u1 again, a day later, same bot: returning
    (
        "owlbot",
        "bot_a",
        "u1_returns",
        DAY2,
        "u1",
        None,
        [
            ("user", 0, None, None, None, []),
            ("assistant", 4, None, None, None, []),
        ],
    ),
    # u2 on a later day, but to another bot: not returning for that bot
    (
        "owlbot",
        "bot_b",
        "u2_other_bot",
        DAY3,
        "u2",
        None,
        [
            ("user", 0, None, None, None, []),
            ("assistant", 2, None, None, None, [9]),
        ],
    ),
    # ChatNode's own flag, no agent message: handed off, but when is unknown; no user key
    (
        "chatnode",
        "bot_c",
        "flagged",
        DAY1,
        None,
        True,
        [
            ("user", 0, None, None, None, []),
            ("assistant", 3, None, None, None, []),
        ],
    ),
    (
        "chatnode",
        "bot_c",
        "not_flagged",
        DAY1,
        None,
        False,
        [
            ("user", 10, None, None, None, []),
            ("assistant", 12, None, None, None, []),
        ],
    ),
    # example-ai: no handoff signal; model and latency where the metadata says, none without it
    (
        "example_ai",
        "default",
        "with_meta",
        DAY1,
        None,
        None,
        [
            ("user", 0, "usr_x", None, None, []),
            ("assistant", 1, "bot", "m1", 100, []),
            ("user", 2, "usr_x", None, None, []),
            ("assistant", 3, "bot", "m1", 400, []),
            ("user", 4, "usr_x", None, None, []),
            ("assistant", 5, "bot", "m1", 200, []),
            ("user", 6, "usr_x", None, None, []),
            ("assistant", 7, "bot", "m1", 300, []),
        ],
    ),
    (
        "example_ai",
        "default",
        "no_meta",
        DAY1,
        None,
        None,
        [
            ("user", 50, "usr_y", None, None, []),
            ("assistant", 51, "bot", None, None, []),
        ],
    ),
    # Feedloop: no signal at all, no user key
    (
        "feedloop",
        "default",
        "plain",
        DAY1,
        None,
        None,
        [
            ("user", 0, None, None, None, []),
        ],
    ),
]


def rows() -> Iterator[TableRows]:
    for provider, bot, cid, day, user_id, for_agent, messages in CONVERSATIONS:
        made = [
            message_row(
                provider=provider,
                bot_id=bot,
                conversation_id=cid,
                message_id=f"m{n}",
                role=role,
                content=None,
                created_at=day + timedelta(seconds=seconds),
                sender_id=sender,
                raw={},
                sequence=n,
                model=model,
                latency_ms=latency,
            )
            for n, (role, seconds, sender, model, latency, _) in enumerate(messages)
        ]
        yield as_messages(made)
        cited = [c for row, m in zip(made, messages, strict=True) for c in citation_rows(row, m[5])]
        if cited:
            yield as_citations(cited)
        country, device = ("FR", "mobile") if provider == "owlbot" else (None, None)
        yield as_conversations(
            [
                conversation_row(
                    provider=provider,
                    bot_id=bot,
                    conversation_id=cid,
                    started_at=day,
                    user_id=user_id,
                    reported_message_count=None,
                    raw={},
                    handed_off=for_agent,
                    country=country,
                    device_type=device,
                )
            ]
        )


def edge_case_source() -> Any:
    @dlt.resource(name="bot_edge_cases")
    def edge_cases() -> Iterator[Any]:
        yield from batched(rows())

    return edge_cases


def named(pipeline: dlt.Pipeline, name: str, order: str) -> list[dict[str, Any]]:
    with pipeline.sql_client() as client:
        table = client.make_qualified_table_name(name)
        with client.execute_query(f"SELECT * FROM {table} ORDER BY {order}") as cursor:
            names = [d[0] for d in cursor.description]
            found = cursor.fetchall()
    return [dict(zip(names, row, strict=True)) for row in found]


@pytest.fixture
def edge_cases(tmp_path: Path) -> dlt.Pipeline:
    pipeline = make_pipeline(tmp_path)
    run_source(pipeline, edge_case_source())
    assert refresh_views(pipeline) == list(VIEWS)
    return pipeline


def test_outcomes_of_the_edge_cases(edge_cases: dlt.Pipeline) -> None:
    got = {r["conversation_id"]: r for r in named(edge_cases, "conversation_outcomes", "provider, conversation_id")}
    pick = ("handed_off", "contained", "user_key", "returning_user", "kb_citations")
    assert {cid: tuple(r[k] for k in pick) for cid, r in got.items()} == {
        "two_handoffs": (True, False, "u1", False, 2),
        "handoff_first": (True, False, "u2", False, 1),
        "u1_returns": (False, True, "u1", True, 0),
        "u2_other_bot": (False, True, "u2", False, 1),
        "flagged": (True, False, None, None, None),
        "not_flagged": (False, True, None, None, None),
        "with_meta": (None, None, "usr_x", False, None),
        "no_meta": (None, None, "usr_y", False, None),
        "plain": (None, None, None, None, None),
    }
    assert utc(got["two_handoffs"]["handoff_at"]) == DAY1 + timedelta(seconds=60), "the first of two handoffs"
    assert utc(got["handoff_first"]["handoff_at"]) == DAY1 + timedelta(seconds=110)
    assert got["flagged"]["handoff_at"] is None, "a flag says that, not when"


def test_daily_kpis_of_the_edge_cases(edge_cases: dlt.Pipeline) -> None:
    got = {
        (r["day"], r["provider"], r["bot_id"]): r for r in named(edge_cases, "bot_daily_kpis", "day, provider, bot_id")
    }
    owl = got[(DAY1.date(), "owlbot", "bot_a")]
    assert (owl["conversations"], owl["handoff_rate"], owl["containment_rate"]) == (2, 1.0, 0.0)
    assert (owl["new_users"], owl["returning_users"]) == (2, 0)
    later = got[(DAY2.date(), "owlbot", "bot_a")]
    assert (later["new_users"], later["returning_users"], later["containment_rate"]) == (0, 1, 1.0)
    other_bot = got[(DAY3.date(), "owlbot", "bot_b")]
    assert (other_bot["new_users"], other_bot["returning_users"]) == (1, 0)
    chatnode = got[(DAY1.date(), "chatnode", "bot_c")]
    assert (chatnode["handoff_rate"], chatnode["containment_rate"]) == (0.5, 0.5)
    assert (chatnode["new_users"], chatnode["returning_users"]) == (None, None), "no user key: NULL, not zero"
    example = got[(DAY1.date(), "example_ai", "default")]
    assert (example["handoff_rate"], example["containment_rate"], example["new_users"]) == (None, None, 2)
    assert example["median_first_response_seconds"] == 1.0
    feedloop = got[(DAY1.date(), "feedloop", "default")]
    assert (feedloop["abandoned_rate"], feedloop["handoff_rate"], feedloop["new_users"]) == (1.0, None, None)


def test_knowledge_latency_and_audience_of_the_edge_cases(edge_cases: dlt.Pipeline) -> None:
    usage = named(edge_cases, "knowledge_usage", "provider, bot_id, knowledge_id")
    assert [(r["bot_id"], r["knowledge_id"], r["citations"], r["conversations"]) for r in usage] == [
        ("bot_a", "7", 2, 2),
        ("bot_a", "8", 1, 1),
        ("bot_b", "9", 1, 1),
    ]
    latency = named(edge_cases, "model_latency", "day, provider, model")
    assert [(r["provider"], r["model"], r["replies"], r["p50_latency_ms"], r["p95_latency_ms"]) for r in latency] == [
        ("example_ai", "m1", 4, 250.0, 400),  # nearest rank: ceil(0.95 * 4) = 4th of 100, 200, 300, 400
    ]
    audience = {
        (r["provider"], r["bot_id"], r["country"], r["device_type"]): r
        for r in named(edge_cases, "audience", "provider, bot_id")
    }
    assert (
        audience[("owlbot", "bot_a", "FR", "mobile")]["conversations"],
        audience[("owlbot", "bot_a", "FR", "mobile")]["users"],
    ) == (3, 2)
    assert audience[("chatnode", "bot_c", None, None)]["users"] is None
    assert audience[("example_ai", "default", None, None)]["users"] == 2


def test_views_exist_before_any_provider_sends_citations(tmp_path: Path) -> None:
    pipeline = make_pipeline(tmp_path)
    only_chatnode = [c for c in CONVERSATIONS if c[0] == "chatnode"]

    @dlt.resource(name="chatnode_only")
    def chatnode_rows() -> Iterator[Any]:
        original = CONVERSATIONS[:]
        CONVERSATIONS[:] = only_chatnode
        try:
            yield from batched(rows())
        finally:
            CONVERSATIONS[:] = original

    run_source(pipeline, chatnode_rows())
    assert refresh_views(pipeline) == list(VIEWS)
    assert named(pipeline, "knowledge_usage", "provider") == []
    kb = [r["kb_citations"] for r in named(pipeline, "conversation_outcomes", "conversation_id")]
    assert kb == [None, None]


def close(got: Any, want: Any) -> bool:
    if isinstance(want, float) and got is not None:
        return bool(got == pytest.approx(want, abs=1e-6))
    if isinstance(want, datetime):
        return utc(got) == want
    return bool(got == want)


def assert_view(got: list[dict[str, Any]], key: tuple[str, ...], want: dict[Any, dict[str, Any]]) -> None:
    rows = {tuple(r[k] for k in key): r for r in got}
    assert rows.keys() == want.keys()
    for k, expected in want.items():
        for column, value in expected.items():
            assert close(rows[k][column], value), (k, column, rows[k][column], value)


def test_every_view_against_an_independent_computation_from_ground_truth(views_world: EngineLoaded) -> None:
    pipeline = views_world.pipeline()
    records, conversations = chatbot_truth(views_world.sim)
    outcomes = reference.conversation_outcomes(records, conversations)
    assert any(o["handed_off"] for o in outcomes.values() if o["handoff_at"]), "OwlBot hands off by agent messages"
    assert any(o["handed_off"] and o["handoff_at"] is None for o in outcomes.values()), "ChatNode by its flag"
    assert any(o["returning_user"] for o in outcomes.values()), "the simulator has returning users"
    assert_view(
        named(pipeline, "conversation_outcomes", "provider, conversation_id"),
        ("provider", "conversation_id"),
        {key: {k: v for k, v in o.items() if k != "bot_id"} for key, o in outcomes.items()},
    )
    kpis = named(pipeline, "bot_daily_kpis", "day, provider, bot_id")
    assert_view(kpis, ("day", "provider", "bot_id"), reference.bot_daily_kpis(records, conversations))
    usage = reference.knowledge_usage(records)
    assert usage, "the simulator cites knowledge-base vectors"
    assert_view(named(pipeline, "knowledge_usage", "provider"), ("provider", "bot_id", "knowledge_id"), usage)
    latency = reference.model_latency(records)
    assert len({model for _, _, model in latency}) == 2, "the simulator names two models"
    assert_view(named(pipeline, "model_latency", "day"), ("day", "provider", "model"), latency)
    audience = reference.audience(records, conversations)
    assert {device for _, _, _, device in audience} >= {"mobile", "desktop"}
    assert_view(named(pipeline, "audience", "provider"), ("provider", "bot_id", "country", "device_type"), audience)
    assert view(pipeline, "provider_signals", "provider") == [
        ("chatnode", True, False, False, False, False),
        ("example_ai", False, True, False, True, False),
        ("feedloop", False, False, False, False, False),
        ("intercom", True, True, True, False, False),  # a human reply or Fin's handoff, contact ids, Fin's sources
        ("owlbot", True, True, True, False, True),
    ]
