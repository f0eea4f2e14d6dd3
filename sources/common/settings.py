"""Reading settings the way operators write them, and errors that say where to fix them."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from .errors import ConfigurationError, where_to_set

__all__ = ["CheckResult", "base_url", "id_list", "missing_ids_warning", "where_to_set"]


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


@dataclass(frozen=True)
class CheckResult:
    """What ``check`` found for one provider: the URL in use, a summary, and warnings."""

    base_url: str
    found: str
    warnings: tuple[str, ...] = ()


def missing_ids_warning(provider: str, name: str, ids: list[str], missing: list[str]) -> tuple[str, ...]:
    """The warning for configured ids the provider does not know (the first five), as a run gives it."""
    if not missing:
        return ()
    kind = name.removesuffix("_ids")
    return (
        f"{provider}: {len(missing)} of {len(ids)} configured {kind}s not found: {', '.join(missing[:5])}; "
        f"a run skips them (deleted at the provider, or a typo in {where_to_set(provider, name)})",
    )
