"""The installed version, answered without importing dlt (``chatsync --version`` starts in a blink)."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version


def chatsync_version() -> str:
    """The installed version, or ``unknown``."""
    try:
        return version("chatsync")
    except PackageNotFoundError:
        return "unknown"
