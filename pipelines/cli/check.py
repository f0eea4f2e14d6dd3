"""``chatsync check``: prove each provider's setup works, without loading anything."""

from __future__ import annotations

import argparse

from dlt.common.configuration.exceptions import ConfigFieldMissingException
from rich.markup import escape

from sources.common.errors import ChatsyncError, ConfigurationError

from ..engine.exit_codes import ExitCode
from ..engine.failures import describe_failure
from ..engine.registry import configured_providers, spec_of
from .console import say_error, stdout, warn


def check_provider(provider: str) -> tuple[bool, str, tuple[str, ...]]:
    """One provider's setup: reachable, key accepted, configured bots or conversations exist.

    It classifies each problem as a run does: what fails a run fails the check, what a run warns
    about (a configured conversation that does not exist) is a warning.

    Args:
        provider: Provider key.

    Returns:
        Whether it works, one line saying what was found or what is wrong (secrets masked), and warnings.
    """
    try:
        result = spec_of(provider).check()
    except (ChatsyncError, ConfigFieldMissingException) as exc:
        return False, describe_failure(provider, exc), ()
    return True, f"{provider}: {result.base_url}: {result.found}", result.warnings


def check_command(args: argparse.Namespace) -> int:
    """``chatsync check``: each configured provider's setup, without loading; exit 1 when one fails."""
    providers = args.provider or configured_providers()
    if not providers:
        raise ConfigurationError(
            "no provider configured: set [sources.<provider>] api_key in .dlt/secrets.toml, "
            "or SOURCES__<PROVIDER>__API_KEY (see README, first run)"
        )
    results = [check_provider(provider) for provider in providers]
    for ok, line, warnings in results:
        if ok:
            stdout.print(f"ok: {escape(line)}", highlight=False, soft_wrap=True)
        else:
            say_error(line)
        for warning in warnings:
            warn(warning)
    return ExitCode.OK if all(ok for ok, _, _ in results) else ExitCode.FAILED
