"""Errors a provider source raises; each names the provider and a cause a person can act on."""

from __future__ import annotations

from .secrets import scrub


class ChatsyncError(Exception):
    """Base of every error chatsync reports as one clear line."""


class ConfigurationError(ChatsyncError):
    """The configuration is missing something or contradicts itself."""


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
        super().__init__(scrub(f"{provider}: {message}"))  # an error body may echo the key


class CredentialsError(ProviderError):
    """The API key is missing, wrong or revoked."""


class AccessDeniedError(ProviderError):
    """The key is valid but may not read this resource (e.g. one bot)."""


class NotFoundError(ProviderError):
    """The conversation, session or bot does not exist."""


class ProviderUnavailableError(ProviderError):
    """The provider kept failing (5xx, 429, resets, timeouts) after every retry."""


class EndpointUnreachableError(ProviderError):
    """The base URL cannot work (DNS, TLS, nothing listening): not retried, fails the provider."""


class MalformedResponseError(ProviderError):
    """The provider answered with something that is not the documented shape."""


class RequestRejectedError(ProviderError):
    """The provider rejected the request itself (400, 422, ...)."""
