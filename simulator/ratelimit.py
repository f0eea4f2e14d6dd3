"""[SIM] A rate limit per API key: a token bucket that refuses with 429 when empty.

None of the four providers documents its limits, so this is the shape real APIs commonly use:
``rate`` tokens per second, at most ``burst`` held. Every answer carries the headers of
``headers`` style: ``x`` sends ``X-RateLimit-Limit`` (the burst), ``X-RateLimit-Remaining`` and
``X-RateLimit-Reset`` (whole seconds until the bucket is full); ``ietf`` sends the draft's
``RateLimit: limit=…, remaining=…, reset=…`` and ``RateLimit-Policy: <burst>;w=<burst/rate>``;
``none`` sends none. A refusal also carries ``Retry-After``: whole seconds until a token, at least 1.

A second, independent model, ``25/s,window=10``, is a fixed window (GitHub's shape): 250 requests per
10-second window aligned to the epoch, refused until the next window. Its ``x`` headers send
``X-RateLimit-Reset`` as the epoch second the window ends, its ``ietf`` ones the seconds until then;
``Retry-After`` is the whole seconds until then, at least 1.
"""

from __future__ import annotations

import math
import re
import threading
import time
from dataclasses import dataclass, field

from .options import HEADER_STYLES

_SPEC = re.compile(
    r"^\s*([0-9.]+)\s*/\s*(s|sec|second|m|min|minute)\s*"
    r"(?:,\s*burst\s*=\s*([0-9.]+))?\s*(?:,\s*window\s*=\s*([0-9.]+))?\s*$"
)


@dataclass(frozen=True)
class RateLimit:
    """A per-key limit: ``rate`` requests per second, ``burst`` at once."""

    rate: float
    burst: float
    headers: str = "x"
    window: float | None = None  # seconds of a fixed window; None: a token bucket

    @classmethod
    def parse(cls, spec: str, headers: str = "x") -> RateLimit:
        """``25/s``, ``1500/min``, ``25/s,burst=50`` (burst: one second's worth by default), ``25/s,window=10``."""
        match = _SPEC.match(spec)
        if match is None or float(match.group(1)) <= 0 or (match.group(4) and float(match.group(4)) <= 0):
            raise ValueError(f"not a rate limit: {spec!r} (e.g. 25/s, 1500/min, 25/s,burst=50, 25/s,window=10)")
        if headers not in HEADER_STYLES:
            raise ValueError(f"rate-limit headers must be one of {HEADER_STYLES}")
        per_second = float(match.group(1)) / (60 if match.group(2).startswith("m") else 1)
        burst = float(match.group(3)) if match.group(3) else max(1.0, per_second)
        return cls(per_second, burst, headers, float(match.group(4)) if match.group(4) else None)

    def buckets(self) -> KeyBuckets | KeyWindows:
        """The per-key state this limit keeps."""
        return KeyWindows(self) if self.window else KeyBuckets(self)


@dataclass
class KeyBuckets:
    """The buckets of every key, refilled continuously."""

    limit: RateLimit
    _buckets: dict[str, tuple[float, float]] = field(default_factory=dict)  # key → (tokens, when)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def take(self, key: str) -> tuple[bool, dict[str, str]]:
        """Takes a token for ``key``: whether the request may proceed, and the headers to send."""
        now = time.monotonic()
        rate, burst = self.limit.rate, self.limit.burst
        with self._lock:
            tokens, when = self._buckets.get(key, (burst, now))
            tokens = min(burst, tokens + (now - when) * rate)
            allowed = tokens >= 1
            if allowed:
                tokens -= 1
            self._buckets[key] = (tokens, now)
        headers = self._headers(tokens)
        if not allowed:
            headers["Retry-After"] = str(max(1, math.ceil((1 - tokens) / rate)))
        return allowed, headers

    def _headers(self, tokens: float) -> dict[str, str]:
        limit, remaining = int(self.limit.burst), max(0, int(tokens))
        reset = math.ceil((self.limit.burst - tokens) / self.limit.rate)
        if self.limit.headers == "x":
            return {
                "X-RateLimit-Limit": str(limit),
                "X-RateLimit-Remaining": str(remaining),
                "X-RateLimit-Reset": str(reset),
            }
        if self.limit.headers == "ietf":
            window = self.limit.burst / self.limit.rate
            return {
                "RateLimit": f"limit={limit}, remaining={remaining}, reset={reset}",
                "RateLimit-Policy": f"{limit};w={window:g}",
            }
        return {}


@dataclass
class KeyWindows:
    """Fixed windows per key: ``rate * window`` requests in each, counted from the window's start."""

    limit: RateLimit
    _counts: dict[str, tuple[int, int]] = field(default_factory=dict)  # key → (window index, requests)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def take(self, key: str) -> tuple[bool, dict[str, str]]:
        """Counts a request for ``key``: whether the request may proceed, and the headers to send."""
        assert self.limit.window is not None
        now, window = time.time(), self.limit.window
        allowance = max(1, int(self.limit.rate * window))
        index = int(now // window)
        with self._lock:
            seen, used = self._counts.get(key, (index, 0))
            used = used if seen == index else 0
            allowed = used < allowance
            used += allowed
            self._counts[key] = (index, used)
        ends = (index + 1) * window
        headers = self._headers(allowance, allowance - used, ends, now)
        if not allowed:
            headers["Retry-After"] = str(max(1, math.ceil(ends - now)))
        return allowed, headers

    def _headers(self, allowance: int, remaining: int, ends: float, now: float) -> dict[str, str]:
        if self.limit.headers == "x":
            return {
                "X-RateLimit-Limit": str(allowance),
                "X-RateLimit-Remaining": str(remaining),
                "X-RateLimit-Reset": str(math.ceil(ends)),  # an epoch second, as GitHub sends it
            }
        if self.limit.headers == "ietf":
            return {
                "RateLimit": f"limit={allowance}, remaining={remaining}, reset={math.ceil(ends - now)}",
                "RateLimit-Policy": f"{allowance};w={self.limit.window:g}",
            }
        return {}
