"""Points chatsync's providers at a simulator through the ordinary dlt configuration (the environment)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager

from simulator import Simulator
from sources.common.provider import Discovery, ProviderSpec
from sources.registry import SPECS


def extra_config(spec: ProviderSpec, sim: Simulator) -> dict[str, str]:
    """Configuration beyond base_url and api_key the simulator must supply: the ids a provider cannot list."""
    if spec.ids_setting is None:
        return {}
    if spec.discovery is Discovery.CONFIGURED_CONVERSATIONS:
        return {spec.ids_setting.upper(): json.dumps(sim.corpus.conversation_ids(spec.name))}
    if spec.discovery is Discovery.CONFIGURED_BOTS:
        return {spec.ids_setting.upper(): json.dumps([bot.bot_id for bot in sim.corpus.bots[spec.name]])}
    return {}  # listed by the API itself


def simulator_environment(sim: Simulator) -> dict[str, str]:
    """The ``SOURCES__<P>__…`` variables that point every provider of ``sim``'s corpus at ``sim``."""
    environment: dict[str, str] = {}
    for provider, spec in SPECS.items():
        if provider not in sim.corpus.providers:
            continue
        values = {"BASE_URL": sim.base_url(provider), "API_KEY": sim.settings.api_keys[provider]}
        values |= extra_config(spec, sim)
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
