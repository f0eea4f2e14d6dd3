"""Seeded, deterministic, growing synthetic corpus of chatbot conversations.

Every conversation is a pure function of ``(seed, index)``: its provider, bot, start time and the
whole schedule of its messages are drawn from a private RNG. A virtual clock decides what exists:
a conversation exists once it has started, a message once its timestamp has passed. Advancing the
clock therefore appends messages to existing conversations (old ones included, because some
conversations resume days later) and brings new conversations into existence. Only one compact
record per conversation is held; messages are generated on demand and cached in a small LRU.
"""

from __future__ import annotations

import hashlib
import random
import string
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache

from .intents import Plan, draw_plan

PROVIDERS: tuple[str, ...] = ("example_ai", "owlbot", "chatnode", "feedloop")
ALL_PROVIDERS: tuple[str, ...] = (*PROVIDERS, "intercom")  # Intercom joins a corpus that names it
DEFAULT_EPOCH = datetime(2026, 3, 1, tzinfo=UTC)
MEAN_MESSAGES_PER_CONVERSATION = 9.0
MAX_MESSAGES_PER_CONVERSATION = 900  # OwlBot ids are index * 1000 + seq
RETURNING_SHARE = 0.25  # conversations started by one of the regulars
REGULARS = 5  # regulars per provider

_PHRASES_USER = [
    "Hi, can you help me with my order?",
    "What are your opening hours?",
    "Ich möchte mein Passwort zurücksetzen.",
    "¿Dónde está mi paquete?",
    "我的账户被锁定了，怎么办？",
    "مرحبا، أحتاج إلى مساعدة في الفاتورة",
    "Can I get a refund? 😅",
    "thanks!",
    "Réservation pour deux personnes ce soir, c'est possible ?",
    "The app crashes when I open settings → privacy.",
    "ok",
    "Summarise today's calls please",
]
_PHRASES_BOT = [
    "Sure! Could you share your order number?",
    "We are open 9:00–18:00, Monday to Friday.",
    "Natürlich. Ich habe Ihnen einen Link geschickt.",
    "Tu paquete está en camino 🚚",
    "请提供您的注册邮箱。",
    "بالتأكيد، ما هو رقم الفاتورة؟",
    "Refunds take 5–7 business days. 💸",
    "You're welcome!",
    "Oui, c'est possible à 20h.",
    "Please try updating to version 4.2.1 first.",
    "Let me check that for you…",
    "You had 12 inbound and 5 outbound calls today.",
]
_SYSTEM_PHRASES = ["Conversation started.", "Agent joined the conversation.", "Session restored."]


@dataclass(frozen=True, slots=True)
class Bot:
    """A chatbot of one provider."""

    provider: str
    bot_id: str
    title: str


@dataclass(frozen=True, slots=True)
class Message:
    """One message as the corpus knows it; providers render it in their own shape."""

    seq: int
    role: str  # user | assistant | system | agent
    content: str
    ts_us: int  # microseconds since the Unix epoch, UTC
    sender_id: str

    @property
    def created_at(self) -> datetime:
        """The full-precision creation time."""
        return datetime.fromtimestamp(self.ts_us / 1_000_000, tz=UTC)


@dataclass(frozen=True, slots=True)
class Conversation:
    """The compact, always-resident record of a conversation."""

    index: int
    provider: str
    bot: Bot
    external_id: str
    user_id: str
    start_us: int

    @property
    def started_at(self) -> datetime:
        """When the conversation (its first message) started."""
        return datetime.fromtimestamp(self.start_us / 1_000_000, tz=UTC)


def _us(moment: datetime) -> int:
    return int(moment.timestamp()) * 1_000_000 + moment.microsecond


