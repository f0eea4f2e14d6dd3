"""Erasures that hold on every warehouse the project loads.

``chatsync forget`` records a suppression (provider, kind, keyed hash) in the project's state,
``.chatsync/suppressions.json`` beside the hashing key, as well as in the warehouse it ran against.
Every run, into any destination, first brings its warehouse in line with the project's list:
rows of a suppression the warehouse has not applied yet are deleted and the suppression recorded
there, so that the load's own filter (``sources.common.batching.Suppressed``) drops the user's new
rows too; a suppression undone with ``forget --undo`` is removed. Suppressions found only in a
warehouse (recorded before the project kept its list) join the list.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Final

import dlt

from sources.common.errors import ConfigurationError
from sources.common.files import write_atomically
from sources.common.privacy import PrivacyPolicy
from sources.common.tables import (
    CONVERSATION_INSIGHTS,
    CONVERSATIONS,
    KNOWLEDGE_CITATIONS,
    MESSAGES,
    SUPPRESSION_KEY,
    SUPPRESSIONS,
    SYNC_ERRORS,
)
from sources.common.timeutil import stamp
from sources.common.wording import counted

from .queries import query_table

Key = tuple[str, str, str]  # provider, kind ("user" or "conversation"), keyed hash
COUNT: Final = "SELECT COUNT(*) FROM {table} WHERE provider = %s AND conversation_id = %s"
DELETE: Final = "DELETE FROM {table} WHERE provider = %s AND conversation_id = %s"


@dataclass
class Suppression:
    """One erased end user or conversation, by keyed hash only."""

    provider: str
    kind: str
    key_hash: str
    created_at: str
    undone_at: str | None = None

    @property
    def key(self) -> Key:
        """``(provider, kind, key_hash)``."""
        return (self.provider, self.kind, self.key_hash)

    @property
    def active(self) -> bool:
        """Whether runs still drop it."""
        return self.undone_at is None


class SuppressionList:
    """The project's suppressions, kept in a JSON file beside the hashing key.

    Args:
        path: The file (``.chatsync/suppressions.json``).
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.entries: dict[Key, Suppression] = {}
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raw = []
        except (OSError, ValueError) as exc:
            raise ConfigurationError(f"cannot read the suppression list {self.path}: {exc}") from None
        for item in raw:
            entry = Suppression(**item)
            self.entries[entry.key] = entry

    def active(self, provider: str | None = None) -> list[Suppression]:
        """Suppressions still in force, oldest first, of one provider or all."""
        found = [e for e in self.entries.values() if e.active and provider in (None, e.provider)]
        return sorted(found, key=lambda e: (e.created_at, e.key))

    def add(self, keys: Iterable[Key], created_at: str | None = None) -> None:
        """Records suppressions (again in force if they had been undone)."""
        for provider, kind, key_hash in keys:
            self.entries[(provider, kind, key_hash)] = Suppression(provider, kind, key_hash, created_at or stamp())

    def find(self, key_hash: str) -> list[Suppression]:
        """Active suppressions with this hash (``hmac:`` prefix optional)."""
        wanted = key_hash if key_hash.startswith("hmac:") else f"hmac:{key_hash}"
        return [e for e in self.active() if e.key_hash == wanted]

    def undo(self, entry: Suppression) -> None:
        """Marks one suppression undone; kept, so that no warehouse's copy brings it back."""
        entry.undone_at = stamp()

    def save(self) -> None:
        """Writes the list whole or not at all (runs into two warehouses may save it at once)."""
        rows = [asdict(e) for e in sorted(self.entries.values(), key=lambda e: (e.created_at, e.key))]
        write_atomically(self.path, json.dumps(rows, indent=1), overwrite=True)


def warehouse_suppressions(client: Any) -> set[Key]:
    """The suppressions recorded in one warehouse."""
    rows = query_table(client, SUPPRESSIONS, "SELECT provider, kind, key_hash FROM {table}") or []
    return {(str(p), str(k), str(h)) for p, k, h in rows}


def matching_conversations(client: Any, policy: PrivacyPolicy, provider: str, kind: str, key_hash: str) -> list[str]:
    """Conversations in the warehouse that a suppression covers, found by hashing what is stored.

    A user id may be stored as it came or already hashed (privacy policy ``hash``): either matches.
    """
    if kind == "conversation":
        sql = "SELECT DISTINCT conversation_id FROM {table} WHERE provider = %s"
        tables = (CONVERSATIONS, MESSAGES)
        ids = {str(c) for table in tables for (c,) in query_table(client, table, sql, provider) or []}
        return sorted(c for c in ids if policy.hash(c) == key_hash)
    found: set[str] = set()
    for table, column in ((CONVERSATIONS, "user_id"), (MESSAGES, "sender_id")):
        sql = f"SELECT DISTINCT conversation_id, {column} FROM {{table}} WHERE provider = %s AND {column} IS NOT NULL"
        for conversation_id, stored in query_table(client, table, sql, provider) or []:
            if stored == key_hash or policy.hash(stored) == key_hash:
                found.add(str(conversation_id))
    return sorted(found)


