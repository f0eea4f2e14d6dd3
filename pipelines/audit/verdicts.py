"""Comparing one provider's census with the warehouse: a verdict per conversation."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final

from sources.common.audit import Census, Held

COMPLETE: Final = "complete"
INCOMPLETE: Final = "incomplete"
DELETED: Final = "deleted"  # gone at the provider
UNREADABLE: Final = "unreadable"  # the provider answered with an error: neither complete nor not
CAPPED: Final = "capped"  # longer than the API returns; all it returns is loaded (Intercom: 500 parts)


@dataclass
class Verdict:
    """One conversation's audit outcome."""

    conversation_id: str
    bot_id: str | None
    kind: str
    provider_count: int | None = None
    warehouse_count: int | None = None
    missing: list[str] = field(default_factory=list)  # message ids the warehouse lacks
    gone: list[str] = field(default_factory=list)  # message ids the provider no longer holds
    changed: list[str] = field(default_factory=list)  # message ids whose content differs
    detail: str = ""

    def to_json(self) -> dict[str, Any]:
        """The verdict for ``--json``."""
        return {
            "conversation_id": self.conversation_id,
            "bot_id": self.bot_id,
            "kind": self.kind,
            "provider_count": self.provider_count,
            "warehouse_count": self.warehouse_count,
            "missing": len(self.missing),
            "gone": len(self.gone),
            "changed": len(self.changed),
            "detail": self.detail,
        }


@dataclass
class Loaded:
    """What the warehouse holds of one provider, for the conversations an audit looks at.

    Attributes:
        conversations: Loaded conversations: ``{id: (bot_id, marked deleted)}``.
        counts: Live (not deleted) messages per conversation: ``(all, user)``.
        messages: Whole audits: live messages per conversation: ``{message_id: content}``.
        present: Quick example-ai audits: the newest ids the provider named that the warehouse holds.
    """

    conversations: dict[str, tuple[str | None, bool]] = field(default_factory=dict)
    counts: dict[str, tuple[int, int]] = field(default_factory=dict)
    messages: dict[str, dict[str, str | None]] = field(default_factory=dict)
    present: set[str] = field(default_factory=set)


def _quick(cid: str, held: Held, loaded: Loaded) -> Verdict:
    total, users = loaded.counts.get(cid, (0, 0))
    verdict = Verdict(cid, held.bot_id, COMPLETE, warehouse_count=total)
    if held.user_messages is not None:  # OwlBot: messagenbr counts the user's messages only
        verdict.provider_count, verdict.warehouse_count = held.user_messages, users
        if users != held.user_messages:
            verdict.kind, verdict.detail = INCOMPLETE, f"{users} of {held.user_messages} user messages loaded"
    elif held.items is not None:  # the whole history's length (Feedloop, Intercom)
        verdict.provider_count = held.items
        if held.capped and held.readable is not None and total >= held.readable:
            verdict.kind = CAPPED
            verdict.detail = f"its API returns {held.readable} of its {held.items} messages; all {total} are loaded"
        elif total != held.items:
            verdict.kind, verdict.detail = INCOMPLETE, f"{total} of {held.items} messages loaded"
    elif held.newest_id is not None and held.newest_id not in loaded.present:  # example-ai
        verdict.kind, verdict.detail = INCOMPLETE, f"the newest message {held.newest_id} is not loaded"
    return verdict


def _whole(cid: str, held: Held, rows: list[dict[str, Any]], loaded: Loaded) -> Verdict:
    theirs = {str(row["message_id"]): row.get("content") for row in rows}
    ours = loaded.messages.get(cid, {})
    verdict = Verdict(cid, held.bot_id, COMPLETE, provider_count=len(theirs), warehouse_count=len(ours))
    verdict.missing = sorted(set(theirs) - set(ours))
    verdict.gone = sorted(set(ours) - set(theirs))
    verdict.changed = sorted(m for m in set(theirs) & set(ours) if theirs[m] != ours[m])
    if verdict.missing or verdict.changed:
        verdict.kind = INCOMPLETE
    elif held.capped:
        verdict.kind = CAPPED
    parts = [
        f"{len(ids)} {what}"
        for ids, what in (
            (verdict.missing, "missing in the warehouse"),
            (verdict.gone, "gone at the provider"),
            (verdict.changed, "with changed content"),
        )
        if ids
    ]
    verdict.detail = ", ".join(parts) + f" (of {len(theirs)} at the provider)" if parts else ""
    if verdict.kind == CAPPED:
        verdict.detail = f"its API returns {len(theirs)} of its {held.items} messages; all are loaded"
    return verdict


def judge(
    census: Census,
    loaded: Loaded,
    as_stored: Callable[[dict[str, Any]], dict[str, Any]],
    erased: Callable[[str, str | None], bool],
    full: bool,
) -> list[Verdict]:
    """Every conversation's verdict.

    Args:
        census: The provider's side.
        loaded: The warehouse's side.
        as_stored: A provider row as the warehouse stores it (the privacy policy applied).
        erased: Whether a conversation (id, owner) is erased by ``chatsync forget``: never loaded, never judged.
        full: A whole read: only the chosen conversations are judged, message by message.

    Returns:
        The verdicts, conversations the warehouse holds first.
    """
    verdicts: list[Verdict] = []
    for cid, held in census.held.items():
        if erased(cid, held.owner):
            continue
        if held.error is not None:
            verdicts.append(Verdict(cid, held.bot_id, UNREADABLE, detail=held.error))
        elif cid not in loaded.conversations and census.complete_listing:
            verdicts.append(Verdict(cid, held.bot_id, INCOMPLETE, detail="listed by the provider, not loaded"))
        elif held.rows is not None:
            verdicts.append(_whole(cid, held, [as_stored(row) for row in held.rows], loaded))
        elif not full:
            verdicts.append(_quick(cid, held, loaded))
    for cid, (bot, marked) in loaded.conversations.items():
        listed_gone = census.complete_listing and cid not in census.held
        if (marked and cid not in census.held) or listed_gone or cid in census.gone:
            verdicts.append(Verdict(cid, bot, DELETED, detail="deleted at the provider"))
    return verdicts