def stable_hash(*parts: object) -> int:
    """A process-independent 64-bit hash (Python's ``hash`` is salted per process)."""
    digest = hashlib.blake2b("\x1f".join(map(str, parts)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def _token(rng: random.Random, length: int, alphabet: str = string.ascii_lowercase + string.digits) -> str:
    return "".join(rng.choice(alphabet) for _ in range(length))


class Corpus:
    """The synthetic world behind every simulated provider.

    Args:
        seed: Makes the corpus reproducible.
        size: Approximate number of messages (all providers together) at the initial clock.
        span_days: How many days of history exist at the initial clock.
        bots_per_provider: Number of bots each provider has.
        epoch: The first moment of history.
        fixed_answers: Bots answer each question with one fixed text per intent and language (a
            knowledge-base answer), instead of a personalised one: the case canned-reply detection
            must not mistake for a fallback.
    """

    def __init__(
        self,
        seed: int = 7,
        size: int = 2_000,
        span_days: float = 14.0,
        bots_per_provider: int = 2,
        epoch: datetime = DEFAULT_EPOCH,
        fixed_answers: bool = False,
        providers: tuple[str, ...] = PROVIDERS,
    ) -> None:
        self.seed = seed
        self.providers = providers
        self.fixed_answers = fixed_answers
        self.epoch_us = _us(epoch)
        span_us = int(span_days * 86_400 * 1_000_000)
        initial_conversations = max(4, round(size / MEAN_MESSAGES_PER_CONVERSATION))
        self._arrival_us = max(1, span_us // initial_conversations)
        self._now_us = self.epoch_us + span_us
        self._lock = threading.RLock()
        self.bots: dict[str, list[Bot]] = {p: self._make_bots(p, bots_per_provider) for p in ALL_PROVIDERS}
        self._conversations: list[Conversation] = []
        self._by_external_id: dict[tuple[str, str], int] = {}
        self._deleted: set[int] = set()  # conversations deleted at the provider
        self._deleted_messages: set[tuple[int, int]] = set()  # (conversation index, seq)
        self._messages = lru_cache(maxsize=4096)(self._generate_messages)
        self._materialise_until(self._now_us)

    # --- clock -------------------------------------------------------------------------------
    @property
    def now(self) -> datetime:
        """The virtual clock."""
        return datetime.fromtimestamp(self._now_us / 1_000_000, tz=UTC)

    def advance(self, delta: timedelta) -> datetime:
        """Moves the virtual clock forward; new messages and conversations come into existence.

        Args:
            delta: How far to move; must not be negative.

        Returns:
            The new virtual time.
        """
        if delta < timedelta(0):
            raise ValueError("the virtual clock only moves forward")
        with self._lock:
            self._now_us += int(delta.total_seconds() * 1_000_000)
            self._materialise_until(self._now_us)
        return self.now

    # --- world -------------------------------------------------------------------------------
    def _make_bots(self, provider: str, count: int) -> list[Bot]:
        rng = random.Random(stable_hash(self.seed, "bots", provider))
        bots = []
        for n in range(1 if provider == "intercom" else count):  # Intercom: one workspace
            if provider == "owlbot":
                bot_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
            elif provider == "chatnode":
                bot_id = "bot_" + _token(rng, 10)
            elif provider == "intercom":  # one workspace, no bots: the source's `bot_id` label
                bot_id = "intercom"
            else:
                bot_id = f"{provider}_bot_{n + 1}"
            bots.append(Bot(provider, bot_id, f"{provider.title()} bot {n + 1}"))
        return bots

    def _materialise_until(self, now_us: int) -> None:
        while True:
            index = len(self._conversations)
            conversation = self._make_conversation(index)
            if conversation.start_us > now_us:
                return
            self._conversations.append(conversation)
            self._by_external_id[(conversation.provider, conversation.external_id)] = index

    def _make_conversation(self, index: int) -> Conversation:
        rng = random.Random(stable_hash(self.seed, "conversation", index))
        provider = self.providers[rng.randrange(len(self.providers))]
        bot = rng.choice(self.bots[provider])
        start_us = self.epoch_us + index * self._arrival_us + rng.randrange(self._arrival_us)
        start_us -= start_us % 1_000  # millisecond-aligned starts keep ChatNode ids exact
        return Conversation(
            index=index,
            provider=provider,
            bot=bot,
            external_id=self._conversation_external_id(provider, rng, start_us),
            user_id=self._user_id(provider, rng),
            start_us=start_us,
        )

    @staticmethod
    def _conversation_external_id(provider: str, rng: random.Random, start_us: int) -> str:
        if provider == "example_ai":
            return "con_" + _token(rng, 9)
        if provider == "chatnode":
            return f"{_token(rng, 7)}-{start_us // 1_000}"
        if provider == "intercom":
            return str(rng.randrange(10**11, 10**12))
        return str(uuid.UUID(int=rng.getrandbits(128), version=4))

    def _user_id(self, provider: str, rng: random.Random) -> str:
        # [SIM] about a quarter of conversations come from a small pool of regulars, who return on
        # later days, sometimes to another bot of the same provider
        if rng.random() < RETURNING_SHARE:
            rng = random.Random(stable_hash(self.seed, provider, "regular", rng.randrange(REGULARS)))
        if provider == "example_ai":
            return "usr_" + _token(rng, 6)
        return str(uuid.UUID(int=rng.getrandbits(128), version=4))

    # --- messages ----------------------------------------------------------------------------
    def _generate_messages(self, index: int) -> tuple[Message, ...]:
        conversation = self._conversations[index]
        rng = random.Random(stable_hash(self.seed, "messages", index))
        words = random.Random(stable_hash(self.seed, "words", index))
        schedule = _Schedule(rng, words, conversation, self.plan(conversation))
        return tuple(schedule.build())

    def plan(self, conversation: Conversation) -> Plan:
        """What the conversation asks, in which language, and how it closes (the insights' truth)."""
        return draw_plan(random.Random(stable_hash(self.seed, "plan", conversation.index)), self.fixed_answers)

    def all_messages(self, conversation: Conversation) -> tuple[Message, ...]:
        """Every message the conversation will ever have, visible or not."""
        return self._messages(conversation.index)

    def visible_messages(self, conversation: Conversation) -> list[Message]:
        """The messages that exist at the current virtual time, oldest first (deleted ones left out)."""
        now_us, gone = self._now_us, self._deleted_messages
        index = conversation.index
        return [m for m in self.all_messages(conversation) if m.ts_us <= now_us and (index, m.seq) not in gone]

    # --- deletions at the provider -----------------------------------------------------------
    def delete_conversation(self, provider: str, external_id: str) -> None:
        """Deletes a conversation at the provider: it leaves listings and answers as unknown.

        Raises:
            KeyError: No such conversation exists now.
        """
        index = self._index_of(provider, external_id)
        with self._lock:
            self._deleted.add(index)

    def restore_conversation(self, provider: str, external_id: str) -> None:
        """Brings a deleted conversation back, as it was."""
        index = self._by_external_id[(provider, external_id)]
        with self._lock:
            self._deleted.discard(index)

    def delete_messages(self, provider: str, external_id: str, seqs: list[int]) -> None:
        """Deletes messages (by their position in the conversation) at the provider."""
        index = self._index_of(provider, external_id)
        with self._lock:
            self._deleted_messages.update((index, seq) for seq in seqs)

    def _index_of(self, provider: str, external_id: str) -> int:
        index = self._by_external_id.get((provider, external_id))
        if index is None or index in self._deleted:
            raise KeyError(f"no {provider} conversation {external_id}")
        return index

    def conversations(self, provider: str | None = None, bot_id: str | None = None) -> Iterator[Conversation]:
        """Conversations that exist now, oldest first, optionally of one provider and bot."""
        with self._lock:
            snapshot = list(self._conversations)
        for conversation in snapshot:
            if conversation.index in self._deleted:
                continue
            if provider is not None and conversation.provider != provider:
                continue
            if bot_id is not None and conversation.bot.bot_id != bot_id:
                continue
            yield conversation

    def find(self, provider: str, external_id: str) -> Conversation | None:
        """The conversation with this provider-facing id, if it exists now."""
        index = self._by_external_id.get((provider, external_id))
        return None if index is None or index in self._deleted else self._conversations[index]

    def conversation_ids(self, provider: str) -> list[str]:
        """Provider-facing ids of every conversation of ``provider`` that exists now."""
        return [c.external_id for c in self.conversations(provider)]


class _Schedule:
    """Draws the realistic shape of one conversation's messages; its words come from its ``Plan``.

    The shape (counts, gaps, roles) is drawn from ``rng`` exactly as before plans existed, so
    message counts and timestamps of a seed did not change; the words are drawn from ``words``.
    """

    def __init__(self, rng: random.Random, words: random.Random, conversation: Conversation, plan: Plan) -> None:
        self.rng = rng
        self.words = words
        self.conversation = conversation
        self.plan = plan
        self.messages: list[Message] = []
        self.ts_us = conversation.start_us
        self.user_turns = 0

    def build(self) -> list[Message]:
        rng = self.rng
        if self.conversation.provider in ("example_ai", "feedloop") and rng.random() < 0.05:
            self._add("system", rng.choice(_SYSTEM_PHRASES), gap_s=0)
        no_reply = rng.random() < 0.08
        resumes = rng.random() < 0.3  # a user who comes back to the same conversation later
        thread = rng.random() < 0.1  # a long-running thread, revisited every few days for weeks
        exchanges = rng.randint(5, 15) if thread else 1 + min(int(rng.expovariate(1 / 3.5)), 40)
        for exchange in range(exchanges):
            last = exchange == exchanges - 1 and exchange > 0
            if exchange > 0:
                days_later = thread or (resumes and rng.random() < 0.5)
                gap = rng.uniform(3_600, 4 * 86_400) if days_later else rng.uniform(5, 300)
                self._add("user", self._user_text(last), gap_s=gap)
            else:
                self._add("user", self._user_text(last), gap_s=0)
            if no_reply:
                continue
            self._reply(exchange, last)
            if len(self.messages) >= MAX_MESSAGES_PER_CONVERSATION - 40:
                break
        return self.messages

    def _reply(self, exchange: int, after_close: bool) -> None:
        rng = self.rng
        delay = 0.0 if rng.random() < 0.15 else rng.uniform(0, 30)
        human_handoff = self.conversation.provider == "owlbot" and rng.random() < 0.05
        role = "agent" if human_handoff else "assistant"
        burst = rng.randint(3, 25) if rng.random() < 0.04 else 1
        self._add(role, self._bot_text(exchange, after_close), gap_s=delay)
        for _ in range(burst - 1):  # streamed chunks: identical timestamps
            self._add(role, self._bot_text(exchange, after_close), gap_s=0)

    def _add(self, role: str, content: str, gap_s: float) -> None:
        if gap_s > 0:
            self.ts_us += int(gap_s * 1_000_000)
        conversation = self.conversation
        sender = {
            "user": conversation.user_id,
            "assistant": conversation.bot.bot_id,
            "agent": "agent_" + str(stable_hash(conversation.bot.bot_id) % 97),
            "system": "system",
        }[role]
        self.messages.append(Message(len(self.messages), role, content, self.ts_us, sender))

    def _user_text(self, last: bool) -> str:
        roll = self.rng.random()
        self.user_turns += 1
        if roll < 0.01:
            return ""
        if roll < 0.03:  # a paste of 60–200 lines: the insights truncate what they featurise
            return " ".join(self.rng.choice(_PHRASES_USER) for _ in range(self.rng.randint(60, 200)))
        self.rng.choice(_PHRASES_USER)  # the shape's draw, as before plans
        if self.user_turns == 1:
            return self.plan.opening(self.words)
        return self.plan.follow_up(self.words, last)

    def _bot_text(self, exchange: int, after_close: bool) -> str:
        roll = self.rng.random()
        if roll < 0.01:
            return ""
        if roll < 0.03:
            return "\n".join(self.rng.choice(_PHRASES_BOT) for _ in range(self.rng.randint(60, 200)))
        self.rng.choice(_PHRASES_BOT)  # the shape's draw, as before plans
        if exchange == 0:
            return self.plan.reply_to_question(self.words)
        return self.plan.reply_to_follow_up(self.words, after_close)