def delete_conversations(client: Any, provider: str, conversation_ids: list[str]) -> dict[str, int]:
    """Deletes every row of these conversations; returns the rows deleted per table."""
    deleted: dict[str, int] = {}
    for table in (MESSAGES, KNOWLEDGE_CITATIONS, CONVERSATIONS, SYNC_ERRORS, CONVERSATION_INSIGHTS):
        count = 0
        for cid in conversation_ids:
            rows = query_table(client, table, COUNT, provider, cid) or []
            count += int(rows[0][0]) if rows else 0
            query_table(client, table, DELETE, provider, cid)
        deleted[table] = count
    return deleted


def record_in_warehouse(pipeline: dlt.Pipeline, entries: Iterable[Suppression]) -> None:
    """Writes suppressions into the warehouse's ``suppressions`` table (merge on the key)."""
    rows = [
        {
            "provider": e.provider,
            "kind": e.kind,
            "key_hash": e.key_hash,
            "created_at": datetime.fromisoformat(e.created_at.replace("Z", "+00:00")),
        }
        for e in entries
    ]
    if not rows:
        return
    resource = dlt.resource(
        rows,
        name=SUPPRESSIONS,
        write_disposition={"disposition": "merge", "strategy": "delete-insert"},
        primary_key=list(SUPPRESSION_KEY),
    )
    # step by step: ``run`` would load pending packages instead of this one
    pipeline.extract(resource, schema=dlt.Schema("chatsync_privacy"))
    pipeline.normalize()
    pipeline.load()


@dataclass
class Enforcement:
    """What bringing one warehouse in line with the project's suppressions changed."""

    applied: int = 0  # suppressions new to this warehouse
    deleted: dict[str, int] = field(default_factory=dict)
    lifted: int = 0  # undone suppressions removed from it
    adopted: int = 0  # found only in the warehouse, now on the project's list

    def describe(self) -> str | None:
        """One line, or None when nothing changed."""
        parts = []
        if self.applied:
            rows = ", ".join(f"{n} {t}" for t, n in self.deleted.items() if n) or "no rows"
            parts.append(f"applied {counted(self.applied, 'suppression')} recorded elsewhere ({rows} deleted)")
        if self.lifted:
            parts.append(f"lifted {counted(self.lifted, 'undone suppression')}")
        if self.adopted:
            parts.append(f"added {counted(self.adopted, 'suppression')} found in this warehouse to the project's list")
        return "privacy: " + "; ".join(parts) if parts else None


def enforce(pipeline: dlt.Pipeline, list_file: Path, key: bytes) -> Enforcement:
    """Brings the pipeline's warehouse in line with the project's suppression list, and back.

    Args:
        pipeline: The pipeline, under the run lock, with no pending packages.
        list_file: The project's list.
        key: The key that hashes personal data.

    Returns:
        What changed.
    """
    project = SuppressionList(list_file)
    done = Enforcement()
    with pipeline.sql_client() as client:
        held = warehouse_suppressions(client) if client.has_dataset() else set()
        undone = {k for k, e in project.entries.items() if not e.active}
        for provider, kind, key_hash in sorted(held - set(project.entries)):
            project.add([(provider, kind, key_hash)])
            done.adopted += 1
        for provider, kind, key_hash in sorted(held & undone):
            query_table(
                client,
                SUPPRESSIONS,
                "DELETE FROM {table} WHERE provider = %s AND kind = %s AND key_hash = %s",
                provider,
                kind,
                key_hash,
            )
            done.lifted += 1
        missing = [e for e in project.active() if e.key not in held]
        for entry in missing:
            policy = PrivacyPolicy.from_config(entry.provider, key)
            conversations = matching_conversations(client, policy, entry.provider, entry.kind, entry.key_hash)
            for table, count in delete_conversations(client, entry.provider, conversations).items():
                done.deleted[table] = done.deleted.get(table, 0) + count
    done.applied = len(missing)
    record_in_warehouse(pipeline, missing)
    if done.adopted:
        project.save()
    return done
