"""The rate limiter: one budget for every worker, adapting to 429s and rate-limit headers, interruptible."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import pytest

from pipelines.cli import main
from pipelines.cli.simulated import simulator_environment
from simulator import Corpus, Simulator, SimulatorSettings
from sources.common import ratelimit
from sources.common.ratelimit import RateLimiter, limiter_for, parse_headers

REPO = Path(__file__).resolve().parents[2]


def test_one_budget_for_every_worker() -> None:
    limiter = RateLimiter(rate=100, burst=10)
    started = time.monotonic()

    def worker() -> None:
        for _ in range(25):
            limiter.acquire()
            limiter.observe(200, {})

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    took = time.monotonic() - started
    assert (200 - 10) / 100 * 0.95 <= took < 3.0, took  # 8 workers share 100/s, not 100/s each


def test_the_same_provider_and_key_share_one_limiter() -> None:
    first = limiter_for("owlbot", "http://x", "key", 5, None)
    assert limiter_for("owlbot", "http://x", "key", 5, None) is first
    assert limiter_for("owlbot", "http://x", "other", 5, None) is not first
    assert limiter_for("owlbot", "http://x", "key", 7, None) is not first, "new settings, new bucket"


def test_a_refusal_with_retry_after_holds_everyone_then_halves_the_rate(monkeypatch: pytest.MonkeyPatch) -> None:
    limiter = RateLimiter()  # nothing configured: unlimited
    for _ in range(20):
        limiter.acquire()
    limiter.observe(429, {"Retry-After": "1"})
    halved = limiter.rate
    assert halved is not None and halved >= ratelimit.MIN_RATE
    limiter.observe(429, {"Retry-After": "1"})
    assert limiter.rate == halved, "one decrease per second however many refusals"
    started = time.monotonic()
    limiter.acquire()
    assert time.monotonic() - started >= 0.9, "every worker waits out Retry-After"


def test_a_bare_429_is_left_to_the_retry() -> None:
    limiter = RateLimiter()
    limiter.acquire()
    limiter.observe(429, {"Retry-After": "0"})
    assert limiter.rate is None and limiter.refused == 1


def test_the_rate_recovers_when_the_provider_stops_refusing(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = [1000.0]
    monkeypatch.setattr(ratelimit.time, "monotonic", lambda: clock[0])
    limiter = RateLimiter(rate=20, burst=20)
    limiter.acquire()
    limiter.observe(429, {"Retry-After": "1"})
    assert limiter.rate == 10
    clock[0] += 10  # ten quiet seconds: +2 requests/s each, capped at the configured 20
    limiter.acquire()
    assert limiter.rate == 20


def test_x_ratelimit_headers_set_the_pace() -> None:
    said = parse_headers({"X-RateLimit-Limit": "10", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "2"})
    assert (said.limit, said.remaining, said.reset) == (10, 0, 2)
    limiter = RateLimiter()
    limiter.acquire()
    limiter.observe(200, {"X-RateLimit-Limit": "10", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "2"})
    assert limiter.rate == 5  # 10 requests refill in 2 s
    started = time.monotonic()
    limiter.acquire()
    assert 0.15 <= time.monotonic() - started < 1.0


def test_an_epoch_reset_and_the_ietf_fields_are_read() -> None:
    epoch = parse_headers({"X-RateLimit-Reset": str(int(time.time()) + 30)})
    assert epoch.reset is not None and 28 <= epoch.reset <= 30
    limiter = RateLimiter()
    limiter.acquire()
    limiter.observe(200, {"RateLimit": "limit=30, remaining=29, reset=1", "RateLimit-Policy": "30;w=1"})
    assert (limiter.ceiling, limiter.burst) == (30, 30)


def test_the_simulator_refuses_past_its_limit_per_key() -> None:
    import requests

    settings = SimulatorSettings(rate_limit="5/s")
    with Simulator(Corpus(seed=3, size=100), settings=settings) as sim:
        url = sim.base_url("owlbot") + "/login/checkToken"
        answers = [requests.post(url, headers={"Authorization": settings.api_keys["owlbot"]}) for _ in range(8)]
        other = requests.post(url, headers={"Authorization": "another key"})
    statuses = Counter(a.status_code for a in answers)
    assert statuses == {200: 5, 429: 3}
    refused = next(a for a in answers if a.status_code == 429)
    assert int(refused.headers["Retry-After"]) >= 1 and refused.headers["X-RateLimit-Remaining"] == "0"
    assert other.status_code == 400, "another key has its own bucket (and is refused for being wrong)"


def test_a_load_paced_to_a_known_limit_is_never_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with Simulator(Corpus(seed=11, size=600), settings=SimulatorSettings(rate_limit="10/s,burst=5")) as sim:
        for key, value in simulator_environment(sim).items():
            monkeypatch.setenv(key, value)
        monkeypatch.setenv("DESTINATION__DUCKDB__CREDENTIALS", str(tmp_path / "w.duckdb"))
        monkeypatch.setenv("SOURCES__OWLBOT__REQUESTS_PER_SECOND", "10")
        monkeypatch.setenv("SOURCES__OWLBOT__BURST", "5")
        time.sleep(0.6)  # the simulator's bucket starts full
        started = time.monotonic()
        assert main(["-q", "run", "--provider", "owlbot"]) == 0
        took = time.monotonic() - started
        statuses = Counter(r.status for r in sim.requests_for("owlbot"))
    assert statuses[429] == 0 and statuses[200] > 10
    assert took >= (statuses[200] - 5) / 10 * 0.9, "eight workers kept to one budget"


def test_a_bad_rate_setting_is_a_usage_error(configured: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCES__OWLBOT__REQUESTS_PER_SECOND", "-3")
    assert main(["run", "--provider", "owlbot"]) == 2


def test_ctrl_c_during_a_wait_exits_promptly(tmp_path: Path) -> None:
    with Simulator(Corpus(seed=11, size=600)) as sim:
        env = {
            **os.environ,
            **simulator_environment(sim),
            "PYTHONPATH": str(REPO),
            "DESTINATION__DUCKDB__CREDENTIALS": str(tmp_path / "w.duckdb"),
            "SOURCES__OWLBOT__REQUESTS_PER_SECOND": "0.2",  # one request every 5 s
            "SOURCES__OWLBOT__BURST": "1",
        }
        command = [sys.executable, "-m", "pipelines.cli", "run", "--provider", "owlbot"]
        run = subprocess.Popen(command, env=env, cwd=tmp_path, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 60
        while not sim.requests_for("owlbot") and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.5)  # now waiting for the next token
        run.send_signal(signal.SIGINT)
        sent = time.monotonic()
        _, err = run.communicate(timeout=30)
    assert run.returncode == 130, err
    assert time.monotonic() - sent < 2.0
    assert "Traceback" not in err
