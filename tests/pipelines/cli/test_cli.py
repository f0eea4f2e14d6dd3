"""The ``chatsync`` CLI as a scheduler would run it: real simulator, real DuckDB, env config."""

from __future__ import annotations

import json
import re
import time
from datetime import timedelta
from pathlib import Path

import duckdb
import pytest

from bench.payload_cases import labelled_lines
from pipelines.cli import main
from pipelines.cli.simulated import simulator_environment
from simulator import Corpus, Simulator, SimulatorSettings

SECRET = "sk_test_example_ai"


def configure(monkeypatch: pytest.MonkeyPatch, sim: Simulator, tmp_path: Path, key: str = SECRET) -> Path:
    warehouse = tmp_path / "warehouse.duckdb"
    monkeypatch.setenv("SOURCES__EXAMPLE_AI__BASE_URL", sim.base_url("example_ai"))
    monkeypatch.setenv("SOURCES__EXAMPLE_AI__API_KEY", key)
    monkeypatch.setenv("SOURCES__EXAMPLE_AI__CONVERSATION_IDS", json.dumps(sim.corpus.conversation_ids("example_ai")))
    monkeypatch.setenv("DESTINATION__DUCKDB__CREDENTIALS", str(warehouse))
    return warehouse


def count(warehouse: Path, table: str) -> int:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return int(con.execute(f"SELECT COUNT(*) FROM chat_history.{table}").fetchall()[0][0])


def messages_per_provider(warehouse: Path) -> dict[str, int]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return dict(con.execute("SELECT provider, COUNT(*) FROM chat_history.messages GROUP BY 1").fetchall())


