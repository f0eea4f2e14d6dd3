"""Reading settings the way operators write them, and errors that say where to fix them."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

from .errors import ConfigurationError


def where_to_set(provider: str, name: str, secret: bool = False) -> str:
    """``[sources.<provider>] <name> in .dlt/config.toml, or SOURCES__<PROVIDER>__<NAME>``."""
    file = ".dlt/secrets.toml" if secret else ".dlt/config.toml"
    return f"[sources.{provider}] {name} in {file}, or SOURCES__{provider.upper()}__{name.upper()}"


def id_list(value: Any, provider: str, name: str, required: bool = True) -> list[str]:
    """An id list given as a list, a JSON list or comma-separated text; de-duplicated, in order.

    Raises:
        ConfigurationError: It is empty (when required) or not a list of ids.
    """
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            try:
                value = json.loads(text)
            except ValueError:
                raise ConfigurationError(
                    f"{provider}: {name} is not a valid JSON list; set {where_to_set(provider, name)} "
                    '(e.g. ["id1","id2"] or id1,id2)'
                ) from None
        else:
            value = [part.strip() for part in text.split(",")]
    if value is None:
        value = []
    if not isinstance(value, list | tuple):
        raise ConfigurationError(f"{provider}: {name} must be a list of ids; set {where_to_set(provider, name)}")
    ids = list(dict.fromkeys(str(item).strip() for item in value if str(item).strip()))
    if required and not ids:
        raise ConfigurationError(f"{provider}: {name} is empty; set {where_to_set(provider, name)}")
    return ids


def base_url(value: str, provider: str) -> str:
    """A base URL with an http(s) scheme and a host.

    Raises:
        ConfigurationError: Naming the setting, when the URL cannot be right.
    """
    parts = urlsplit(value or "")
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigurationError(
            f"{provider}: base_url {value!r} is not an http(s) URL; set {where_to_set(provider, 'base_url')}"
        )
    return value.rstrip("/")


def require_all_exist(provider: str, name: str, ids: list[str], missing: list[str]) -> None:
    """Fails naming the configured ids the provider does not know (the first five).

    Raises:
        ConfigurationError: When ``missing`` is not empty.
    """
    if missing:
        raise ConfigurationError(
            f"{provider}: {len(missing)} of {len(ids)} configured {name.removesuffix('_ids')}s do not exist: "
            f"{', '.join(missing[:5])}; check {where_to_set(provider, name)}"
        )
