"""The documented outcome of every hostile payload: what chatsync does when one conversation is bad.

Each case tampers with one conversation of one provider (``simulator.tamper``) and states the
outcome: ``loaded`` (with the normalisation written down) or ``skipped`` (the conversation is named
in an ``error:`` line with the problem, recorded in ``sync_errors``, and the run exits 3). In every
case the other conversations load exactly. ``tests/sources/test_payloads.py`` checks each case;
``make reliability`` prints the table; docs/reliability.md carries it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, timedelta
from pathlib import Path
from typing import Any, Final

import duckdb

from pipelines.cli.simulated import simulator_environment
from simulator import Corpus, Simulator
from simulator.tamper import Tamper


@dataclass(frozen=True)
class PayloadCase:
    """One hostile payload and what chatsync does with it."""

    provider: str
    kind: str
    outcome: str  # "loaded" or "skipped"
    detail: str  # for "skipped": a substring of the error line; for "loaded": the normalisation

    @property
    def name(self) -> str:
        """``provider:kind``."""
        return f"{self.provider}:{self.kind}"


LOADED, SKIPPED = "loaded", "skipped"

CASES: Final = (
    PayloadCase("example_ai", "id_object", SKIPPED, "a message without a usable id"),
    PayloadCase("example_ai", "id_missing", SKIPPED, "a message without a usable id"),
    PayloadCase("example_ai", "id_empty", SKIPPED, "a message without a usable id"),
    PayloadCase("example_ai", "created_at_missing", SKIPPED, "lacks created_at"),
    PayloadCase("example_ai", "created_at_garbage", SKIPPED, "unparsable created_at"),
    PayloadCase("example_ai", "created_at_future", LOADED, "as sent; moves no cursor; one warning"),
    PayloadCase("example_ai", "created_at_lowercase", LOADED, "the exact instant (RFC 3339 allows t and z)"),
    PayloadCase("example_ai", "text_object", LOADED, "content NULL, raw kept, counted"),
    PayloadCase("example_ai", "text_null", LOADED, "content NULL"),
    PayloadCase("example_ai", "text_nul", LOADED, "NUL replaced by U+FFFD (Postgres takes no NUL)"),
    PayloadCase("example_ai", "text_surrogate", LOADED, "lone surrogate replaced by U+FFFD"),
    PayloadCase("example_ai", "text_huge", LOADED, "as sent (1 MB)"),
    PayloadCase("example_ai", "role_unknown", LOADED, "role 'unknown', counted"),
    PayloadCase("example_ai", "sender_object", LOADED, "sender_id NULL, raw kept"),
    PayloadCase("example_ai", "duplicate_id", LOADED, "first copy in the response kept, counted, warning"),
    PayloadCase("example_ai", "messages_null", SKIPPED, "`data.messages` is null, not a list"),
    PayloadCase("example_ai", "messages_object", SKIPPED, "`data.messages` is a JSON object, not a list"),
    PayloadCase("example_ai", "messages_missing", SKIPPED, "the response has no `data.messages`"),
    PayloadCase("example_ai", "has_more_forever", LOADED, "a short page with nothing new ends paging"),
    PayloadCase("example_ai", "deep_json", SKIPPED, "nested too deeply"),
    PayloadCase("example_ai", "http_500", SKIPPED, "HTTP 500 after every retry"),
    PayloadCase("example_ai", "http_400", SKIPPED, "request rejected (HTTP 400"),
    PayloadCase("example_ai", "truncated", SKIPPED, "responses kept arriving truncated"),
    PayloadCase("example_ai", "invalid_json", SKIPPED, "a body that is not JSON"),
    PayloadCase("owlbot", "id_string", SKIPPED, "a message without an integer id"),
    PayloadCase("owlbot", "id_huge", SKIPPED, "a message without an integer id"),
    PayloadCase("owlbot", "messagenbr_string", SKIPPED, "messagenbr 'seven' is not a count"),
    PayloadCase("owlbot", "session_without_uuid", SKIPPED, "1 listed session without session_uuid"),
    PayloadCase("owlbot", "created_at_future", LOADED, "as sent; the bot's data clock does not move"),
    PayloadCase("owlbot", "messages_null", SKIPPED, "`messageArr` is null, not a list"),
    PayloadCase("owlbot", "text_nul", LOADED, "NUL replaced by U+FFFD"),
    PayloadCase("chatnode", "chat_without_session", SKIPPED, "a chat without session_id"),
    PayloadCase("chatnode", "id_object", SKIPPED, "a chat without a usable id"),
    PayloadCase("chatnode", "lead_created_at_garbage", SKIPPED, "unparsable created_at"),
    PayloadCase("chatnode", "created_at_future", LOADED, "as sent; moves no frontier"),
    PayloadCase("chatnode", "http_500", SKIPPED, "HTTP 500 after every retry"),
    PayloadCase("chatnode", "duplicate_id", LOADED, "first copy in the response kept, counted, warning"),
    PayloadCase("feedloop", "item_string", LOADED, "role 'unknown', content NULL, raw {'value': …}"),
    PayloadCase("feedloop", "messages_object", SKIPPED, "`data` is a JSON object, not a list"),
    PayloadCase("feedloop", "http_500", SKIPPED, "HTTP 500 after every retry"),
    PayloadCase("feedloop", "duplicate_id", LOADED, "first copy in the history kept, counted, warning"),
)


Invoke = Callable[[list[str], dict[str, str]], tuple[int, str]]
TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z ")


def labelled_lines(text: str, label: str) -> list[str]:
    """The ``<label>: …`` lines of chatsync's output, without their timestamp."""
    lines = (TIMESTAMP.sub("", line) for line in text.splitlines())
    return [line for line in lines if line.startswith(f"{label}:")]


