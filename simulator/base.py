"""Wire types shared by the simulator's server and its provider contract modules."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs

from .corpus import Corpus


@dataclass(frozen=True)
class SimulatorSettings:
    """What the simulated providers accept and how they behave where the docs are silent."""

    api_keys: dict[str, str] = field(
        default_factory=lambda: {
            "example_ai": "sk_test_example_ai",
            "owlbot": "owl_test_key",
            "chatnode": "cn_test_key",
            "feedloop": "fl_test_token",
            "intercom": "ic_test_token",
        }
    )
    intercom_part_cap: int = 500  # parts GET /conversations/{id} returns at most (Intercom's documented cap)
    feedloop_shape: str = "role_content"
    chatnode_forbidden_bots: frozenset[str] = frozenset()
    chatnode_error_style: str = "message"  # or "detail", as a FastAPI app would answer
    latency_ms: int = 0
    # providers that quote the request's credentials back in every body, errors included
    echo_credentials: frozenset[str] = frozenset()
    # how: "value" (in strings), "escaped" (the same, with "/" sent as "\/" as PHP's json_encode
    # does), "member" (the credentials as a member name inside each record)
    echo_style: str = "value"
    # [SIM] a limit per API key, e.g. "25/s" (see ``simulator.ratelimit``); None: unlimited
    rate_limit: str | None = None
    rate_limit_headers: str = "x"  # x (X-RateLimit-*), ietf (RateLimit, RateLimit-Policy) or none


@dataclass
class SimRequest:
    """One HTTP request as a provider contract sees it (path relative to the provider prefix)."""

    method: str
    path: str
    query_string: str
    headers: dict[str, str]
    body: bytes

    @property
    def query(self) -> dict[str, str]:
        """The last value of each query parameter."""
        return {k: v[-1] for k, v in parse_qs(self.query_string, keep_blank_values=True).items()}

    def header(self, name: str) -> str | None:
        """A header value, case-insensitively."""
        return self.headers.get(name.lower())

    def json(self) -> Any:
        """The body parsed as JSON; raises ValueError when it is not."""
        return json.loads(self.body or b"null")


@dataclass
class SimResponse:
    """A response a provider contract wants sent."""

    status: int
    payload: Any
    headers: dict[str, str] = field(default_factory=dict)
    escape_slashes: bool = False  # "/" sent as "\/" (legal JSON; PHP's json_encode default)

    def encode(self) -> bytes:
        """The JSON body bytes (escaped ASCII when the payload holds a lone surrogate)."""
        text = json.dumps(self.payload, ensure_ascii=False, separators=(",", ":"))
        try:
            body = text.encode()
        except UnicodeEncodeError:
            body = json.dumps(self.payload, separators=(",", ":")).encode()
        return body.replace(b"/", b"\\/") if self.escape_slashes else body


@dataclass(frozen=True)
class ProviderContext:
    """What a contract module needs to answer a request."""

    corpus: Corpus
    settings: SimulatorSettings


def iso_z_seconds(moment: datetime) -> str:
    """``2026-03-15T13:59:11Z``: whole seconds, as example-ai documents."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def iso_offset(moment: datetime, digits: int) -> str:
    """``2023-07-31T04:46:01.920296+00:00`` with ``digits`` fractional digits (3 or 6)."""
    fraction = f"{moment.microsecond:06d}"[:digits]
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S") + f".{fraction}+00:00"


def truncate_to(moment: datetime, digits: int) -> datetime:
    """Drops sub-second precision the provider does not expose."""
    keep = 10 ** (6 - digits)
    return moment.replace(microsecond=moment.microsecond // keep * keep)


@dataclass(frozen=True)
class TruthMessage:
    """What a correct source must load for one message, in canonical terms.

    ``message_id`` and ``created_at`` are None where the provider does not expose them.
    """

    provider: str
    bot_id: str | None
    conversation_id: str
    message_id: str | None
    position: int
    role: str
    content: str | None
    created_at: datetime | None
    sender_id: str | None
    model: str | None = None  # the analytics signals, where the provider sends them
    latency_ms: int | None = None
    knowledge_ids: tuple[str, ...] = ()  # cited by an assistant message


@dataclass(frozen=True)
class TruthConversation:
    """What a correct source must load for one conversation, in canonical terms."""

    provider: str
    bot_id: str | None
    conversation_id: str
    started_at: datetime | None
    user_id: str | None
    reported_message_count: int | None
    handed_off: bool | None = None  # the provider's own handoff flag (ChatNode's for_agent)
    country: str | None = None
    device_type: str | None = None
    bot_name: str | None = None  # where the API names its bots (OwlBot's checkToken bot_title)
