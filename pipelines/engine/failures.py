"""One line per failure: the cause a person can act on, never a secret or a traceback."""

from __future__ import annotations

import os
import re
from pathlib import Path

from dlt.common.configuration.exceptions import ConfigFieldMissingException
from dlt.pipeline.exceptions import PipelineStepFailed

from sources.common.errors import ChatsyncError, CredentialsError
from sources.common.secrets import scrub
from sources.common.settings import where_to_set

from .workspace import FULL_DISK, describe_os_error, free_space_note, project_dir


def describe_failure(provider: str, exc: BaseException, state_dir: str | Path | None = None) -> str:
    """One line naming the cause, with every configured secret scrubbed out.

    Args:
        provider: The provider that failed.
        exc: What was raised (often dlt's ``PipelineStepFailed`` wrapping the real cause).
        state_dir: The pipelines dir dlt writes to, named when a full disk fails a write that names no file.

    Returns:
        A single line.
    """
    cause = root_cause(exc)
    if isinstance(cause, ChatsyncError):
        text = str(cause)
        text = text if text.startswith(f"{provider}:") else f"{provider}: {text}"
        if isinstance(cause, CredentialsError):
            text += f"; the key came from {key_origin(provider)}"
    elif isinstance(cause, ConfigFieldMissingException):
        text = "; ".join(
            f"{provider}: missing setting {name}: set {where_to_set(provider, name, secret=name == 'api_key')}"
            for name in cause.fields
        )
    elif isinstance(cause, OSError) and cause.filename:  # e.g. a full disk: name the path and the space left
        text = f"{provider}: {cause.filename}: {describe_os_error(cause)}"
    elif isinstance(cause, OSError) and cause.errno in FULL_DISK and state_dir:  # dlt's own writes name no file
        reason = cause.strerror or str(cause)
        text = f"{provider}: cannot write under {state_dir}: {reason}{free_space_note(Path(state_dir))}"
    elif isinstance(exc, PipelineStepFailed):
        text = f"{provider}: {exc.step} step failed: {type(cause).__name__}: {cause}"
    else:
        text = f"{provider}: {type(cause).__name__}: {cause}"
    line = text.splitlines()[0] if text else provider
    return scrub(line + _free_space_note(line))


def _free_space_note(line: str) -> str:
    """`` (12 MB free on /data)`` when a line reports a full disk under a file it names (DuckDB does)."""
    if "No space left on device" not in line or "MB free" in line:
        return ""
    named = re.search(r"""["'](/[^"']+)["']""", line)
    return free_space_note(Path(named.group(1)).parent) if named else ""


def key_origin(provider: str) -> str:
    """Which setting supplied a provider's ``api_key``: the environment variable, else secrets.toml."""
    for name in (f"SOURCES__{provider.upper()}__{provider.upper()}__API_KEY", f"SOURCES__{provider.upper()}__API_KEY"):
        if os.environ.get(name):
            return f"the environment variable {name}"
    secrets_file = project_dir() / ".dlt" / "secrets.toml"
    return f"[sources.{provider}] api_key in {secrets_file} (no SOURCES__{provider.upper()}__API_KEY is set)"


def root_cause(exc: BaseException) -> BaseException:
    """The chatsync or configuration error under dlt's wrapping, else the innermost cause."""
    seen: set[int] = set()
    current: BaseException = exc
    while id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, ChatsyncError | ConfigFieldMissingException):
            return current
        nested = current.__cause__ or current.__context__
        if nested is None:
            return current
        current = nested
    return current
