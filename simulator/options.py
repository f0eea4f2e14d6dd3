"""The simulator's command-line choices, importable without the simulator (the CLI parser builds from them)."""

from __future__ import annotations

from typing import Final

FEEDLOOP_SHAPES: Final = ("reply", "role_content", "sender_message", "mixed")

HEADER_STYLES: Final = ("x", "ietf", "none")
