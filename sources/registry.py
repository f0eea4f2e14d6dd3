"""Every provider chatsync knows, collected once from each package's ``SPEC`` (``sources.common.provider``)."""

from __future__ import annotations

from typing import Final

from .chatnode import SPEC as CHATNODE
from .common.provider import ProviderSpec
from .example_ai import SPEC as EXAMPLE_AI
from .feedloop import SPEC as FEEDLOOP
from .intercom import SPEC as INTERCOM
from .owlbot import SPEC as OWLBOT

# In the order runs load them and tables list them.
SPECS: Final[dict[str, ProviderSpec]] = {spec.name: spec for spec in (EXAMPLE_AI, OWLBOT, CHATNODE, FEEDLOOP, INTERCOM)}
