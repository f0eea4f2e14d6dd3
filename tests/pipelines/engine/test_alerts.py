"""Alerts: one scrubbed JSON message per failed or partial run or incomplete audit, to the simulator's webhook."""

from __future__ import annotations

import logging

import pytest

from pipelines.engine.alerts import alert_on_audit, alert_on_run, post_alert
from pipelines.engine.exit_codes import ExitCode
from pipelines.engine.outcome import ProviderOutcome, RunReport
from simulator import Simulator
from sources.common.observer import RunObserver
from sources.common.secrets import register


def report(**errors: str | None) -> RunReport:
    outcomes = [ProviderOutcome(p, RunObserver(p), error=e) for p, e in errors.items()]
    return RunReport(outcomes=outcomes)


@pytest.fixture
def hooked(sim: Simulator, monkeypatch: pytest.MonkeyPatch) -> Simulator:
    monkeypatch.setenv("CHATSYNC__ALERTS__WEBHOOK_URL", sim.hook_url())
    return sim


def test_nothing_is_posted_without_a_webhook(sim: Simulator) -> None:
    assert post_alert("chatsync run: exit 1", {}) is False
    assert sim.hooks == []


def test_a_clean_run_posts_nothing(hooked: Simulator) -> None:
    assert alert_on_run("run", report(owlbot=None, feedloop=None)) is False
    assert hooked.hooks == []


def test_a_failed_run_posts_its_failed_providers_only(hooked: Simulator) -> None:
    assert alert_on_run("run", report(owlbot=None, feedloop="feedloop: 503 after 8 attempts")) is True
    (body,) = hooked.hooks
    assert body["text"] == "chatsync run: exit 1 (feedloop failed)"
    assert body["chatsync"]["event"] == "run" and body["chatsync"]["exit_code"] == 1
    assert list(body["chatsync"]["providers"]) == ["feedloop"]


def test_an_incomplete_audit_names_each_provider_and_count(hooked: Simulator) -> None:
    assert alert_on_audit("full", {"owlbot": 2, "chatnode": 0}, ExitCode.INCOMPLETE) is True
    assert alert_on_audit("quick", {"owlbot": 0}, ExitCode.OK) is False
    (body,) = hooked.hooks
    assert body["text"] == "chatsync audit (full): exit 4, incomplete conversations: owlbot: 2"
    expected = {"event": "audit", "mode": "full", "exit_code": 4, "incomplete": {"owlbot": 2, "chatnode": 0}}
    assert body["chatsync"] == expected


def test_secrets_are_scrubbed_from_the_text_and_the_details(hooked: Simulator) -> None:
    secret = "sk-live-0123456789abcdef"
    register(secret)
    assert post_alert(f"chatsync run: key {secret} rejected", {"error": f"401 for {secret}", "n": [secret]}) is True
    (body,) = hooked.hooks
    assert secret not in str(body) and "rejected" in body["text"]


def test_an_undeliverable_alert_is_a_warning_and_changes_nothing(
    sim: Simulator, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("CHATSYNC__ALERTS__WEBHOOK_URL", sim.hook_url("down"))
    with caplog.at_level(logging.WARNING, logger="chatsync.alerts"):
        assert alert_on_run("run", report(owlbot="owlbot: 503")) is False
    assert sim.hooks == [] and "alert not delivered: HTTPError: 503" in caplog.text
    assert sim.hook_url("down") not in caplog.text, "the webhook URL is itself a credential"
