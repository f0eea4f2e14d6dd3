"""The providers chatsync knows, by key."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

import dlt

from sources.chatnode import chatnode
from sources.example_ai import example_ai
from sources.feedloop import feedloop
from sources.owlbot import owlbot

SourceFactory = Callable[..., Any]

PROVIDERS: Final[dict[str, SourceFactory]] = {
    "example_ai": example_ai,
    "owlbot": owlbot,
    "chatnode": chatnode,
    "feedloop": feedloop,
}


def configured_providers() -> list[str]:
    """Providers whose ``api_key`` is configured (secrets.toml or environment)."""
    return [name for name in PROVIDERS if dlt.secrets.get(f"sources.{name}.api_key") is not None]


def secret_values() -> list[str]:
    """Every configured provider key, so output can be scrubbed of them."""
    values: list[object] = [dlt.secrets.get(f"sources.{name}.api_key") for name in PROVIDERS]
    return [str(v) for v in values if v]
