"""The rate limiter: one budget for every worker, adapting to 429s and rate-limit headers, interruptible."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

from pipelines.cli import main
from pipelines.cli.simulated import simulator_environment
from simulator import Corpus, Simulator, SimulatorSettings
from sources.common import ratelimit
from sources.common.ratelimit import RateLimiter, limiter_for, parse_headers

REPO = Path(__file__).resolve().parents[2]


def seconds_for_workers(worker: Callable[[], None], workers: int = 8) -> float:
    """Runs ``worker`` in that many threads at once; the seconds until all are done."""
    started = time.monotonic()
    threads = [threading.Thread(target=worker) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.monotonic() - started


def test_one_budget_for_every_worker() -> None:
    limiter = RateLimiter(rate=100, burst=10)

    def worker() -> None:
        for _ in range(25):
            limiter.acquire()
            limiter.observe(200, {})

    took = seconds_for_workers(worker)
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


def test_a_429_with_rate_headers_but_no_budget_is_a_rate_limit() -> None:
    limiter = RateLimiter()
    for _ in range(10):
        limiter.acquire()
        limiter.observe(200, {})
    limiter.acquire()
    limiter.observe(429, {"X-RateLimit-Limit": "10", "X-RateLimit-Reset": "2", "Retry-After": "0"})
    assert limiter.rate is not None, "the headers say it is the rate limit, not a bare refusal"


def test_the_rate_recovers_when_the_provider_stops_refusing(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = [1000.0]
    monkeypatch.setattr(ratelimit.time, "monotonic", lambda: clock[0])
    limiter = RateLimiter(rate=20, burst=20)
    limiter.acquire()
    limiter.observe(429, {"Retry-After": "1"})
    assert limiter.rate == 20 * ratelimit.DECREASE
    clock[0] += 15  # quiet seconds: recovered, capped at the configured 20
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


def test_a_refusal_that_says_the_budget_is_gone_marks_a_fixed_window(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = [1000.0]
    monkeypatch.setattr(ratelimit.time, "monotonic", lambda: clock[0])
    limiter = RateLimiter()
    limiter.acquire()
    limiter.observe(200, {"X-RateLimit-Limit": "50", "X-RateLimit-Remaining": "40", "X-RateLimit-Reset": "2"})
    assert (limiter.ceiling, limiter.windowed) == (25, False), "50 a 2-second window"
    limiter.acquire()
    limiter.observe(429, {"X-RateLimit-Limit": "50", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "1.5"})
    assert limiter.windowed and limiter.rate == 25, "a spent budget is not a reason to slow down"
    assert limiter._take(clock[0] + 1.4) > 0 and limiter._take(clock[0] + 1.5) == 0, "every worker waits for the reset"
    clock[0] += 1.5
    limiter.observe(200, {"X-RateLimit-Limit": "50", "X-RateLimit-Remaining": "48", "X-RateLimit-Reset": "0.5"})
    assert limiter.rate == 48 / 0.5, "what remains is spread over the time to the reset"


def test_a_configured_rate_is_never_exceeded_whatever_the_headers_say(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = [1000.0]
    monkeypatch.setattr(ratelimit.time, "monotonic", lambda: clock[0])
    limiter = RateLimiter(rate=10, burst=10)
    limiter.acquire()
    limiter.observe(429, {"X-RateLimit-Limit": "50", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "1"})
    clock[0] += 1
    limiter.observe(200, {"X-RateLimit-Limit": "50", "X-RateLimit-Remaining": "40", "X-RateLimit-Reset": "0.5"})
    assert limiter.windowed and limiter.rate == 10, "40 left in half a second is no reason to pass the plan's 10/s"
    limiter.observe(429, {"Retry-After": "1"})
    clock[0] += 60
    limiter._take(clock[0])
    assert limiter.rate == 10, "nor is a minute of probing"


def test_retry_after_alone_recovers_near_the_refused_rate_within_seconds(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = [1000.0]
    monkeypatch.setattr(ratelimit.time, "monotonic", lambda: clock[0])
    limiter = RateLimiter()
    for _ in range(30):  # unpaced: 30 answers within a second, then a refusal
        limiter.acquire()
        limiter.observe(200, {})
        clock[0] += 0.01
    limiter.acquire()
    limiter.observe(429, {"Retry-After": "1"})
    assert limiter.rate == pytest.approx(30 * ratelimit.DECREASE)
    clock[0] += 1 + ratelimit.RECOVERY_RAMP  # the hold, then the ramp
    limiter._take(clock[0])
    assert limiter.rate == pytest.approx(30 * ratelimit.PLATEAU)
    clock[0] += 5
    limiter._take(clock[0])
    assert limiter.rate == pytest.approx(30 * (ratelimit.PLATEAU + 5 * ratelimit.PROBE_PER_SECOND)), "then it probes"


LEARNED_RATE = 50.0


@pytest.mark.parametrize(
    "headers", ["x", pytest.param("ietf", marks=pytest.mark.slow), pytest.param("none", marks=pytest.mark.slow)]
)
@pytest.mark.parametrize("model", ["25/s", "25/s,window=2"], ids=["token bucket", "fixed windows"])
def test_a_learned_limit_keeps_close_to_the_floor_with_few_refusals(model: str, headers: str) -> None:
    """Eight workers, nothing configured, against two limiter models and every header style."""
    import requests

    spec = model.replace("25/s", f"{LEARNED_RATE:g}/s")
    wanted = 150
    settings = SimulatorSettings(rate_limit=spec, rate_limit_headers=headers)
    with Simulator(Corpus(seed=3, size=100), settings=settings) as sim:
        url, key = sim.base_url("owlbot") + "/login/checkToken", settings.api_keys["owlbot"]
        limiter, lock, served = RateLimiter(), threading.Lock(), Counter[int]()

        def worker() -> None:
            session = requests.Session()
            while served[200] < wanted:
                limiter.acquire()
                answer = session.post(url, headers={"Authorization": key})
                limiter.observe(answer.status_code, answer.headers)
                with lock:
                    served[answer.status_code] += 1

        took = seconds_for_workers(worker)
    floor = served[200] / LEARNED_RATE
    assert took <= floor * (1.15 if headers != "none" else 1.25), (took, floor, served)
    refused_at_most = 2 if headers != "none" else 12  # Retry-After alone: the first refusal meets every worker
    assert served[429] <= refused_at_most, served


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


def test_the_simulators_fixed_windows_send_an_epoch_reset() -> None:
    import requests

    settings = SimulatorSettings(rate_limit="1/s,window=10")
    with Simulator(Corpus(seed=3, size=100), settings=settings) as sim:
        url = sim.base_url("owlbot") + "/login/checkToken"
        while time.time() % 10 > 7:  # twelve requests well inside one window, even on a busy machine
            time.sleep(0.05)
        started = time.time()
        answers = [requests.post(url, headers={"Authorization": settings.api_keys["owlbot"]}) for _ in range(12)]
    assert Counter(a.status_code for a in answers) == {200: 10, 429: 2}, "ten in a 10-second window"
    reset = int(answers[0].headers["X-RateLimit-Reset"])
    assert reset % 10 == 0 and 0 < reset - started <= 10, "the epoch second the window ends"
    assert 1 <= int(answers[-1].headers["Retry-After"]) <= 10


def test_a_load_paced_to_a_known_limit_is_never_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
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
