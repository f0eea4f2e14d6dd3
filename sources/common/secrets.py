"""Secrets never reach a screen, a log, a file or the warehouse.

Every secret chatsync is configured with is registered here when it is first used (provider keys
by the HTTP layer, destination credentials and the hashing key by the pipeline). ``scrub`` removes
them from any text, and masks the password and token parts of DSNs and URLs it quotes, even of
credentials it was never told about. Errors are scrubbed when they are made (``ProviderError``), so
dlt's trace, which pickles them, holds no secret either. A provider that echoes a key into a
response body has the key removed before any row is made (``scrub_value``).
"""

from __future__ import annotations

import re
import threading
from typing import Any, Final

import orjson

MASK: Final = "***"
MIN_SECRET_LENGTH: Final = 4
_CREDENTIAL_PATTERNS: Final = (
    # scheme://user:password@host
    (re.compile(r"(?P<head>\b[a-zA-Z][a-zA-Z0-9+.-]*://[^:/@\s'\"]*:)[^@/\s'\"]+(?=@)"), rf"\g<head>{MASK}"),
    # user:password@host without a scheme (a DSN pasted without postgresql://)
    (re.compile(r"(?P<head>(?<![\w:/.-])[\w.-]+:)(?!//)[^@/\s'\":]+(?=@[\w.-]+)"), rf"\g<head>{MASK}"),
    # ?token=… &api_key=… password=… in URLs, DSNs and key=value strings
    (
        re.compile(
            r"(?P<head>\b(?:token|access_token|api_key|apikey|key|password|passwd|pwd|secret|sig|signature)=)"
            r"[^&\s'\";]+",
            re.IGNORECASE,
        ),
        rf"\g<head>{MASK}",
    ),
)

_registered: set[str] = set()
_ordered: tuple[str, ...] = ()  # longest first; rebuilt on register, read on every response
_lock = threading.Lock()


def register(*values: object) -> None:
    """Adds secrets to scrub; values that are not strings, or too short to be a secret, are ignored."""
    global _ordered
    with _lock:
        for value in values:
            if isinstance(value, str) and len(value) >= MIN_SECRET_LENGTH:
                _registered.add(value)
                if "\n" in value:  # a PEM key: its lines may be quoted one at a time
                    _registered.update(line for line in value.splitlines() if len(line) >= 16)
        _ordered = tuple(sorted(_registered, key=len, reverse=True))


def registered() -> tuple[str, ...]:
    """The registered secrets, longest first (so a secret containing another is masked whole)."""
    return _ordered


def scrub(text: str) -> str:
    """``text`` with every registered secret replaced by ``***`` and credentials in DSNs/URLs masked."""
    for secret in registered():
        if secret in text:
            text = text.replace(secret, MASK)
    for pattern, replacement in _CREDENTIAL_PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def echoes_secret(raw: bytes, document: Any = None) -> bool:
    """Whether a JSON response body, once decoded, contains a registered secret anywhere.

    A body without a backslash spells every string as it decodes, so one search of the bytes per
    secret is exact. With escapes (``\\/`` for ``/``, ``\\u…``), the decoded ``document`` is
    searched instead: re-encoded by orjson, which escapes only quotes, backslashes and control
    characters, so a key in any value or member name at any depth is found at C speed.

    Args:
        raw: The body as received.
        document: The parsed body (needed only when ``raw`` holds escapes).

    Returns:
        Whether a registered secret is in it.
    """
    secrets = registered()
    if any(secret.encode() in raw for secret in secrets):
        return True
    if b"\\" not in raw or document is None:
        return False
    try:
        canonical = orjson.dumps(document)
    except (TypeError, orjson.JSONEncodeError):  # e.g. an integer beyond 64 bits: walk it instead
        return _holds_secret(document, secrets)
    return any(orjson.dumps(secret)[1:-1] in canonical for secret in secrets)


def _holds_secret(value: Any, secrets: tuple[str, ...]) -> bool:
    if isinstance(value, str):
        return any(secret in value for secret in secrets)
    if isinstance(value, dict):
        return any(_holds_secret(key, secrets) or _holds_secret(item, secrets) for key, item in value.items())
    if isinstance(value, list):
        return any(_holds_secret(item, secrets) for item in value)
    return False


def scrub_value(value: Any) -> Any:
    """``value`` with registered secrets removed from every string, member names included, at any depth."""
    if isinstance(value, str):
        for secret in registered():
            if secret in value:
                value = value.replace(secret, MASK)
        return value
    if isinstance(value, dict):
        return {scrub_value(key): scrub_value(item) for key, item in value.items()}
    if isinstance(value, list):
        return [scrub_value(item) for item in value]
    return value
