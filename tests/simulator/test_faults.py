"""Fault injection is per request, deterministic under a seed, and each kind behaves as named."""

from __future__ import annotations

import pytest
import requests

from simulator import Corpus, FaultSpec, Simulator
from simulator.faults import FaultInjector


def test_spec_parsing_and_validation() -> None:
    spec = FaultSpec.parse("429=0.1,503=0.05,reset=0.01,retry_after=2,slow_ms=10", seed=3)
    assert (spec.p429, spec.p503, spec.reset, spec.retry_after, spec.slow_ms, spec.seed) == (0.1, 0.05, 0.01, 2, 10, 3)
    with pytest.raises(ValueError, match="unknown fault"):
        FaultSpec.parse("404=0.1")
    with pytest.raises(ValueError, match="more than 1"):
        FaultSpec.parse("429=0.7,500=0.7")


def test_draws_are_deterministic_and_retries_draw_afresh() -> None:
    spec = FaultSpec.parse("429=0.3,500=0.3", seed=9)
    first, second = FaultInjector(spec), FaultInjector(spec)
    targets = [f"/x?page={i}" for i in range(200)]
    draws = [first.draw("GET", t, b"") for t in targets]
    assert draws == [second.draw("GET", t, b"") for t in targets]
    assert 0.45 < sum(d is not None for d in draws) / len(draws) < 0.75
    repeated = [first.draw("GET", "/same", b"") for _ in range(50)]
    assert None in repeated and any(repeated)


@pytest.mark.parametrize("kind", ["429", "500", "502", "503"])
def test_status_faults(kind: str) -> None:
    with Simulator(Corpus(size=100), faults=FaultSpec.parse(f"{kind}=1.0,retry_after=7")) as sim:
        response = requests.get(sim.base_url("example_ai") + "/chat/history", timeout=5)
        assert response.status_code == int(kind)
        if kind == "429":
            assert response.headers["Retry-After"] == "7"
        assert sim.requests[-1].fault == kind


def test_reset_truncate_and_invalid_faults() -> None:
    url_path = "/chat/history"
    resetting = Simulator(Corpus(size=100), faults=FaultSpec.parse("reset=1.0"))
    with resetting as sim, pytest.raises(requests.ConnectionError):
        requests.get(sim.base_url("example_ai") + url_path, timeout=5)
    for kind in ("truncate", "invalid"):
        with Simulator(Corpus(size=100), faults=FaultSpec.parse(f"{kind}=1.0")) as sim:
            conversation = sim.corpus.conversation_ids("example_ai")[0]
            try:
                response = requests.get(
                    sim.base_url("example_ai") + url_path,
                    timeout=5,
                    params={"conversation_id": conversation},
                    headers={"Authorization": "Bearer sk_test_example_ai"},
                )
            except requests.exceptions.RequestException:
                continue  # a truncated body may surface as a broken connection
            with pytest.raises(ValueError):
                response.json()


def test_slow_fault_delays_the_answer() -> None:
    with Simulator(Corpus(size=100), faults=FaultSpec.parse("slow=1.0,slow_ms=300")) as sim:
        response = requests.get(sim.base_url("example_ai") + "/chat/history", timeout=5)
        assert response.elapsed.total_seconds() >= 0.3
