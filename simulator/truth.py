"""The planted truth behind insights: each conversation's intent, language, close and outcome.

Exported by ``chatsync simulate --truth PATH`` (JSON lines) so that tests and users measure topic
purity, outcome precision and sentiment against what the simulator meant, not against a table's
existence. Outcomes follow the documented precedence, judged on the messages that exist now:

1. ``handed_off``: an agent wrote (OwlBot), or the lead is flagged ``for_agent`` (ChatNode);
2. ``abandoned``: the last message is the user's, with no reply after it;
3. ``unanswered``: the intent is a gap (the bot falls back), or the reply to the question is blank;
4. ``answered``: everything else.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

from .chatnode import lead_record
from .corpus import Conversation, Corpus, Message
from .intents import CLOSINGS

PLANTED_OPENING_LIMIT = 200  # longer openings are the pasted-text bad input, not a planted question


@dataclass(frozen=True)
class ConversationTruth:
    """What one conversation was generated to be."""

    provider: str
    conversation_id: str
    bot_id: str
    intent: str
    gap: bool
    language: str
    close: str | None  # positive or negative, when the closing message exists now
    outcome: str
    question: str  # the opening question as generated ('' when blank)
    planted_question: bool  # the opening came from the phrasebook (not blank, not a paste)


def _outcome(corpus: Corpus, conversation: Conversation, messages: list[Message], gap: bool) -> str:
    if any(m.role == "agent" for m in messages) or (
        conversation.provider == "chatnode" and lead_record(conversation)["for_agent"]
    ):
        return "handed_off"
    if messages and messages[-1].role == "user":
        return "abandoned"
    first_user = next((i for i, m in enumerate(messages) if m.role == "user"), len(messages))
    reply = next((m for m in messages[first_user + 1 :] if m.role != "user"), None)
    if gap or (reply is not None and not reply.content.strip()):
        return "unanswered"
    return "answered"


def conversation_truth(corpus: Corpus, conversation: Conversation) -> ConversationTruth:
    """The truth of one conversation as it exists at the corpus's clock."""
    plan = corpus.plan(conversation)
    messages = [m for m in corpus.visible_messages(conversation) if m.role != "system"]
    users = [m for m in messages if m.role == "user"]
    opening = users[0].content if users else ""
    planted = bool(opening.strip()) and len(opening) <= PLANTED_OPENING_LIMIT
    closed = plan.close is not None and len(users) > 1 and users[-1].content in CLOSINGS[plan.close][plan.language]
    return ConversationTruth(
        provider=conversation.provider,
        conversation_id=conversation.external_id,
        bot_id=conversation.bot.bot_id,
        intent=plan.intent.name,
        gap=plan.intent.gap,
        language=plan.language,
        close=plan.close if closed else None,
        outcome=_outcome(corpus, conversation, messages, plan.intent.gap),
        question=opening,
        planted_question=planted,
    )


def corpus_truth(corpus: Corpus, provider: str | None = None) -> Iterator[ConversationTruth]:
    """The truth of every conversation that exists now, oldest first."""
    for conversation in corpus.conversations(provider):
        yield conversation_truth(corpus, conversation)


def write_truth(corpus: Corpus, path: Path) -> int:
    """Writes the truth as JSON lines; returns how many conversations."""
    count = 0
    with path.open("w", encoding="utf-8") as out:
        for row in corpus_truth(corpus):
            out.write(json.dumps(asdict(row), ensure_ascii=False) + "\n")
            count += 1
    return count
