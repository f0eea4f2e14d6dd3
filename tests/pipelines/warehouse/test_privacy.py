"""Secrets and personal data: the scan of everything chatsync writes, the policy, erasure.

The scan runs every provider against the simulator with distinctive keys (example-ai echoing its
key in every body, errors included), then searches every file under the state dir (gzip opened,
parquet read back, the pickled trace included), every table and view of the warehouse (staging
included) and all output. Two negative controls show the scan would catch a leak.
"""

from __future__ import annotations

import gzip
import json
import re
import stat
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

import duckdb
import pyarrow.parquet as pq
import pytest
import requests

from pipelines.cli import main
from pipelines.cli.simulated import simulator_environment
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
    found = set()
    for where, text in texts.items():
        for kind, values in needles.items():
            found.update(f"{kind} in {where}" for value in values if value in text)
    return sorted(found)


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
    output = {"output": out.out + out.err}
    texts: dict[Any, str] = {**file_texts(tmp_path / "state"), **warehouse_texts(warehouse), **output}
    return {
        "codes": codes,
        "secret leaks": leaks(texts, secrets),
        "personal leaks": leaks(texts, personal),
        "personal": personal,
        "root": tmp_path / "state",
        "warehouse": warehouse,
    }


@pytest.mark.slow
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


# keys with the characters JSON encoders escape or that look like base64: "/", "+", "="
SLASHED_KEYS = {provider: f"{key[:8]}/{key[8:16]}+{key[16:]}==" for provider, key in KEYS.items()}


@pytest.mark.parametrize(
    "style", ["value", pytest.param("escaped", marks=pytest.mark.slow), pytest.param("member", marks=pytest.mark.slow)]
)
def test_a_key_echoed_in_any_json_spelling_never_reaches_a_row_or_a_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], style: str
) -> None:
    """Every provider quotes the key back: in strings, with "/" escaped as "\\/", or as a member name."""
    settings = SimulatorSettings(api_keys=SLASHED_KEYS, echo_credentials=frozenset(KEYS), echo_style=style)
    warehouse = tmp_path / "state" / "chatsync.duckdb"
    with Simulator(Corpus(seed=29, size=400), settings=settings) as sim:
        for key, value in simulator_environment(sim).items():
            monkeypatch.setenv(key, value)
        monkeypatch.setenv("DESTINATION__DUCKDB__CREDENTIALS", str(warehouse))
        body = requests.get(
            f"{sim.base_url('example_ai')}/chat/history",
            params={"conversation_id": sim.corpus.conversation_ids("example_ai")[0]},
            headers={"Authorization": f"Bearer {SLASHED_KEYS['example_ai']}"},
        ).content
        assert (SLASHED_KEYS["example_ai"].encode() in body) == (style != "escaped"), "the echo is as styled"
        state = ["--pipelines-dir", str(tmp_path / "state" / "pipelines")]
        assert main(["run", *state]) == 0
    out = capsys.readouterr()
    texts: dict[Any, str] = {**file_texts(tmp_path / "state"), **warehouse_texts(warehouse)}
    texts["output"] = out.out + out.err
    assert leaks(texts, {"key": set(SLASHED_KEYS.values())}) == []
    raw = "SELECT COUNT(*) FROM chat_history.messages WHERE CAST(raw AS VARCHAR) LIKE '%***%'"
    assert count_rows(warehouse, raw) > 0, "the echo was there, and masked"


@pytest.mark.slow
def test_the_scan_finds_personal_data_when_the_policy_keeps_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for field in ("ip", "email", "phone", "name", "geo", "user_agent"):
        monkeypatch.setenv(f"CHATSYNC__PRIVACY__{field.upper()}", "keep")
    found = scan(tmp_path, monkeypatch, capsys)
    kinds = {leak.split(" in ")[0] for leak in found["personal leaks"]}
    assert kinds == {"ip", "user_agent", "email", "phone", "name"}


@pytest.mark.slow
def test_the_scan_finds_an_echoed_key_when_payloads_are_not_scrubbed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import sources.common.http as http

    monkeypatch.setattr(http, "echoes_secret", lambda raw, document=None: False)  # our own scrubbing, switched off
    found = scan(tmp_path, monkeypatch, capsys)
    assert any(leak.startswith("key in chat_history.messages") for leak in found["secret leaks"])


def count_rows(warehouse: Path, sql: str, *args: Any) -> int:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return int(con.execute(sql, list(args)).fetchall()[0][0])