def test_run_loads_configured_providers_and_never_prints_the_key(
    sim: Simulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    warehouse = configure(monkeypatch, sim, tmp_path)
    assert main(["run"]) == 0
    assert count(warehouse, "messages") == len(sim.truth("example_ai").messages)
    assert count(warehouse, "conversations") == len(sim.truth("example_ai").conversations)
    sim.advance(timedelta(days=1))
    assert main(["run", "--provider", "example_ai"]) == 0
    out = capsys.readouterr()
    assert "example_ai" in out.out and SECRET not in out.out + out.err


def test_bad_credentials_exit_non_zero_with_one_clear_line(
    sim: Simulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    configure(monkeypatch, sim, tmp_path, key="sk_live_wrong_and_secret")
    assert main(["run"]) == 1
    out = capsys.readouterr()
    errors = labelled_lines(out.err, "error")
    assert errors == [
        "error: example_ai: credentials rejected (HTTP 401: Missing or invalid Authorization header.); "
        "the key came from the environment variable SOURCES__EXAMPLE_AI__API_KEY"
    ]
    assert "sk_live_wrong_and_secret" not in out.out + out.err


@pytest.mark.parametrize(
    ("base_url", "reason"),
    [
        ("http://127.0.0.1:9/v1", "connection refused (nothing listens there)"),
        ("http://no-such-host.invalid/v1", "the host name does not resolve (DNS)"),
        ("https://{sim}/example-ai/v1", "TLS handshake failed (is the scheme right: http or https?)"),
    ],
)
def test_an_endpoint_that_cannot_work_fails_fast_naming_url_and_setting(
    sim: Simulator,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    base_url: str,
    reason: str,
) -> None:
    configure(monkeypatch, sim, tmp_path)
    url = base_url.format(sim=sim.url.removeprefix("http://"))
    monkeypatch.setenv("SOURCES__EXAMPLE_AI__BASE_URL", url)
    monkeypatch.setenv("RUNTIME__REQUEST_BACKOFF_FACTOR", "1")  # a retry would take seconds
    started = time.monotonic()
    assert main(["run"]) == 1
    assert time.monotonic() - started < 5, "not retried"
    errors = labelled_lines(capsys.readouterr().err, "error")
    assert errors == [f"error: example_ai: {url}: {reason}; check sources.example_ai.base_url"]


def test_a_url_without_a_scheme_is_a_configuration_error(
    sim: Simulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    configure(monkeypatch, sim, tmp_path)
    monkeypatch.setenv("SOURCES__EXAMPLE_AI__BASE_URL", "api.example-ai.com/v1")
    assert main(["run"]) == 2
    assert "example_ai: base_url 'api.example-ai.com/v1' is not an http(s) URL; set [sources.example_ai] base_url" in (
        capsys.readouterr().err
    )


def test_nothing_configured_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run"]) == 2
    assert "no provider configured" in capsys.readouterr().err


def test_missing_conversation_ids_is_reported(
    sim: Simulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    configure(monkeypatch, sim, tmp_path)
    monkeypatch.delenv("SOURCES__EXAMPLE_AI__CONVERSATION_IDS")
    assert main(["run"]) == 2, "a configuration error"
    err = capsys.readouterr().err
    assert (
        "error: example_ai: missing setting conversation_ids: set [sources.example_ai] conversation_ids in "
        ".dlt/config.toml, or SOURCES__EXAMPLE_AI__CONVERSATION_IDS"
    ) in err


def test_placeholder_keys_mean_not_configured(
    sim: Simulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    configure(monkeypatch, sim, tmp_path)
    for provider, placeholder in (("OWLBOT", "..."), ("CHATNODE", "..."), ("FEEDLOOP", "...")):
        monkeypatch.setenv(f"SOURCES__{provider}__API_KEY", placeholder)  # copied from example.secrets.toml
    assert main(["run"]) == 0
    err = capsys.readouterr().err
    assert "info: owlbot not configured (no api_key, or the example placeholder); skipped" in err
    assert "error:" not in err
    assert main(["run", "--provider", "owlbot"]) == 2, "asked for by name, a placeholder is a configuration error"
    assert "owlbot: api_key is missing or still the example placeholder" in capsys.readouterr().err


def test_comma_separated_ids_from_the_environment(
    sim: Simulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    warehouse = configure(monkeypatch, sim, tmp_path)
    ids = sim.corpus.conversation_ids("example_ai")
    monkeypatch.setenv("SOURCES__EXAMPLE_AI__CONVERSATION_IDS", ",".join(ids))
    assert main(["run"]) == 0
    assert count(warehouse, "conversations") == len(ids)


def test_backfill_command(sim: Simulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    warehouse = configure(monkeypatch, sim, tmp_path)
    assert main(["backfill", "--provider", "example_ai", "--since", "2026-03-03", "--until", "2026-03-05"]) == 0
    with duckdb.connect(str(warehouse), read_only=True) as con:
        low, high = con.execute("SELECT MIN(created_at), MAX(created_at) FROM chat_history.messages").fetchall()[0]
    assert low.isoformat() >= "2026-03-03" and high.isoformat() < "2026-03-05"
    assert main(["backfill", "--provider", "example_ai", "--since", "2026-03-05", "--until", "2026-03-01"]) == 2


@pytest.mark.slow
def test_demo_fills_both_tables(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--dir", str(tmp_path / "demo"), "--size", "800"]) == 0
    warehouse = tmp_path / "demo" / "chatsync.duckdb"
    assert count(warehouse, "messages") > 0 and count(warehouse, "conversations") > 0
    out = capsys.readouterr().out
    assert "pass 2: incremental load" in out and "rows in the warehouse" in out
    assert f"chatsync status --warehouse {warehouse}" in out.replace("\n", "")
    assert main(["status", "--json", "--warehouse", str(warehouse)]) == 0  # the demo's own run history
    found = json.loads(capsys.readouterr().out)
    assert {item["last_run"]["status"] for item in found.values()} == {"ok"}, found
    assert sum(item["messages"] for item in found.values()) == count(warehouse, "messages")


@pytest.mark.slow
def test_run_loads_all_four_providers(
    sim: Simulator,
    configured: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    warehouse = configured
    assert main(["run"]) == 0
    loaded = messages_per_provider(warehouse)
    assert loaded == {p: len(sim.truth(p).messages) for p in ("example_ai", "owlbot", "chatnode", "feedloop")}
    for provider in ("owlbot", "chatnode", "feedloop"):
        assert main(["backfill", "--provider", provider, "--since", "2026-03-03", "--until", "2026-03-05"]) == 0
    out = capsys.readouterr()
    assert not any(key in out.out + out.err for key in sim.settings.api_keys.values())


def test_a_forbidden_bot_loads_the_rest_and_exits_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    corpus = Corpus(seed=11, size=600)
    forbidden = corpus.bots["chatnode"][0].bot_id
    with Simulator(corpus, settings=SimulatorSettings(chatnode_forbidden_bots=frozenset({forbidden}))) as sim:
        for key, value in simulator_environment(sim).items():
            monkeypatch.setenv(key, value)
        warehouse = tmp_path / "cn.duckdb"
        monkeypatch.setenv("DESTINATION__DUCKDB__CREDENTIALS", str(warehouse))
        assert main(["run", "--provider", "chatnode"]) == 1
        assert count(warehouse, "messages") > 0
    errors = labelled_lines(capsys.readouterr().err, "error")
    assert errors == [f"error: chatnode: bot {forbidden}: access denied (HTTP 403: Bot access not allowed)"]


def test_bigquery_without_its_extra_says_what_to_install(capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("dlt")
    try:
        import google.cloud.bigquery  # noqa: F401

        pytest.skip("the BigQuery extra is installed here")
    except ImportError:
        pass
    assert main(["run", "--provider", "example_ai", "--destination", "bigquery"]) == 2
    assert 'BigQuery needs its extra: pip install "dlt[bigquery]"' in capsys.readouterr().err


def test_version_help_and_where_a_run_wrote(
    sim: Simulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--version"]) == 0 and capsys.readouterr().out.startswith("chatsync 0.")
    with pytest.raises(SystemExit):
        main(["run", "--help"])
    help_text = capsys.readouterr().out
    assert "``" not in help_text and "example:\n  chatsync run" in help_text and "75 another run" in help_text
    warehouse = configure(monkeypatch, sim, tmp_path)
    assert main(["run"]) == 0
    err = capsys.readouterr().err
    assert f"Z wrote: duckdb {warehouse}, dataset chat_history; pipeline state in " in err


def test_quiet_prints_only_problems_and_piped_output_is_never_cut(
    sim: Simulator, configured: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    try:
        assert main(["-q", "run"]) == 0
        out = capsys.readouterr()
        assert out.out == "" and not labelled_lines(out.err, "error")
    finally:
        from pipelines.cli.console import stdout

        stdout.quiet = False
    assert main(["report"]) == 0
    out = capsys.readouterr().out
    assert "…" not in out, "nothing truncated when piped"
    labels = [f"{bot.title} ({bot.bot_id[:8]})" for bot in sim.corpus.bots["owlbot"]]
    assert all(label in out for label in labels), "bot names printed whole"


def test_check_proves_each_setup_without_loading(
    sim: Simulator,
    configured: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["check"]) == 0
    out = capsys.readouterr().out.splitlines()
    bots = len(sim.corpus.bots["owlbot"])
    sessions = len(sim.corpus.conversation_ids("owlbot"))
    assert f"ok: owlbot: {sim.base_url('owlbot')}: key accepted, {bots} bots, {sessions:,} sessions" in out
    assert len([line for line in out if line.startswith("ok: ")]) == 4
    assert not configured.exists(), "nothing loaded"
    monkeypatch.setenv("SOURCES__CHATNODE__API_KEY", "cn_wrong_key_123")
    monkeypatch.setenv("SOURCES__FEEDLOOP__BASE_URL", "http://127.0.0.1:9")
    real = sim.corpus.conversation_ids("example_ai")[0]
    monkeypatch.setenv("SOURCES__EXAMPLE_AI__CONVERSATION_IDS", json.dumps([real, "con_missing_1"]))
    assert main(["check"]) == 1
    err = capsys.readouterr().err
    assert "error: chatnode: credentials rejected (HTTP 401" in err and "cn_wrong_key_123" not in err
    assert "error: feedloop: http://127.0.0.1:9: connection refused" in err
    assert "warning: example_ai: 1 of 2 configured conversations not found: con_missing_1; a run skips them" in err


WRONG_PATHS = {  # a base URL whose path is wrong: the server answers, the API is not there
    "example_ai": lambda url: url.replace("/v1", "/v2"),
    "feedloop": lambda url: url + "/v2",
    "owlbot": lambda url: url + "/v2",
    "chatnode": lambda url: url.replace("/v1", "/v2"),
}


@pytest.mark.parametrize("provider", sorted(WRONG_PATHS))
def test_a_wrong_base_url_path_fails_run_and_check_naming_the_url_and_the_setting(
    sim: Simulator,
    configured: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    provider: str,
) -> None:
    wrong = WRONG_PATHS[provider](sim.base_url(provider))
    assert wrong != sim.base_url(provider)
    monkeypatch.setenv(f"SOURCES__{provider.upper()}__BASE_URL", wrong)
    capsys.readouterr()
    assert main(["run", "--provider", provider]) == 1
    err = capsys.readouterr().err
    errors = labelled_lines(err, "error")
    assert len(errors) == 1, err
    assert f"at {wrong}/" in errors[0] and f"the API is not at this base URL ({wrong})" in errors[0]
    assert f"[sources.{provider}] base_url in .dlt/config.toml, or SOURCES__{provider.upper()}__BASE_URL" in errors[0]
    assert "not found; skipped" not in err, "no conversation is reported missing"
    assert main(["check", "--provider", provider]) == 1
    checked = labelled_lines(capsys.readouterr().err, "error")
    assert checked == [errors[0]], "check says what run says"


def test_some_missing_conversations_stay_a_warning_in_run_and_check_alike(
    sim: Simulator, configured: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    ids = [*sim.corpus.conversation_ids("example_ai"), "con_typo"]
    monkeypatch.setenv("SOURCES__EXAMPLE_AI__CONVERSATION_IDS", json.dumps(ids))
    assert main(["run", "--provider", "example_ai"]) == 0
    assert "warning: example_ai: conversation con_typo not found; skipped" in capsys.readouterr().err
    assert main(["check", "--provider", "example_ai"]) == 0
    assert "warning: example_ai: 1 of" in capsys.readouterr().err


def test_status_reads_the_last_run_and_the_warehouse_without_network(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with Simulator(Corpus(seed=11, size=600)) as sim:
        warehouse = configure(monkeypatch, sim, tmp_path)
        assert main(["run"]) == 0
        truth = sim.truth("example_ai").messages
    capsys.readouterr()
    assert main(["status", "--json"]) == 0  # the simulator is gone: no network needed
    found = json.loads(capsys.readouterr().out)
    item = found["example_ai"]
    assert item["last_run"]["status"] == "ok" and item["last_run"]["rows_new"]["messages"] == len(truth)
    assert item["messages"] == len(truth) == count(warehouse, "messages")
    assert item["newest_message"].startswith(max(m.created_at for m in truth).date().isoformat())
    assert item["open_sync_errors"] == 0 and found["owlbot"]["last_run"] is None
    assert main(["status"]) == 0 and "chatsync status" in capsys.readouterr().out


def test_status_shows_the_runs_of_the_warehouse_it_reports_on(
    configured: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Two DuckDB files: each shows only its own last runs (not the pipeline's, which both share)."""
    first, second = tmp_path / "first.duckdb", tmp_path / "second.duckdb"
    assert main(["-q", "run", "--provider", "example_ai", "--warehouse", str(first)]) == 0
    assert main(["-q", "run", "--provider", "owlbot", "--warehouse", str(second)]) == 0
    capsys.readouterr()
    for warehouse, ran, idle in ((first, "example_ai", "owlbot"), (second, "owlbot", "example_ai")):
        assert main(["status", "--json", "--warehouse", str(warehouse)]) == 0
        found = json.loads(capsys.readouterr().out)
        assert found[ran]["last_run"]["status"] == "ok" and found[idle]["last_run"] is None, found
        assert found[ran]["messages"] == count(warehouse, "messages") > 0 and found[idle]["messages"] == 0
    assert main(["status", "--warehouse", str(first)]) == 0
    assert f"read them in your browser: chatsync explore --warehouse {first}" in capsys.readouterr().out
    assert not configured.exists(), "--warehouse wins over the configured file"
    # the configured file: no run went there, so no warehouse: the line and exit status of explore
    assert main(["status", "--json"]) == 2
    said = capsys.readouterr().err
    assert f"no warehouse at {configured}: run `chatsync run` first" in said
    assert main(["explore"]) == 2
    assert f"no warehouse at {configured}: run `chatsync run` first" in capsys.readouterr().err


def test_warehouse_names_a_duckdb_file_only(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["status", "--destination", "postgres", "--warehouse", "x.duckdb"]) == 2
    assert "--warehouse names a DuckDB file" in capsys.readouterr().err


@pytest.mark.slow
def test_reset_forgets_one_provider_only_and_the_next_run_re_reads_it(
    sim: Simulator,
    configured: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    warehouse = configured
    assert main(["run"]) == 0
    before = messages_per_provider(warehouse)
    assert main(["reset", "--provider", "owlbot"]) == 2, "no terminal and no --yes: refused"
    assert main(["reset", "--provider", "owlbot", "--yes"]) == 0
    assert "reset all of owlbot" in capsys.readouterr().out
    sim.clear_log()
    assert main(["run"]) == 0
    reread = {r.path.split("/")[-1] for r in sim.requests_for("owlbot")}
    assert set(sim.corpus.conversation_ids("owlbot")) <= reread, "every OwlBot session read again"
    assert len(sim.requests_for("example_ai")) == len(sim.corpus.conversation_ids("example_ai")), "others untouched"
    target = sim.corpus.conversation_ids("feedloop")[0]
    assert main(["reset", "--provider", "feedloop", "--conversation", target, "--drop-data", "--yes"]) == 0
    after = messages_per_provider(warehouse)
    with duckdb.connect(str(warehouse), read_only=True) as con:
        gone = con.execute(
            "SELECT COUNT(*) FROM chat_history.messages WHERE provider = 'feedloop' AND conversation_id = ?", [target]
        ).fetchall()[0][0]
    assert gone == 0 and after["feedloop"] < before["feedloop"]
    assert {p: n for p, n in after.items() if p != "feedloop"} == {p: n for p, n in before.items() if p != "feedloop"}
    assert main(["run"]) == 0
    restored = messages_per_provider(warehouse)
    assert restored == before, "the next run loads it again"


def test_every_problem_line_is_timestamped_and_json_logs_carry_the_events(
    sim: Simulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    configure(monkeypatch, sim, tmp_path, key="sk_wrong")
    assert main(["run"]) == 1
    err = capsys.readouterr().err
    stamped = [line for line in err.splitlines() if " error: " in line]
    assert stamped and all(re.match(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z error: ", line) for line in stamped)
    configure(monkeypatch, sim, tmp_path)
    try:
        assert main(["--log-format", "json", "run"]) == 0
    finally:
        import logging

        from pipelines.cli import console as cli_console

        cli_console._json_log = None
        cli_console.stdout.quiet = False
        logging.getLogger("chatsync").handlers = []
    out = capsys.readouterr()
    events = [json.loads(line) for line in out.err.splitlines() if line.startswith("{")]
    kinds = [e["event"] for e in events]
    assert kinds.index("run_start") < kinds.index("provider_outcome") < kinds.index("summary")
    assert kinds[-1] == "wrote"
    outcome = next(e for e in events if e["event"] == "provider_outcome")
    assert outcome["provider"] == "example_ai" and outcome["status"] == "ok" and outcome["new_messages"] > 0
    summary = next(e for e in events if e["event"] == "summary")
    assert summary["exit_code"] == 0 and "timestamp" in summary
    assert out.out == "", "no tables in JSON mode"


def test_the_summary_tells_new_rows_from_rewritten_ones(
    sim: Simulator,
    configured: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["run", "--provider", "owlbot"]) == 0
    before = len(sim.truth("owlbot").messages)
    sim.advance(timedelta(days=1))
    assert main(["run", "--provider", "owlbot"]) == 0
    capsys.readouterr()
    assert main(["status", "--json"]) == 0
    last = json.loads(capsys.readouterr().out)["owlbot"]["last_run"]
    new = len(sim.truth("owlbot").messages) - before
    assert new > 0 and last["rows_new"]["messages"] == new
    assert last["rows_loaded"]["messages"] > new, "OwlBot re-reads a grown session whole: the rest is rewritten"


def test_global_options_are_accepted_after_the_command_and_q_keeps_a_clean_run_silent(
    sim: Simulator, configured: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["run", "--provider", "example_ai", "-q"]) == 0
    out = capsys.readouterr()
    assert (out.out, out.err) == ("", ""), "a clean run under -q prints nothing"
    assert main(["run", "--provider", "example_ai", "--log-format", "json"]) == 0
    events = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    assert {"run_start", "summary"} <= {e["event"] for e in events}
    assert main(["-q", "status", "-v"]) == 0 and main(["status", "--json", "-q"]) == 0
    capsys.readouterr()
    assert main(["run", "--provider", "example_ai", "--dataset", "x", "-q", "-v"]) == 0
    assert "summary:" not in capsys.readouterr().err, "-q before or after the command, still quiet"


def test_status_fits_100_columns_with_every_last_run_time(
    sim: Simulator, configured: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from pipelines.cli.console import stdout

    assert main(["-q", "run"]) == 0
    monkeypatch.setattr(stdout, "width", 100)
    assert main(["status"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert max(len(line) for line in lines) <= 100
    stamp = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"
    for provider in ("example_ai", "owlbot", "chatnode", "feedloop"):
        row = next(line.strip() for line in lines if line.strip().startswith(provider))
        assert re.search(rf"^{provider}\s+{stamp}\s+ok\s+\d+\s+\d+\s+{stamp}\s*$", row), row
    assert main(["status", "--wide"]) == 0
    assert "oldest message" in capsys.readouterr().out


def test_a_typo_gets_a_did_you_mean(capsys: pytest.CaptureFixture[str]) -> None:
    for argv, suggestion in (
        (["runn"], "did you mean 'run'?"),
        (["run", "--provder", "owlbot"], "did you mean '--provider'?"),
        (["run", "--provider", "owlbt"], "did you mean 'owlbot'?"),
    ):
        with pytest.raises(SystemExit) as stopped:
            main(argv)
        assert stopped.value.code == 2
        assert suggestion in capsys.readouterr().err


def test_each_help_lists_only_the_exit_codes_its_command_returns(capsys: pytest.CaptureFixture[str]) -> None:
    from pipelines.cli.parser import build_parser, subcommands_help

    helps = subcommands_help(build_parser())
    assert "4 incomplete" in helps["audit"] and "4 incomplete" not in helps["run"]
    assert "3 partial" in helps["run"] and "3 partial" not in helps["insights"]
    assert "75 another run" not in helps["status"] and "75 another run" in helps["insights"]