@dataclass
class CaseResult:
    """What one case did, measured against the simulator's ground truth."""

    case: PayloadCase
    exit_code: int
    error_lines: list[str]
    target: str
    target_rows: int
    healthy_lost: int
    sync_error_rows: int
    after_fix_lost: int
    after_fix_exit: int
    unresolved_after_fix: int

    @property
    def outcome(self) -> str:
        """``loaded`` or ``skipped``, as observed."""
        return (
            SKIPPED
            if self.exit_code == 3 and any(self.case.detail in line for line in self.error_lines)
            else (LOADED if self.exit_code == 0 and self.target_rows > 0 else "unexpected")
        )

    @property
    def as_documented(self) -> bool:
        """The documented outcome, healthy conversations exact, everything exact once fixed."""
        return (
            self.outcome == self.case.outcome
            and self.healthy_lost == 0
            and self.after_fix_lost == 0
            and self.after_fix_exit == 0
            and self.unresolved_after_fix == 0
        )


def pick_target(sim: Simulator, provider: str) -> str:
    """A conversation with several messages, not the first one listed (so others come before it)."""
    counts: dict[str, int] = {}
    for message in sim.truth(provider).messages:
        counts[message.conversation_id] = counts.get(message.conversation_id, 0) + 1
    ids = [cid for cid in sim.corpus.conversation_ids(provider) if counts.get(cid, 0) >= 3]
    return ids[len(ids) // 2]


def warehouse_rows(path: Path, provider: str) -> dict[tuple[str, str], tuple[Any, ...]]:
    """``(conversation, message) → (role, content, created_at)`` of one provider."""
    with duckdb.connect(str(path), read_only=True) as con:
        rows = con.execute(
            "SELECT conversation_id, message_id, role, content, created_at FROM chat_history.messages "
            "WHERE provider = ?",
            [provider],
        ).fetchall()
    return {(r[0], r[1]): (r[2], r[3], r[4].astimezone(UTC) if r[4] else None) for r in rows}


def lost_messages(
    sim: Simulator, path: Path, provider: str, skip: str | None = None, present_only: str | None = None
) -> int:
    """Truth messages missing from the warehouse or loaded with other values.

    Args:
        sim: The simulator.
        path: The DuckDB file.
        provider: Provider key.
        skip: A conversation not to count at all.
        present_only: A conversation whose messages need only be present (a documented
            normalisation changed a value, and incremental loads do not re-read edits).

    Returns:
        How many are missing or wrong.
    """
    loaded = warehouse_rows(path, provider)
    lost = 0
    for m in sim.truth(provider).messages:
        if m.conversation_id == skip:
            continue
        key = (m.conversation_id, str(m.message_id))
        if m.conversation_id == present_only:
            lost += key not in loaded
        else:
            lost += loaded.get(key) != (m.role, m.content, m.created_at)
    return lost


def sync_error_count(path: Path, provider: str, conversation_id: str, unresolved: bool = True) -> int:
    """Rows of ``sync_errors`` for one conversation (only unresolved ones by default)."""
    with duckdb.connect(str(path), read_only=True) as con:
        tables = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
        if "sync_errors" not in tables:
            return 0
        sql = "SELECT COUNT(*) FROM chat_history.sync_errors WHERE provider = ? AND conversation_id = ?"
        if unresolved:
            sql += " AND resolved_at IS NULL"
        return int(con.execute(sql, [provider, conversation_id]).fetchall()[0][0])


def run_case(case: PayloadCase, workdir: Path, invoke: Invoke, size: int = 400) -> CaseResult:
    """Runs one case: a tampered run, then the tamper lifted and a day later, a normal run.

    Args:
        case: The case.
        workdir: An empty folder for the warehouse and state.
        invoke: Runs ``chatsync`` with arguments and extra environment; returns exit code and stderr.
        size: Corpus size.

    Returns:
        The measurements.
    """
    warehouse = workdir / "warehouse.duckdb"
    with Simulator(Corpus(seed=61, size=size)) as sim:
        target = pick_target(sim, case.provider)
        sim.set_tampers([Tamper(case.provider, target, case.kind)])
        args = ["run", "--provider", case.provider, "--pipelines-dir", str(workdir / "pipelines")]
        env = {**simulator_environment(sim), "DESTINATION__DUCKDB__CREDENTIALS": str(warehouse)}
        code, err = invoke(args, env)
        target_rows = sum(1 for cid, _ in warehouse_rows(warehouse, case.provider) if cid == target)
        healthy_lost = lost_messages(sim, warehouse, case.provider, skip=target)
        recorded = sync_error_count(warehouse, case.provider, target)
        sim.set_tampers([])
        sim.advance(timedelta(days=1))
        env = {**simulator_environment(sim), "DESTINATION__DUCKDB__CREDENTIALS": str(warehouse)}
        fixed_code, _ = invoke(args, env)
        normalised = target if case.outcome == LOADED else None
        after_fix_lost = lost_messages(sim, warehouse, case.provider, present_only=normalised)
        unresolved = sync_error_count(warehouse, case.provider, target)
    errors = labelled_lines(err, "error")
    return CaseResult(
        case, code, errors, target, target_rows, healthy_lost, recorded, after_fix_lost, fixed_code, unresolved
    )
