"""One audit: each provider's census, compared with the warehouse; deletions marked; repair; results recorded.

Reads from the providers happen outside the warehouse lock (they can take long); the comparison,
the deletion marks and ``audit_results`` happen under it. A repair is a run of its own (the same
code paths as a backfill, cursors untouched), after which the repaired conversations are read whole
and judged again.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable, Iterable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import dlt

from sources.common.audit import Census, Choose, every
from sources.common.batching import Suppressed
from sources.common.deletions import Deletions
from sources.common.observer import RunObserver
from sources.common.privacy import PrivacyPolicy
from sources.common.tables import CONVERSATIONS, MESSAGES

from ..engine.exit_codes import ExitCode
from ..engine.factory import locked_pipeline
from ..engine.failures import describe_failure
from ..engine.outcome import RunReport
from ..engine.registry import spec_of
from ..engine.runner import REPAIR, execute, hashing_key
from ..engine.target import Target
from ..warehouse.deletions import apply_deletions, delete_policy
from ..warehouse.suppressions import warehouse_suppressions
from .loaded import read_loaded
from .results import record, summary_row, verdict_rows
from .verdicts import COMPLETE, DELETED, INCOMPLETE, UNREADABLE, Loaded, Verdict, judge

OpenPipeline = Callable[[Target], AbstractContextManager[dlt.Pipeline]]


@dataclass
class ProviderAudit:
    """One provider's audit."""

    provider: str
    verdicts: list[Verdict] = field(default_factory=list)
    requests: int = 0
    seconds: float = 0.0
    checked_whole: list[str] | None = None  # --full: the conversations read whole (the sample)
    error: str | None = None
    repair: RunReport | None = None

    def count(self, kind: str) -> int:
        """Conversations of one verdict kind."""
        return sum(v.kind == kind for v in self.verdicts)

    @property
    def checked(self) -> int:
        """Conversations checked (deleted ones aside)."""
        return sum(v.kind != DELETED for v in self.verdicts)

    def to_json(self) -> dict[str, Any]:
        """The provider's audit for ``--json``."""
        return {
            "checked": self.checked,
            "complete": self.count(COMPLETE),
            "incomplete": self.count(INCOMPLETE),
            "deleted": self.count(DELETED),
            "unreadable": self.count(UNREADABLE),
            "requests": self.requests,
            "seconds": round(self.seconds, 3),
            "error": self.error,
            "checked_whole": self.checked_whole,
            "repaired": None if self.repair is None else int(self.repair.exit_code()) == 0,
            "not_complete": [v.to_json() for v in self.verdicts if v.kind != COMPLETE],
        }


@dataclass
class AuditReport:
    """A whole audit."""

    mode: str
    audits: list[ProviderAudit] = field(default_factory=list)

    def exit_code(self) -> ExitCode:
        """0 complete; ``INCOMPLETE`` when a conversation is incomplete; 1 when an audit or a repair failed."""
        if any(a.error for a in self.audits):
            return ExitCode.FAILED
        if any(a.count(INCOMPLETE) for a in self.audits):
            return ExitCode.INCOMPLETE
        return ExitCode.OK


def sampler(percent: float | None, seed: int | None = None) -> Choose:
    """Chooses ``percent`` of the conversations at random (at least one), or all of them."""
    if percent is None or percent >= 100:
        return every
    rng = random.Random(seed)

    def choose(ids: list[str]) -> list[str]:
        if not ids:
            return []
        return sorted(rng.sample(ids, max(1, math.ceil(len(ids) * percent / 100))))

    return choose


def audit(
    target: Target,
    providers: Iterable[str],
    full: bool = False,
    sample: float | None = None,
    repair: bool = False,
    seed: int | None = None,
    census_options: Mapping[str, Mapping[str, Any]] | None = None,
    open_pipeline: OpenPipeline = locked_pipeline,
) -> AuditReport:
    """Audits each provider, repairs when asked, and records the results.

    Args:
        target: The warehouse.
        providers: Provider keys.
        full: Read conversations whole and compare message by message.
        sample: With ``full``, the percentage of conversations read, chosen at random.
        repair: Re-read the incomplete conversations (a run of their own), then judge them again.
        seed: Makes the sample reproducible.
        census_options: Per provider, arguments narrowing its census (a shard's ids).
        open_pipeline: How the warehouse is opened; by default under chatsync's locks (an Airflow
            task holds the warehouse lock for its whole process already).

    Returns:
        The report; its ``exit_code`` is the command's exit status.

    Raises:
        RunLocked: Another run holds the warehouse.
    """
    mode = "sample" if full and sample is not None and sample < 100 else "full" if full else "quick"
    report = AuditReport(mode)
    key = hashing_key(target.paths, None)
    policy = delete_policy()
    at = datetime.now(UTC)
    for provider in providers:
        options = dict((census_options or {}).get(provider, {}))
        choose = sampler(sample if full else None, seed)
        audited = audit_provider(target, provider, key, full, choose, policy, options, open_pipeline)
        if repair and not audited.error and audited.count(INCOMPLETE):
            _repair(target, audited, key, policy)
        report.audits.append(audited)
    with open_pipeline(target) as pipeline:
        rows = []
        for audited in report.audits:
            rows.append(
                summary_row(audited.provider, "repair" if repair else mode, at, audited.verdicts, audited.requests)
            )
            rows += verdict_rows(audited.provider, "repair" if repair else mode, at, audited.verdicts)
        record(pipeline, rows)
    return report


