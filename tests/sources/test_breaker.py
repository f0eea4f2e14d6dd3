"""The breaker: a provider that looks down stops being asked; some failures do not make it down."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from sources.common.errors import NotFoundError, ProviderUnavailableError
from sources.common.isolation import Breaker

UNAVAILABLE = ProviderUnavailableError("owlbot", "503 Service Unavailable after 8 attempts", 503)


def test_it_never_trips_before_it_has_seen_enough() -> None:
    breaker = Breaker(min_attempts=10)
    for _ in range(9):
        breaker.record(UNAVAILABLE)
    assert not breaker.tripped and breaker.down, "all failed: down, though not tripped early"


def test_it_trips_above_the_ratio_and_not_at_it() -> None:
    breaker = Breaker(min_attempts=10, max_failure_ratio=0.5)
    for outcome in [UNAVAILABLE] * 5 + [{"ok": 1}] * 5:
        breaker.record(outcome)
    assert not breaker.tripped and not breaker.down, "half is not more than half"
    breaker.record(UNAVAILABLE)
    assert breaker.tripped and breaker.down
    assert breaker.describe() == (
        "stopped early: 6 of 11 conversations unreachable (last: 503 Service Unavailable after 8 attempts); "
        "the provider looks down"
    )


def test_only_unavailability_counts_as_failure() -> None:
    breaker = Breaker(min_attempts=2)
    for _ in range(5):
        breaker.record(NotFoundError("owlbot", "session gone", 404))
    assert (breaker.attempts, breaker.failures, breaker.down) == (5, 0, False)


def test_when_every_conversation_failed_the_cause_names_them_all() -> None:
    breaker = Breaker()
    for _ in range(3):
        breaker.record(UNAVAILABLE)
    assert breaker.down and breaker.describe() == "503 Service Unavailable after 8 attempts (all 3 conversations)"


def test_nothing_seen_is_not_down() -> None:
    assert not Breaker().down


def test_concurrent_records_are_all_counted() -> None:
    breaker = Breaker(min_attempts=1_000_000)
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(breaker.record, [UNAVAILABLE, "ok"] * 5_000))
    assert (breaker.attempts, breaker.failures) == (10_000, 5_000)
