"""Points chatsync's providers at a simulator through the ordinary dlt configuration (the environment)."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from simulator import Simulator

from ..engine.registry import PROVIDERS


def _example_ai_config(sim: Simulator) -> dict[str, str]:
    return {"CONVERSATION_IDS": json.dumps(sim.corpus.conversation_ids("example_ai"))}


def _chatnode_config(sim: Simulator) -> dict[str, str]:
    return {"BOT_IDS": json.dumps([bot.bot_id for bot in sim.corpus.bots["chatnode"]])}


def _feedloop_config(sim: Simulator) -> dict[str, str]:
    return {"CONVERSATION_IDS": json.dumps(sim.corpus.conversation_ids("feedloop"))}


# Per provider: configuration beyond base_url and api_key that the simulator must supply.
# OwlBot needs none: it discovers its bots with checkToken.
EXTRA_CONFIG: dict[str, Callable[[Simulator], dict[str, str]]] = {
    "example_ai": _example_ai_config,
    "chatnode": _chatnode_config,
    "feedloop": _feedloop_config,
}


def simulator_environment(sim: Simulator) -> dict[str, str]:
    """The ``SOURCES__<P>__…`` variables that point every implemented provider at ``sim``."""
    environment: dict[str, str] = {}
    for provider in PROVIDERS:
        values = {"BASE_URL": sim.base_url(provider), "API_KEY": sim.settings.api_keys[provider]}
        extra = EXTRA_CONFIG.get(provider)
        if extra is not None:
            values |= extra(sim)
        environment |= {f"SOURCES__{provider.upper()}__{key}": value for key, value in values.items()}
    return environment


def configure_for_simulator(sim: Simulator) -> None:
    """Points every implemented provider at the simulator through the environment."""
    os.environ.update(simulator_environment(sim))


@contextmanager
def restored_environment() -> Iterator[None]:
    """Gives the environment back as it was: the demo's settings must not outlive it."""
    saved = dict(os.environ)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)