def audit_provider(
    target: Target,
    provider: str,
    key: bytes,
    full: bool,
    choose: Choose,
    policy: str,
    options: Mapping[str, Any] | None = None,
    open_pipeline: OpenPipeline = locked_pipeline,
) -> ProviderAudit:
    """One provider's census compared with the warehouse; deletions found are marked."""
    audited, started = ProviderAudit(provider), time.monotonic()
    observer = RunObserver(provider)
    try:
        census = spec_of(provider).census(full=full, choose=choose, observer=observer, **(options or {}))
        audited.checked_whole = list(census.chosen) if full else None
        with open_pipeline(target) as pipeline:
            audited.verdicts = _compare(pipeline, census, key, full)
            apply_deletions(pipeline, provider, _deletions_of(audited.verdicts), policy)
    except Exception as exc:
        audited.error = describe_failure(provider, exc)
    audited.requests, audited.seconds = observer.requests, time.monotonic() - started
    return audited


def _compare(pipeline: dlt.Pipeline, census: Census, key: bytes, full: bool) -> list[Verdict]:
    provider = census.provider
    privacy = PrivacyPolicy.from_config(provider, key)
    newest = [h.newest_id for h in census.held.values() if h.newest_id is not None]
    with pipeline.sql_client() as client:
        loaded = (
            read_loaded(client, provider, newest, census.chosen if full else []) if client.has_dataset() else Loaded()
        )
        suppressed = Suppressed(_suppressions(client), privacy)

    def erased(cid: str, owner: str | None) -> bool:
        return bool(suppressed) and suppressed.drops(
            CONVERSATIONS, {"provider": provider, "conversation_id": cid, "user_id": owner}
        )

    return judge(census, loaded, lambda row: privacy.apply(MESSAGES, row), erased, full)


def _suppressions(client: Any) -> dict[tuple[str, str], set[str]]:
    found: dict[tuple[str, str], set[str]] = {}
    for provider, kind, key_hash in warehouse_suppressions(client):
        found.setdefault((provider, kind), set()).add(key_hash)
    return found


def _deletions_of(verdicts: list[Verdict]) -> Deletions:
    deletions = Deletions()
    for verdict in verdicts:
        if verdict.kind == DELETED:
            deletions.gone(verdict.conversation_id, verdict.bot_id)
        deletions.messages_gone(verdict.conversation_id, verdict.gone)
    return deletions


def _repair(target: Target, audited: ProviderAudit, key: bytes, policy: str) -> None:
    """Re-reads the incomplete conversations whole (a run), then judges them again, message by message."""
    incomplete = [v.conversation_id for v in audited.verdicts if v.kind == INCOMPLETE]
    options = {audited.provider: {REPAIR: incomplete}}
    audited.repair = execute(target, [audited.provider], source_options=options)
    if audited.repair.exit_code() != ExitCode.OK:
        audited.error = (
            "; ".join(o.error for o in audited.repair.outcomes if o.error)
            or f"{audited.provider}: the repair run failed (exit {int(audited.repair.exit_code())})"
        )
        return
    wanted = set(incomplete)
    again = audit_provider(target, audited.provider, key, True, lambda ids: [i for i in ids if i in wanted], policy)
    if again.error:
        audited.error = again.error
        return
    by_id = {v.conversation_id: v for v in again.verdicts if v.conversation_id in wanted}
    audited.verdicts = [by_id.get(v.conversation_id, v) if v.kind == INCOMPLETE else v for v in audited.verdicts]
    audited.requests += again.requests + sum(o.observer.requests for o in audited.repair.outcomes)
