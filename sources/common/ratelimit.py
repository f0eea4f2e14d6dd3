"""Pacing requests to a provider's rate limit, before it refuses them, with nothing configured.

One token bucket per provider, base URL and API key, shared by every worker thread of the process
(so by every worker of a run). It starts from ``[sources.<provider>] requests_per_second`` and
``burst`` when configured; otherwise it is unlimited until the provider says something, and then
learns the limit from the responses:

- **The provider's budget is the truth.** ``X-RateLimit-Remaining`` / ``RateLimit-Remaining`` (or
  the draft's combined ``RateLimit`` field) caps the tokens at what remains, less the requests in
  flight. The sustainable rate is ``limit / window``: the window is ``RateLimit-Policy``'s ``w``, or
  else the longest ``…-Reset`` seen (a token bucket's reset when empty, a fixed window's length).
- **Reset: seconds or an epoch time, decided by size.** A ``…-Reset`` above 1,000,000,000 is an
  epoch second (GitHub's form), anything else is seconds from now (the IETF draft's form).
- **Fixed windows are learned from a refusal.** A 429 that says the budget is gone marks the
  provider as windowed: from then on the remaining budget is spread over the time to the reset, and
  at zero every worker waits for the reset. This holds for the rest of the process: a token bucket
  taken for a window still gets its burst back at the reset it announces.
- **``Retry-After`` alone:** AIMD with fast recovery. A refusal holds every worker for
  ``Retry-After`` and sets the rate to 70% of the rate that was refused (the rate served over the
  last second when nothing was paced); it then climbs back to 92% of it within two seconds, and
  probes above it by 1% a second. Without a ceiling the limit is dropped after 30 s without a refusal.

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
DECREASE: Final = 0.7  # a refusal sets the rate to this share of the rate refused
PLATEAU: Final = 0.92  # recovery climbs back to this share of the rate refused ...
RECOVERY_RAMP: Final = 2.0  # ... within these seconds after the hold
PROBE_PER_SECOND: Final = 0.01  # then probes above it by this share a second
RECOVERY_SECONDS: Final = 30.0  # without a ceiling: drop the limit after this long without a refusal
MIN_SPREAD_SECONDS: Final = 0.05  # a reset closer than this spreads the budget over this long
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
    """A token bucket shared by every worker of a run, learning the provider's limit from its answers.

    Args:
        rate: Requests per second; None: unlimited until the provider says otherwise.
        burst: Tokens the bucket holds (default: one second's worth).
    """

    def __init__(self, rate: float | None = None, burst: float | None = None) -> None:
        self.configured = rate
        self.ceiling = rate  # the sustainable rate: configured, or learned from the headers
        self.rate = rate  # the pace now; None: unlimited
        self.burst = float(burst or max(1.0, rate or 1.0))
        self.tokens = self.burst
        self.refused = 0
        self.windowed = False  # learned: the budget comes back only at the announced reset
        self._window = 0.0  # the longest reset seen, seconds
        self._budget_known = False  # whether the provider has said what remains
        self._probe: tuple[float, float] | None = None  # AIMD: (the rate refused, when recovery starts)
        self._updated = time.monotonic()
        self._paused_until = 0.0
        self._last_decrease = float("-inf")
        self._last_refusal = float("-inf")
        self._in_flight = 0
        self._served: deque[float] = deque(maxlen=4096)
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
        self._recover(now)
        if self.rate is not None:
            self.tokens = min(self.burst, self.tokens + (now - self._updated) * self.rate)
        self._updated = now
        if self.rate is not None and self.tokens < 1:
            return (1 - self.tokens) / self.rate
        if self.rate is not None:
            self.tokens -= 1
        self._in_flight += 1
        return 0.0

    def _recover(self, now: float) -> None:
        """After a refusal: back to ``PLATEAU`` of the refused rate within ``RECOVERY_RAMP``, then probe higher."""
        if self._probe is None:
            return
        refused_at, since = self._probe
        if now - self._last_refusal > RECOVERY_SECONDS and self.configured is None and self.ceiling is None:
            self.rate, self._probe = None, None  # the limit has lapsed
            return
        elapsed = max(0.0, now - since)
        if elapsed < RECOVERY_RAMP:
            target = refused_at * (DECREASE + (PLATEAU - DECREASE) * elapsed / RECOVERY_RAMP)
        else:
            target = refused_at * (PLATEAU + PROBE_PER_SECOND * (elapsed - RECOVERY_RAMP))
        self.rate = self._capped(max(self.rate or 0.0, target))

    def _capped(self, rate: float) -> float:
        """Never above the configured rate, nor above a ceiling the provider's headers taught."""
        cap = self.configured if self.configured is not None else self.ceiling
        return rate if cap is None else min(cap, rate)

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
            if said.remaining is not None:
                self._learn_window(said)
            if status == 429:
                self._refused(now, said)
            else:
                self._served.append(now)
            if said.remaining is not None:
                self._sync(now, said)

    def _learn_policy(self, said: RateHeaders) -> None:
        if self.configured is not None or said.limit is None or said.window is None or said.window <= 0:
            return
        self._set_ceiling(said.limit / said.window, said.limit)

    def _set_ceiling(self, ceiling: float, limit: float) -> None:
        if self.ceiling != ceiling:
            self.ceiling = ceiling
            self.burst = max(1.0, limit)
            self.tokens = min(self.tokens, self.burst)
        if self._probe is None:
            self.rate = ceiling

    def _learn_window(self, said: RateHeaders) -> None:
        """The window is the longest reset seen: a token bucket's when empty, a fixed window's length."""
        if said.reset is not None and said.window is None:
            self._window = max(self._window, said.reset)
            if self.configured is None and said.limit and self._window > 0:
                self._set_ceiling(said.limit / self._window, said.limit)

    def _sync(self, now: float, said: RateHeaders) -> None:
        """The provider's count of what remains wins over ours; when windowed it is spread to the reset."""
        assert said.remaining is not None
        available = said.remaining - self._in_flight
        # the first count is taken whole (the burst we may spend); later ones only lower ours, since
        # answers overtake each other and an older count would spend tokens already gone
        self.tokens = min(self.burst, min(self.tokens, available) if self._budget_known else available)
        self._budget_known = True
        if not self.windowed or said.reset is None:
            return
        if said.remaining <= 0:
            self._paused_until = max(self._paused_until, now + said.reset)
        elif self._probe is None:
            spread = said.remaining / max(said.reset, MIN_SPREAD_SECONDS)
            self.rate = max(spread, self.ceiling or 0.0)
            if self.configured is not None:
                self.rate = min(self.rate, self.configured)

    def _refused(self, now: float, said: RateHeaders) -> None:
        self.refused += 1
        if said.remaining is not None:
            self._refused_with_budget(now, said)
            return
        retry_after = said.retry_after if said.retry_after and said.retry_after > 0 else None
        if retry_after is None and not said.any and self.configured is None:
            return  # no sign of a rate limit: the retry's back-off handles this one request
        self._last_refusal = now
        if now - self._last_decrease >= 1.0:  # one decrease per second, however many refusals
            self._last_decrease = now
            refused_at = self._served_rate(now) if self.rate is None else self.rate
            self._probe = (max(MIN_RATE, refused_at), now + (retry_after or 1 / max(refused_at, MIN_RATE)))
            self.rate = max(MIN_RATE, refused_at * DECREASE)
            self.tokens = 0.0
        self._hold(now, retry_after or 1 / (self.rate or 1.0))

    def _refused_with_budget(self, now: float, said: RateHeaders) -> None:
        """The budget is spent: the provider is windowed; every worker waits for the reset (or ``Retry-After``)."""
        self._last_refusal = now
        if said.remaining is not None and said.remaining <= 0 and said.reset:
            self.windowed = True
        self.tokens = min(self.tokens, 0.0)
        waits = [w for w in (said.retry_after, said.reset) if w is not None and w > 0]
        self._hold(now, min(waits) if waits else 1 / (self.ceiling or 1.0))

    def _hold(self, now: float, seconds: float) -> None:
        self._paused_until = max(self._paused_until, now + seconds)

    def _served_rate(self, now: float) -> float:
        """Served over the last second, with those in flight: the rate the provider allowed before refusing."""
        return max(MIN_RATE, float(sum(1 for t in self._served if now - t <= 1.0) + self._in_flight))


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
