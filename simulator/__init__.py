"""A faithful, seeded, growing simulator of the four chat-history APIs, with fault injection."""

from .base import SimulatorSettings, TruthConversation, TruthMessage
from .corpus import Corpus
from .faults import FaultSpec
from .server import RequestRecord, Simulator, Truth

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
