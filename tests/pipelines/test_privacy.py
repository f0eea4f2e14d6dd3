"""Secrets and personal data: the scan of everything chatsync writes, the policy, erasure.

The scan runs every provider against the simulator with distinctive keys (example-ai echoing its
key in every body, errors included), then searches every file under the state dir (gzip opened,
parquet read back, the pickled trace included), every table and view of the warehouse (staging
included) and all output. Two negative controls show the scan would catch a leak.
"""

from __future__ import annotations

import gzip
import json
import stat
from datetime import timedelta
from pathlib import Path
from typing import Any

import duckdb
import pyarrow.parquet as pq
import pytest
import requests

from pipelines.cli import main
from pipelines.demo import simulator_environment
from simulator import Corpus, Simulator, SimulatorSettings

KEYS = {
    "example_ai": "sk_live_EXAMPLE_9f8e7d6c5b4a3210",
    "owlbot": "owl_live_KEY_0a1b2c3d4e5f6789",
    "chatnode": "cn_live_KEY_feedfacecafebeef",
    "feedloop": "fl_live_TOKEN_1234abcd5678ef90",
}
PII_KEY = "pii-key-DISTINCT-7a6b5c4d3e2f1a0b"
DSN_PASSWORD = "s3cretPW-DSN-41b2"


def personal_values(sim: Simulator) -> dict[str, set[str]]:
    """The raw personal data the simulated providers send: ips, user agents, names, emails, phones."""
    found: dict[str, set[str]] = {"ip": set(), "user_agent": set(), "email": set(), "phone": set(), "name": set()}
    owl = {"Authorization": KEYS["owlbot"]}
    for bot in sim.corpus.bots["owlbot"]:
        for session in requests.get(f"{sim.base_url('owlbot')}/chatbot/{bot.bot_id}/conversation", headers=owl).json():
            found["ip"].add(session["ip"])
            found["user_agent"].add(session["user_agent"])
    node = {"Authorization": f"Bearer {KEYS['chatnode']}"}
    for bot in sim.corpus.bots["chatnode"]:
        for lead in requests.post(f"{sim.base_url('chatnode')}/get-conversation-ids/{bot.bot_id}", headers=node).json():
            for field in ("email", "phone", "name"):
                if lead.get(f"enduser_{field}"):
                    found[field].add(lead[f"enduser_{field}"])
    return found


def file_texts(root: Path) -> dict[Path, str]:
    """Every file below ``root`` as text: gzip opened, parquet read back, anything else as bytes."""
    texts = {}
    for path in root.rglob("*"):
        if not path.is_file():
            continue
        if path.suffix == ".parquet":
            texts[path] = json.dumps(pq.read_table(path).to_pylist(), default=str)
            continue
        data = path.read_bytes()
        if data[:2] == b"\x1f\x8b":
            data = gzip.decompress(data)
        texts[path] = data.decode("utf-8", errors="replace")
    return texts


def warehouse_texts(warehouse: Path) -> dict[str, str]:
    """Every table and view of every schema (staging included) as text."""
    texts = {}
    with duckdb.connect(str(warehouse), read_only=True) as con:
        tables = con.execute("SELECT table_schema, table_name FROM information_schema.tables").fetchall()
        for schema, table in tables:
            rows = con.execute(f'SELECT * FROM "{schema}"."{table}"').fetchall()
            texts[f"{schema}.{table}"] = json.dumps(rows, default=str, ensure_ascii=False)
    return texts


def leaks(texts: dict[Any, str], needles: dict[str, set[str]]) -> list[str]:
    return sorted(
        f"{kind} in {where}" for where, text in texts.items() for kind, values in needles.items() for v in values if v in text
    )


def scan(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    """Runs everything chatsync does on a schedule, then searches all it wrote and printed."""
    settings = SimulatorSettings(api_keys=KEYS, echo_credentials=frozenset({"example_ai"}))
    monkeypatch.setenv("CHATSYNC__PII_KEY", PII_KEY)
    monkeypatch.setenv("RUNTIME__LOG_LEVEL", "INFO")  # logs at every level
    with Simulator(Corpus(seed=23, size=700), settings=settings) as sim:
        for key, value in simulator_environment(sim).items():
            monkeypatch.setenv(key, value)
        ids = sim.corpus.conversation_ids("example_ai")
        monkeypatch.setenv("SOURCES__EXAMPLE_AI__CONVERSATION_IDS", json.dumps([*ids, "con_does_not_exist"]))
        warehouse = tmp_path / "state" / "chatsync.duckdb"
        monkeypatch.setenv("DESTINATION__DUCKDB__CREDENTIALS", str(warehouse))
        state = ["--pipelines-dir", str(tmp_path / "state" / "pipelines")]
        codes = [main(["run", *state])]
        sim.advance(timedelta(days=1))
        codes.append(main(["run", *state]))
        codes.append(main(["backfill", "--provider", "chatnode", "--since", "2026-03-01", *state]))
        codes.append(main(["report", "--html", str(tmp_path / "state" / "report.html"), *state]))
        monkeypatch.setenv("DESTINATION__POSTGRES__CREDENTIALS", f"loader:{DSN_PASSWORD}@127.0.0.1/analytics")
        codes.append(main(["run", "--provider", "owlbot", "--destination", "postgres", *state]))
        personal = personal_values(sim)
    out = capsys.readouterr()
    secrets = {"key": set(KEYS.values()) | {PII_KEY}, "dsn password": {DSN_PASSWORD}}
    texts: dict[Any, str] = {**file_texts(tmp_path / "state"), **warehouse_texts(warehouse), "output": out.out + out.err}
    return {
        "codes": codes,
        "secret leaks": leaks(texts, secrets),
        "personal leaks": leaks(texts, personal),
        "personal": personal,
        "root": tmp_path / "state",
        "warehouse": warehouse,
    }


def test_nothing_secret_or_personal_is_written_or_printed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    found = scan(tmp_path, monkeypatch, capsys)
    assert found["codes"] == [0, 0, 0, 0, 1], "the last run fails on the bad DSN, without printing it"
    assert all(found["personal"].values()), "the simulator did send personal data"
    assert found["secret leaks"] == []
    assert found["personal leaks"] == []
    for path in found["root"].rglob("*"):
        mode = stat.S_IMODE(path.stat().st_mode)
        assert mode == (0o700 if path.is_dir() else 0o600), f"{path} is {oct(mode)}"


def test_the_scan_finds_personal_data_when_the_policy_keeps_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for field in ("ip", "email", "phone", "name", "geo", "user_agent"):
        monkeypatch.setenv(f"CHATSYNC__PRIVACY__{field.upper()}", "keep")
    found = scan(tmp_path, monkeypatch, capsys)
    kinds = {leak.split(" in ")[0] for leak in found["personal leaks"]}
    assert kinds == {"ip", "user_agent", "email", "phone", "name"}


def test_the_scan_finds_an_echoed_key_when_payloads_are_not_scrubbed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import sources.common.http as http

    monkeypatch.setattr(http, "echoes_secret", lambda raw: False)  # our own scrubbing, switched off
    found = scan(tmp_path, monkeypatch, capsys)
    assert any(leak.startswith("key in chat_history.messages") for leak in found["secret leaks"])
