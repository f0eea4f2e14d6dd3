"""Errors a provider source raises; each names the provider and a cause a person can act on."""

from __future__ import annotations

from .secrets import scrub


def where_to_set(provider: str, name: str, secret: bool = False) -> str:
    """``[sources.<provider>] <name> in .dlt/config.toml, or SOURCES__<PROVIDER>__<NAME>``."""
    file = ".dlt/secrets.toml" if secret else ".dlt/config.toml"
    return f"[sources.{provider}] {name} in {file}, or SOURCES__{provider.upper()}__{name.upper()}"


class ChatsyncError(Exception):
    """Base of every error chatsync reports as one clear line."""


class ConfigurationError(ChatsyncError):
    """The configuration is missing something or contradicts itself."""


class StorageError(ChatsyncError):
    """A file chatsync keeps could not be written (a full disk, a read-only folder): the machine is at fault.

    Unlike a ``ConfigurationError`` (exit 2), it fails the run (exit 1): nothing in the settings is wrong.
    """


class ProviderError(ChatsyncError):
    """A provider API refused or failed a request.

    Args:
        provider: Provider key, e.g. ``example_ai``.
        message: The cause, without secrets.
        status: The HTTP status, when there was a response.
    """

    def __init__(self, provider: str, message: str, status: int | None = None) -> None:
        self.provider = provider
        self.status = status
        self.url: str | None = None  # the request's URL without its query, set by the HTTP layer
        super().__init__(scrub(f"{provider}: {message}"))  # an error body may echo the key


class CredentialsError(ProviderError):
    """The API key is missing, wrong or revoked."""


class AccessDeniedError(ProviderError):
    """The key is valid but may not read this resource (e.g. one bot)."""


class NotFoundError(ProviderError):
    """The conversation, session or bot does not exist."""


class WrongEndpointError(ProviderError):
    """The base URL answers, but the API is not there: a 404 that no real item would give.

    Args:
        provider: Provider key.
        base_url: The configured base URL.
        url: A URL that answered 404 (no query string).
        why: What gave it away, e.g. "every configured conversation (48) answered 404".
    """

    def __init__(self, provider: str, base_url: str, url: str | None, why: str) -> None:
        super().__init__(
            provider,
            f"{why} at {url or base_url}: the API is not at this base URL ({base_url}); "
            f"check {where_to_set(provider, 'base_url')}",
            404,
        )


class ProviderUnavailableError(ProviderError):
    """The provider kept failing (5xx, 429, resets, timeouts) after every retry."""


class EndpointUnreachableError(ProviderError):
    """The base URL cannot work (DNS, TLS, nothing listening): not retried, fails the provider."""


class MalformedResponseError(ProviderError):
    """The provider answered with something that is not the documented shape."""


class RequestRejectedError(ProviderError):
    """The provider rejected the request itself (400, 422, ...)."""
