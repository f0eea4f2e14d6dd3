"""One provider, declared once: what every part of chatsync needs to know about it (``ProviderSpec``).

Each ``sources/<name>/`` package exports one ``SPEC``; ``sources.registry`` collects them, and the
engine, audit, check, shards, forget, the secrets, the simulator's settings and the docs' provider
table all read the registry. Nothing outside a provider's package names the provider.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from .audit import Census
from .settings import CheckResult


class Discovery(StrEnum):
    """How a provider finds what to load."""

    CONFIGURED_CONVERSATIONS = "configured conversations"  # the API cannot list them: ids in the settings
    CONFIGURED_BOTS = "configured bots"  # the API lists a bot's conversations; the bots are in the settings
    LISTED_BOTS = "listed bots"  # the API key lists its bots; the settings may narrow them
    LISTED_CONVERSATIONS = "listed conversations"  # the API lists what changed; nothing to configure


class Signal(StrEnum):
    """An analytics signal a provider sends (the ``provider_signals`` view); a metric built on one it
    does not send is NULL for it, never a guessed zero."""

    HANDOFF = "handoff"  # agent messages or a handoff flag
    USER_IDS = "user_ids"  # an end-user id per conversation or message
    KNOWLEDGE = "knowledge"  # knowledge-base ids cited by replies
    MODEL_LATENCY = "model_latency"  # model and latency per AI message
    AUDIENCE = "audience"  # country and device of a conversation


@dataclass(frozen=True)
class ProviderSpec:
    """One provider: its key, its dlt source, its setup check, its audit census and how it is configured.

    Attributes:
        name: The key: ``[sources.<name>]``, the ``provider`` column, ``--provider``.
        title: How people name it (``OwlBot``).
        source: The dlt source factory (``run_with`` and the settings as keyword arguments).
        check: Proves the setup without loading (``chatsync check``).
        census: What the provider holds, for ``chatsync audit``.
        discovery: How it finds what to load.
        ids_setting: The setting listing conversations or bots to load (shards split it); None when none.
        end_user_ids: Whether its records carry an end-user id, so ``forget --user`` can find them.
        api: One line on the API it reads, for the docs' provider table.
        signals: The analytics signals it sends.
        find_users: The end-user ids its API holds for an e-mail address (``forget --email``); None
            where the API cannot look them up.
    """

    name: str
    title: str
    source: Callable[..., Any]
    check: Callable[[], CheckResult]
    census: Callable[..., Census]
    discovery: Discovery
    ids_setting: str | None
    end_user_ids: bool
    api: str
    signals: frozenset[Signal] = frozenset()
    find_users: Callable[[str], list[str]] | None = None

    @property
    def per_bot(self) -> bool:
        """Whether a load splits by bot (shards), else by sets of conversations."""
        return self.discovery in (Discovery.CONFIGURED_BOTS, Discovery.LISTED_BOTS)

    @property
    def secret_settings(self) -> tuple[str, ...]:
        """The settings that hold its secrets: scrubbed from every output."""
        return (f"sources.{self.name}.api_key",)
