"""The providers chatsync knows, by key: each package's declaration, collected by ``sources.registry``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

import dlt

from sources.common.provider import ProviderSpec
from sources.common.secrets import register
from sources.registry import SPECS

SourceFactory = Callable[..., Any]

PROVIDERS: Final[dict[str, SourceFactory]] = {name: spec.source for name, spec in SPECS.items()}


def spec_of(provider: str) -> ProviderSpec:
    """The declaration of one provider (``sources.registry``)."""
    return SPECS[provider]


def is_placeholder(value: object) -> bool:
    """Whether a setting still holds an example value (``sk_live_...``, ``...``, ``<key>``) or nothing."""
    text = str(value or "").strip()
    return not text or "..." in text or text.startswith("<") or text.lower() in ("changeme", "your-key", "xxx")


def configured_providers() -> list[str]:
    """Providers whose ``api_key`` holds a real value (secrets.toml or environment)."""
    return [name for name in PROVIDERS if not is_placeholder(dlt.secrets.get(f"sources.{name}.api_key"))]


def unconfigured_providers() -> list[str]:
    """Providers left out because their ``api_key`` is missing or an untouched placeholder."""
    return [name for name in PROVIDERS if name not in configured_providers()]


SECRET_SETTINGS: Final = (
    *(setting for spec in SPECS.values() for setting in spec.secret_settings),
    "destination.postgres.credentials",
    "destination.postgres.credentials.password",
    "destination.bigquery.credentials.private_key",
    "destination.bigquery.credentials",
    "destination.duckdb.credentials.password",
    "chatsync.pii_key",
)


def _secret_strings(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):  # a credentials table: its secret parts
        return [str(v) for k, v in value.items() if k in ("password", "private_key", "private_key_id") and v]
    return []


def secret_values() -> list[str]:
    """Every configured secret (provider keys, destination credentials, the hashing key)."""
    values: list[str] = []
    for setting in SECRET_SETTINGS:
        try:
            values += _secret_strings(dlt.secrets.get(setting))
        except Exception:  # a setting of another shape (e.g. a string where a table was expected)
            continue
    return values


def register_configured_secrets() -> None:
    """Registers every configured secret for scrubbing, before anything can print or write one."""
    register(*secret_values())
