"""Pacing requests to a provider's rate limit, before it refuses them.

One token bucket per provider, base URL and API key, shared by every worker thread of the process
(so by every worker of a run). It starts from ``[sources.<provider>] requests_per_second`` and
``burst`` when configured, and adapts from the responses:

- ``RateLimit-Policy: 25;w=1`` (the IETF draft) sets the rate and burst when none is configured;
- ``X-RateLimit-Remaining`` / ``RateLimit-Remaining`` (or the draft's combined ``RateLimit``
  field) caps the tokens at what the server says remain; at zero, ``limit / reset`` (``…-Reset``
  in seconds, or an epoch time) becomes the rate when nothing else says it;
- a 429 that carries a signal (a positive ``Retry-After``, rate-limit headers, or a configured
  rate) halves the rate (at most once a second) and holds every worker until ``Retry-After``;
  the rate then grows back by a tenth of its ceiling per second (additive increase), and without
  a ceiling the limit is dropped after 30 s without a refusal.

A 429 with no such signal (``Retry-After: 0``, no headers) is left to the retry's own back-off of
that one request. Waits end at once on SIGINT or SIGTERM.
"""

from __future__ import annotations

import hashlib
import re
import threading
import time
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from dlt.common.runtime import signals

MIN_RATE: Final = 0.5  # requests per second: the floor of a decrease
DECREASE: Final = 0.5  # multiplicative decrease on a refusal
RECOVERY_SECONDS: Final = 30.0  # without a ceiling: drop the limit after this long without a refusal
MAX_WAIT_SLICE: Final = 0.25  # a wait is cut in slices so a signal or a header can end it early
EPOCH_THRESHOLD: Final = 1_000_000_000  # a reset above this is an epoch time, not seconds


@dataclass(frozen=True)
class RateHeaders:
    """What a response says about the rate limit (None where it says nothing)."""

    limit: float | None = None
    remaining: float | None = None
    reset: float | None = None  # seconds from now
    window: float | None = None  # the policy's window, seconds
    retry_after: float | None = None

    @property
    def any(self) -> bool:
        """Whether the response carried any rate-limit information."""
        return any(v is not None for v in (self.limit, self.remaining, self.reset, self.window))