def test_forget_erases_an_end_user_and_no_later_run_or_backfill_brings_them_back(
    sim: Simulator,
    configured: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    warehouse = configured
    assert main(["run", "--provider", "owlbot"]) == 0
    truth = sim.truth("owlbot")
    user = next(c.user_id for c in truth.conversations if c.user_id)
    theirs = {c.conversation_id for c in truth.conversations if c.user_id == user}
    their_messages = sum(1 for m in truth.messages if m.conversation_id in theirs)
    their_citations = sum(len(m.knowledge_ids) for m in truth.messages if m.conversation_id in theirs)
    assert their_citations, "the end user's answers cite the knowledge base: those rows go too"
    assert main(["forget", "--provider", "owlbot", "--user-id", user]) == 0
    said = capsys.readouterr().out
    erased = f"{their_messages} messages, {their_citations} knowledge_citations, {len(theirs)} conversations"
    assert f"owlbot: erased that end user: {erased}" in said
    assert user not in said
    sim.advance(timedelta(days=2))
    assert main(["run", "--provider", "owlbot"]) == 0
    assert main(["backfill", "--provider", "owlbot", "--since", "2026-02-01"]) == 0
    in_warehouse = "SELECT COUNT(*) FROM chat_history.conversations WHERE provider = 'owlbot' AND user_id = ?"
    assert count_rows(warehouse, in_warehouse, user) == 0
    marks = ", ".join("?" for _ in theirs)
    cited = f"SELECT COUNT(*) FROM chat_history.knowledge_citations WHERE conversation_id IN ({marks})"
    assert count_rows(warehouse, cited, *theirs) == 0, "no citation of theirs comes back either"
    others = {c.conversation_id for c in sim.truth("owlbot").conversations if c.user_id != user}
    loaded = count_rows(warehouse, "SELECT COUNT(*) FROM chat_history.conversations WHERE provider = 'owlbot'")
    assert loaded == len(others), "everyone else still loads"
    suppressions = count_rows(warehouse, "SELECT COUNT(*) FROM chat_history.suppressions WHERE key_hash = ?", user)
    assert suppressions == 0, "the suppression holds a keyed hash, never the raw id"
    assert main(["forget", "--provider", "owlbot", "--user-id", "nobody-like-this"]) == 0
    assert "that end user matches nothing in duckdb" in capsys.readouterr().out


def test_forget_one_conversation_of_a_provider_without_user_ids(
    sim: Simulator,
    configured: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    warehouse = configured
    assert main(["run", "--provider", "chatnode"]) == 0
    target = sim.corpus.conversation_ids("chatnode")[0]
    assert main(["forget", "--provider", "chatnode", "--user-id", "x"]) == 2, "ChatNode sends no user id"
    assert main(["forget", "--provider", "chatnode", "--conversation", target]) == 0
    sim.advance(timedelta(days=1))
    assert main(["run", "--provider", "chatnode"]) == 0
    sql = "SELECT COUNT(*) FROM chat_history.messages WHERE provider = 'chatnode' AND conversation_id = ?"
    assert count_rows(warehouse, sql, target) == 0


def test_default_policy_hashes_and_coarsens_and_hashes_are_stable(
    sim: Simulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key, value in simulator_environment(sim).items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("CHATSYNC__PRIVACY__CHATNODE__PHONE", "drop")
    monkeypatch.setenv("CHATSYNC__REDACT_CONTENT", "false")
    runs = []
    for n in (1, 2):
        warehouse = tmp_path / f"w{n}.duckdb"
        monkeypatch.setenv("DESTINATION__DUCKDB__CREDENTIALS", str(warehouse))
        state = ["--pipelines-dir", str(tmp_path / f"p{n}")]
        assert main(["run", "--provider", "owlbot", "--provider", "chatnode", *state]) == 0
        with duckdb.connect(str(warehouse), read_only=True) as con:
            rows = con.execute("SELECT raw FROM chat_history.conversations ORDER BY conversation_id").fetchall()
        raws = [json.loads(r) for (r,) in rows]
        runs.append(raws)
    assert runs[0] == runs[1], "hashes are stable across runs"
    session = next(r for r in runs[0] if "ip" in r)
    assert session["ip"].startswith("hmac:") and len(session["ip"]) == 37
    assert set(session["geo"]) == {"city", "region", "country", "countryRegion"}
    assert set(session["user_agent"]) == {"device", "os", "browser"}
    lead = next(r for r in runs[0] if "enduser_email" in r)
    assert lead["enduser_email"].startswith("hmac:") and "enduser_phone" not in lead


def test_redact_content_masks_emails_phones_and_valid_card_numbers() -> None:
    from sources.common.privacy import PrivacyPolicy

    counted: dict[str, int] = {}
    policy = PrivacyPolicy.from_config("example_ai", b"k", lambda what, n: counted.update({what: n}))
    policy.redact_content = True
    text = "mail a.b@example.com or +1 (555) 010-9999, card 4111 1111 1111 1111, not 4111 1111 1111 1112, on 2026-03-01"
    assert policy.redact(text) == "mail [email] or [phone], card [card], not 4111 1111 1111 1112, on 2026-03-01"
    assert sorted(counted) == [
        "card numbers masked in message texts (redact_content)",
        "emails masked in message texts (redact_content)",
        "phone numbers masked in message texts (redact_content)",
    ]


def test_redact_content_is_read_from_config_and_covers_the_raw_copy(monkeypatch: pytest.MonkeyPatch) -> None:
    from sources.common.privacy import PrivacyPolicy

    monkeypatch.setenv("CHATSYNC__REDACT_CONTENT", "true")
    policy = PrivacyPolicy.from_config("feedloop", b"k")
    row = {"provider": "feedloop", "content": "write to x@y.org", "raw": {"content": "write to x@y.org", "n": 1}}
    assert policy.apply("messages", row) == {
        "provider": "feedloop",
        "content": "write to [email]",
        "raw": {"content": "write to [email]", "n": 1},
    }
    monkeypatch.setenv("CHATSYNC__PRIVACY__FEEDLOOP__REDACT_CONTENT", "false")
    assert not PrivacyPolicy.from_config("feedloop", b"k").redact_content


def pg_count(sql: str, *args: Any) -> int:
    from pipelines.engine.factory import reading_pipeline
    from pipelines.engine.target import Target

    with reading_pipeline(Target(destination="postgres", dataset="erasure")) as pipeline:
        assert pipeline is not None
        with pipeline.sql_client() as client:
            return int(client.execute_sql(sql, *args)[0][0])


@pytest.mark.slow
def test_a_user_forgotten_in_duckdb_never_reaches_postgres_and_suppressions_can_be_listed_and_undone(
    sim: Simulator,
    configured: Path,
    postgres_uri: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("DESTINATION__POSTGRES__CREDENTIALS", postgres_uri)
    postgres = ["--destination", "postgres", "--dataset", "erasure"]
    truth = sim.truth("owlbot")
    user = next(c.user_id for c in truth.conversations if c.user_id)
    theirs = sorted(c.conversation_id for c in truth.conversations if c.user_id == user)
    their_messages = sum(1 for m in truth.messages if m.conversation_id in theirs)
    marks = ", ".join(["%s"] * len(theirs))
    in_postgres = f"SELECT COUNT(*) FROM erasure.messages WHERE provider = 'owlbot' AND conversation_id IN ({marks})"
    assert main(["-q", "run", "--provider", "owlbot"]) == 0
    assert main(["-q", "run", "--provider", "owlbot", *postgres]) == 0
    assert pg_count(in_postgres, *theirs) == their_messages > 0
    assert main(["forget", "--provider", "owlbot", "--user-id", user]) == 0  # in DuckDB only
    capsys.readouterr()
    assert main(["run", "--provider", "owlbot", *postgres]) == 0
    assert f"{their_messages} messages" in capsys.readouterr().err, "the erasure is applied, and said"
    assert pg_count(in_postgres, *theirs) == 0
    sim.advance(timedelta(days=2))
    assert main(["-q", "run", "--provider", "owlbot", *postgres]) == 0
    assert pg_count(in_postgres, *theirs) == 0, "no later Postgres run loads them"
    others = {c.conversation_id for c in sim.truth("owlbot").conversations if c.user_id != user}
    loaded = pg_count("SELECT COUNT(*) FROM erasure.conversations WHERE provider = 'owlbot'")
    assert loaded == len(others), "everyone else still loads into Postgres"

    assert main(["forget", "--list"]) == 0
    listed = capsys.readouterr().out
    assert user not in listed and not any(cid in listed for cid in theirs), "hashes only"
    hashes = re.findall(r"hmac:[0-9a-f]{32}", listed)
    assert len(hashes) == len(theirs) + 1, "the user and each of their conversations"
    user_line = next(line for line in listed.splitlines() if " user " in f" {line} ")
    user_hash = re.findall(r"hmac:[0-9a-f]{32}", user_line)[0]
    monkeypatch.setattr("sys.stdin.isatty", lambda: False)
    assert main(["forget", "--undo", user_hash]) == 2, "no terminal, no --yes: refused"
    assert main(["forget", "--undo", "hmac:" + "0" * 32, "--yes"]) == 2, "an unknown hash is refused"
    assert main(["forget", "--undo", user_hash, "--yes"]) == 0
    assert f"lifted owlbot user {user_hash}" in capsys.readouterr().out
    assert main(["forget", "--list"]) == 0
    assert user_hash not in capsys.readouterr().out
    suppressed = "SELECT COUNT(*) FROM chat_history.suppressions WHERE key_hash = ?"
    assert count_rows(configured, suppressed, user_hash) == 0, "lifted in this warehouse at once"
    assert main(["-q", "run", "--provider", "owlbot", *postgres]) == 0
    assert pg_count("SELECT COUNT(*) FROM erasure.suppressions WHERE key_hash = %s", user_hash) == 0


@pytest.mark.parametrize(
    "command",
    [
        ["forget", "--provider", "owlbot", "--user-id", ""],
        ["forget", "--provider", "owlbot", "--conversation", "  "],
        ["reset", "--provider", "owlbot", "--conversation", "does-not-exist", "--yes"],
        ["reset", "--provider", "owlbot", "--conversation", "", "--yes"],
    ],
)
def test_typos_are_refused_with_exit_2_and_one_line(
    sim: Simulator, configured: Path, capsys: pytest.CaptureFixture[str], command: list[str]
) -> None:
    assert main(["-q", "run", "--provider", "owlbot"]) == 0
    capsys.readouterr()
    assert main(command) == 2
    err = capsys.readouterr().err
    assert len([line for line in err.splitlines() if " error: " in line]) == 1, err
    assert main(["forget", "--list"]) == 0
    assert "hmac:" not in capsys.readouterr().out, "nothing was recorded"


def test_forgetting_an_id_that_matches_nothing_records_it_and_says_so(
    sim: Simulator, configured: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["forget", "--provider", "feedloop", "--conversation", "not-loaded-yet"]) == 0
    said = capsys.readouterr().out
    assert "matches nothing" in said and "recorded anyway" in said
    assert main(["forget", "--list", "--provider", "feedloop"]) == 0
    assert len(re.findall(r"hmac:[0-9a-f]{32}", capsys.readouterr().out)) == 1


def test_a_forgotten_user_is_not_loaded_back_by_a_backfill_of_their_new_session(
    sim: Simulator, configured: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["-q", "run", "--provider", "owlbot"]) == 0
    before = sim.truth("owlbot").conversations
    known = {c.conversation_id for c in before}
    users = Counter(c.user_id for c in before if c.user_id)
    returning = None
    for _ in range(12):  # a regular comes back with a new session
        sim.advance(timedelta(days=2))
        new = [c for c in sim.truth("owlbot").conversations if c.conversation_id not in known and c.user_id in users]
        if new:
            returning = new[0].user_id
            break
    assert returning, "the simulator's regulars return"
    theirs = [c.conversation_id for c in sim.truth("owlbot").conversations if c.user_id == returning]
    assert main(["forget", "--provider", "owlbot", "--user-id", returning]) == 0
    assert main(["-q", "backfill", "--provider", "owlbot", "--since", "2000-01-01"]) == 0
    assert main(["-q", "run", "--provider", "owlbot"]) == 0
    marks = ", ".join("?" for _ in theirs)
    for table in ("messages", "knowledge_citations", "conversations"):
        sql = f"SELECT COUNT(*) FROM chat_history.{table} WHERE provider = 'owlbot' AND conversation_id IN ({marks})"
        assert count_rows(configured, sql, *theirs) == 0, f"{table} of the forgotten user came back"
    others = {c.conversation_id for c in sim.truth("owlbot").conversations if c.user_id != returning}
    distinct = "SELECT COUNT(DISTINCT conversation_id) FROM chat_history.messages WHERE provider = 'owlbot'"
    loaded = count_rows(configured, distinct)
    assert loaded == len({m.conversation_id for m in sim.truth("owlbot").messages if m.conversation_id in others})
