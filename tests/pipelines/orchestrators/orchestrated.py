"""Shared by the orchestration tests (Dagster and Airflow): the simulator configured as shards expect it."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import duckdb
import pytest

from pipelines.cli.simulated import simulator_environment
from simulator import Simulator

PROVIDERS = ("example_ai", "owlbot", "chatnode", "feedloop")
MessageCounts = Counter[tuple[str, str]]
CONFIGURED: dict[str, set[str]] = {}  # the conversation ids configure() named, per provider that needs them


def configure(sim: Simulator, monkeypatch: pytest.MonkeyPatch, warehouse: Path) -> None:
    """Every provider on the simulator; OwlBot bots named so that it shards by bot; two conversation sets."""
    for key, value in simulator_environment(sim).items():
        monkeypatch.setenv(key, value)
    CONFIGURED.clear()
    CONFIGURED.update({p: set(sim.corpus.conversation_ids(p)) for p in ("example_ai", "feedloop")})
    monkeypatch.setenv("SOURCES__OWLBOT__CHATBOT_IDS", json.dumps([b.bot_id for b in sim.corpus.bots["owlbot"]]))
    monkeypatch.setenv("CHATSYNC__ORCHESTRATION__CONVERSATION_SHARDS", "2")
    monkeypatch.setenv("DESTINATION__DUCKDB__CREDENTIALS", str(warehouse))


def warehouse_counts(warehouse: Path) -> MessageCounts:
    """Messages per ``(provider, conversation)`` in the warehouse."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        rows = con.execute("SELECT provider, conversation_id, COUNT(*) FROM chat_history.messages GROUP BY 1, 2")
        return Counter({(p, c): n for p, c, n in rows.fetchall()})


def truth_counts(sim: Simulator, providers: tuple[str, ...] = PROVIDERS) -> MessageCounts:
    """Messages per ``(provider, conversation)`` the APIs serve now, of the configured conversations.

    example-ai and Feedloop cannot list conversations: those started after ``configure`` are not configured.
    """
    return Counter(
        (p, m.conversation_id)
        for p in providers
        for m in sim.truth(p).messages
        if p not in CONFIGURED or m.conversation_id in CONFIGURED[p]
    )