def _number(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        return float(value.strip().split(",")[0].split(";")[0])
    except ValueError:
        return None


def _seconds(value: float | None, now_epoch: float) -> float | None:
    if value is None:
        return None
    return max(0.0, value - now_epoch) if value > EPOCH_THRESHOLD else max(0.0, value)


_DRAFT_FIELD = re.compile(r"(limit|remaining|reset|r|t)\s*=\s*([0-9.]+)")
_POLICY = re.compile(r"^\s*([0-9.]+)\s*(?:;.*?w\s*=\s*([0-9.]+))?")


def parse_headers(headers: Mapping[str, str]) -> RateHeaders:
    """The rate-limit fields of a response: ``X-RateLimit-*``, ``RateLimit-*``, ``RateLimit``, ``RateLimit-Policy``.

    Args:
        headers: The response headers (case-insensitive mapping).

    Returns:
        What they say.
    """
    now = time.time()
    combined = {k: float(v) for k, v in _DRAFT_FIELD.findall(headers.get("RateLimit", "") or "")}
    limit = _number(headers.get("X-RateLimit-Limit") or headers.get("RateLimit-Limit")) or combined.get("limit")
    remaining = _number(headers.get("X-RateLimit-Remaining") or headers.get("RateLimit-Remaining"))
    if remaining is None:
        remaining = combined.get("remaining", combined.get("r"))
    reset = _number(headers.get("X-RateLimit-Reset") or headers.get("RateLimit-Reset"))
    if reset is None:
        reset = combined.get("reset", combined.get("t"))
    window = None
    policy = _POLICY.match(headers.get("RateLimit-Policy", "") or "")
    if policy:
        limit = limit if limit is not None else float(policy.group(1))
        window = float(policy.group(2)) if policy.group(2) else 1.0
    return RateHeaders(limit, remaining, _seconds(reset, now), window, _number(headers.get("Retry-After")))


class RateLimiter:
    """A token bucket with AIMD adaptation, shared by every worker of a run.

    Args:
        rate: Requests per second; None: unlimited until the provider says otherwise.
        burst: Tokens the bucket holds (default: one second's worth).
    """

    def __init__(self, rate: float | None = None, burst: float | None = None) -> None:
        self.configured = rate
        self.ceiling = rate
        self.rate = rate
        self.burst = float(burst or max(1.0, rate or 1.0))
        self.tokens = self.burst
        self.refused = 0
        self._updated = time.monotonic()
        self._paused_until = 0.0
        self._last_decrease = float("-inf")
        self._last_refusal = float("-inf")
        self._in_flight = 0
        self._recent: deque[float] = deque(maxlen=256)
        self._lock = threading.Lock()

    # --- pacing ------------------------------------------------------------------------------
    def acquire(self) -> None:
        """Waits for a token (interruptibly); every request takes one, retries included."""
        while True:
            with self._lock:
                wait = self._take(time.monotonic())
            if wait <= 0:
                return
            signals.raise_if_signalled()
            signals.exit_event.wait(min(wait, MAX_WAIT_SLICE))
            signals.raise_if_signalled()

    def _take(self, now: float) -> float:
        if now < self._paused_until:
            return self._paused_until - now
        self._grow(now)
        if self.rate is not None:
            self.tokens = min(self.burst, self.tokens + (now - self._updated) * self.rate)
        self._updated = now
        if self.rate is not None and self.tokens < 1:
            return (1 - self.tokens) / self.rate
        if self.rate is not None:
            self.tokens -= 1
        self._in_flight += 1
        self._recent.append(now)
        return 0.0

    def _grow(self, now: float) -> None:
        """Additive increase towards the ceiling; without one, the limit lapses after a quiet spell."""
        if self.rate is None:
            return
        if self.ceiling is None:
            if now - self._last_refusal > RECOVERY_SECONDS:
                self.rate = None
            else:
                self.rate += 0.1 * self.rate * max(0.0, now - self._updated)
            return
        self.rate = min(self.ceiling, self.rate + 0.1 * self.ceiling * max(0.0, now - self._updated))

    def release(self) -> None:
        """A request that got no response (a dropped connection): no longer in flight."""
        with self._lock:
            self._in_flight = max(0, self._in_flight - 1)

    # --- adaptation --------------------------------------------------------------------------
    def observe(self, status: int, headers: Mapping[str, str]) -> None:
        """Learns from one response (every attempt, refusals included)."""
        said = parse_headers(headers)
        now = time.monotonic()
        with self._lock:
            self._in_flight = max(0, self._in_flight - 1)
            self._learn_policy(said)
            if status == 429:
                self._refused(now, said)
            elif said.remaining is not None:
                self._sync(now, said)

    def _learn_policy(self, said: RateHeaders) -> None:
        if self.configured is not None or said.limit is None or said.window is None or said.window <= 0:
            return
        policy_rate = said.limit / said.window
        if self.ceiling != policy_rate:
            self.ceiling = policy_rate
            self.rate = policy_rate if self.rate is None else min(self.rate, policy_rate)
            self.burst = max(1.0, said.limit)
            self.tokens = min(self.tokens, self.burst)

    def _sync(self, now: float, said: RateHeaders) -> None:
        """The server's count of what remains wins over ours; at zero, the limit is learned from the reset.

        With nothing configured and no policy, ``limit / reset`` at zero remaining is the rate that
        refills the bucket by the reset (a token bucket's refill rate, or a fixed window's remainder
        spread to its end): never faster than the server allows.
        """
        assert said.remaining is not None
        if said.remaining <= 0 and said.reset and said.limit and self.configured is None and said.window is None:
            learned = said.limit / said.reset
            if self.ceiling is None or learned > self.ceiling:
                self.ceiling, self.burst = learned, max(1.0, said.limit)
            self.rate = self.ceiling if self.rate is None else min(self.rate, self.ceiling)
        if self.rate is not None:
            self.tokens = min(self.tokens, said.remaining - self._in_flight)
        elif said.remaining <= 0 and said.reset:
            self._paused_until = max(self._paused_until, now + said.reset)

    def _refused(self, now: float, said: RateHeaders) -> None:
        self.refused += 1
        signal = (said.retry_after or 0) > 0 or said.any or self.configured is not None
        if not signal:
            return  # no sign of a rate limit: the retry's back-off handles this one request
        self._last_refusal = now
        if now - self._last_decrease >= 1.0:  # one decrease per second, however many refusals
            self._last_decrease = now
            base = self.rate if self.rate is not None else self._measured_rate(now)
            floor = MIN_RATE if self.ceiling is None else max(MIN_RATE, self.ceiling / 8)
            self.rate = max(floor, base * DECREASE)
            self.tokens = 0.0
        wait = said.retry_after if said.retry_after and said.retry_after > 0 else 1 / max(self.rate or 1.0, MIN_RATE)
        self._paused_until = max(self._paused_until, now + wait)

    def _measured_rate(self, now: float) -> float:
        recent = [t for t in self._recent if now - t <= 2.0]
        return max(MIN_RATE, len(recent) / 2.0)


_LIMITERS: dict[tuple[str, str, str], RateLimiter] = {}
_REGISTRY_LOCK = threading.Lock()


def limiter_for(provider: str, base_url: str, key: str | None, rate: float | None, burst: float | None) -> RateLimiter:
    """The process's limiter for one provider, base URL and key (the key only as a hash).

    A limiter made with other settings than those configured now is replaced.
    """
    identity = (provider, base_url, hashlib.sha256((key or "").encode()).hexdigest()[:16])
    with _REGISTRY_LOCK:
        limiter = _LIMITERS.get(identity)
        if limiter is None or limiter.configured != rate or (burst is not None and limiter.burst != burst):
            limiter = _LIMITERS[identity] = RateLimiter(rate, burst)
        return limiter
