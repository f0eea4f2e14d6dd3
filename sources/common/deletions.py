"""Conversations and messages the provider reports gone: seen while extracting, marked after the load.

A run sees a deletion in one of two affirmative ways, never in an absence of answers:

- a conversation loaded before is absent from a *complete* listing (OwlBot's sessions, ChatNode's
  leads: a listing with nameless entries is not complete);
- a configured conversation loaded before answers the documented not-found 404, in a run where
  the provider's other conversations answer (``NotFoundTally`` fails the provider when all 404).

The marks go to ``conversations.deleted_at`` and ``messages.deleted_at`` after the provider's load
(``pipelines.warehouse.deletions``), so a failed load marks nothing; the next run sees it again.
A conversation that comes back is unmarked. The source also materializes the tables it marks, so
their ``deleted_at`` column exists in a warehouse made before the column did.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass, field

from .rows import TableRows
from .tables import CONVERSATIONS, MESSAGES
from .wording import counted


@dataclass
class Deletions:
    """What one provider run found gone at the provider, or back."""

    conversations: dict[str, str | None] = field(default_factory=dict)  # newly gone: id → bot
    returned: set[str] = field(default_factory=set)  # marked gone earlier, there again
    messages: dict[str, set[str]] = field(default_factory=dict)  # conversation → message ids gone
    still_gone: int = 0  # configured conversations marked gone in an earlier run

    def __bool__(self) -> bool:
        return bool(self.conversations or self.returned or self.messages)

    def gone(self, conversation_id: str, bot_id: str | None) -> None:
        """A conversation loaded before that the provider now reports gone."""
        self.conversations[conversation_id] = bot_id

    def messages_gone(self, conversation_id: str, message_ids: Iterable[str]) -> None:
        """Messages loaded before that a full read of their conversation no longer holds."""
        ids = set(message_ids)
        if ids:
            self.messages.setdefault(conversation_id, set()).update(ids)

    def tables(self) -> Iterator[TableRows]:
        """Empty pieces that make dlt migrate the tables about to be marked (``deleted_at`` added)."""
        if self.conversations or self.returned:
            yield TableRows(CONVERSATIONS, [], create_empty=True)
        if self.messages:
            yield TableRows(MESSAGES, [], create_empty=True)


def compare_listing(deletions: Deletions, bot_id: str | None, loaded: dict[str, bool], listed: Collection[str]) -> None:
    """Records what a complete listing says about the conversations loaded before.

    Args:
        deletions: Where to record.
        bot_id: The bot listed.
        loaded: The bot's loaded conversations: ``{conversation_id: marked gone already}``.
        listed: Every conversation id the listing named.
    """
    for conversation_id, marked in loaded.items():
        present = conversation_id in listed
        if marked and present:
            deletions.returned.add(conversation_id)
        elif not marked and not present:
            deletions.gone(conversation_id, bot_id)


def classify_not_found(
    deletions: Deletions, missing: Iterable[str], loaded: dict[str, bool], known: Collection[str]
) -> list[str]:
    """Sorts configured conversations that answered 404 into deletions and unknown ids.

    Args:
        deletions: Where newly and still deleted conversations are recorded.
        missing: The 404 answers of this run (after ``NotFoundTally.settle``).
        loaded: Loaded conversations of the provider: ``{conversation_id: marked gone already}``.
        known: Conversations this pipeline loaded before (its state), e.g. ones whose rows were dropped.

    Returns:
        The ids never loaded: a typo, or deleted before chatsync saw them.
    """
    unknown = []
    for conversation_id in missing:
        if loaded.get(conversation_id) or (conversation_id in known and conversation_id not in loaded):
            deletions.still_gone += 1
        elif conversation_id in loaded:
            deletions.gone(conversation_id, None)
        else:
            unknown.append(conversation_id)
    return unknown


def note_returned(deletions: Deletions, answered: Iterable[str], loaded: dict[str, bool]) -> None:
    """Configured conversations that answered again after being marked gone."""
    deletions.returned.update(cid for cid in answered if loaded.get(cid))


def describe(provider: str, deletions: Deletions, setting: str) -> list[str]:
    """The ``info:`` lines of a run's deletions (one per kind, never one per conversation)."""
    lines = []
    if deletions.conversations:
        sample = ", ".join(sorted(deletions.conversations)[:3])
        more = "…" if len(deletions.conversations) > 3 else ""
        lines.append(
            f"{counted(len(deletions.conversations), 'conversation')} deleted at the provider ({sample}{more})"
        )
    if deletions.returned:
        back = len(deletions.returned)
        lines.append(f"{counted(back, 'conversation')} marked deleted earlier {'is' if back == 1 else 'are'} back")
    if deletions.still_gone:
        gone = deletions.still_gone
        lines.append(
            f"{counted(gone, 'configured conversation')} {'is' if gone == 1 else 'are'} deleted at the provider; "
            f"remove {'it' if gone == 1 else 'them'} from {setting} to stop requesting {'it' if gone == 1 else 'them'}"
        )
    count = sum(len(ids) for ids in deletions.messages.values())
    if count:
        conversations = counted(len(deletions.messages), "conversation")
        lines.append(f"{counted(count, 'message')} in {conversations} deleted at the provider")
    return [f"{provider}: {line}" for line in lines]
