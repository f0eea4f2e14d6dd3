"""A faithful, seeded, growing simulator of the four chat-history APIs, with fault injection.

Its classes are imported on first use (PEP 562), so that ``simulator.options`` costs the CLI's
start-up nothing: only ``chatsync simulate`` and ``demo`` load the server and the corpus.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .base import SimulatorSettings, TruthConversation, TruthMessage
    from .corpus import Corpus
    from .faults import FaultSpec
    from .server import RequestRecord, Simulator, Truth

_HOMES = {
    "Corpus": "corpus",
    "FaultSpec": "faults",
    "RequestRecord": "server",
    "Simulator": "server",
    "SimulatorSettings": "base",
    "Truth": "server",
    "TruthConversation": "base",
    "TruthMessage": "base",
}

__all__ = [
    "Corpus",
    "FaultSpec",
    "RequestRecord",
    "Simulator",
    "SimulatorSettings",
    "Truth",
    "TruthConversation",
    "TruthMessage",
]


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module 'simulator' has no attribute {name!r}")
    return getattr(importlib.import_module(f".{_HOMES[name]}", __name__), name)
