"""Per-request fault injection, deterministic under a seed.

A fault is drawn from an RNG keyed by the seed, the request's identity (method, path, query, body)
and how many times that identical request was seen before. The same requests therefore meet the
same faults whatever the thread scheduling, and a retry of a faulted request draws afresh.

Spec syntax (``--faults``): comma-separated ``name=value`` pairs, e.g.
``429=0.05,503=0.02,reset=0.02,slow=0.05,truncate=0.02,invalid=0.02,retry_after=1,slow_ms=300``.
"""

from __future__ import annotations

import random
import threading
from collections import Counter
from dataclasses import dataclass, field, fields

from .corpus import stable_hash

FAULT_KINDS = ("429", "500", "502", "503", "reset", "slow", "truncate", "invalid")


@dataclass(frozen=True)
class FaultSpec:
    """Probabilities per request of each fault kind, plus their parameters."""

    p429: float = 0.0
    p500: float = 0.0
    p502: float = 0.0
    p503: float = 0.0
    reset: float = 0.0
    slow: float = 0.0
    truncate: float = 0.0
    invalid: float = 0.0
    retry_after: int = 1
    slow_ms: int = 250
    seed: int = 0

    @classmethod
    def parse(cls, spec: str | None, seed: int = 0) -> FaultSpec:
        """Parses a ``--faults`` string; an empty or missing spec injects nothing."""
        values: dict[str, float | int] = {"seed": seed}
        names = {f.name for f in fields(cls)}
        for item in filter(None, (part.strip() for part in (spec or "").split(","))):
            key, sep, raw = item.partition("=")
            key = key.strip()
            attr = f"p{key}" if key in ("429", "500", "502", "503") else key
            if not sep or attr not in names:
                raise ValueError(f"unknown fault setting {item!r}; kinds: {', '.join(FAULT_KINDS)}")
            values[attr] = int(raw) if attr in ("retry_after", "slow_ms", "seed") else float(raw)
        parsed = cls(**values)  # type: ignore[arg-type]
        if parsed.total_probability > 1.0:
            raise ValueError("fault probabilities add up to more than 1")
        return parsed

    @property
    def table(self) -> list[tuple[str, float]]:
        """Fault kinds with their probabilities, in a fixed order."""
        return [
            ("429", self.p429),
            ("500", self.p500),
            ("502", self.p502),
            ("503", self.p503),
            ("reset", self.reset),
            ("slow", self.slow),
            ("truncate", self.truncate),
            ("invalid", self.invalid),
        ]

    @property
    def total_probability(self) -> float:
        """Probability that a request meets any fault."""
        return sum(p for _, p in self.table)


@dataclass
class FaultInjector:
    """Decides, per request, which fault (if any) to inject."""

    spec: FaultSpec = field(default_factory=FaultSpec)
    _seen: Counter[int] = field(default_factory=Counter)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def draw(self, method: str, target: str, body: bytes) -> str | None:
        """Returns the fault kind for this request, or None."""
        if self.spec.total_probability <= 0:
            return None
        identity = stable_hash(method, target, body)
        with self._lock:
            attempt = self._seen[identity]
            self._seen[identity] += 1
        roll = random.Random(stable_hash(self.spec.seed, identity, attempt)).random()
        for kind, probability in self.spec.table:
            if roll < probability:
                return kind
            roll -= probability
        return None
