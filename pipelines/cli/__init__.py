"""The ``chatsync`` command line: the parser, one module per command, console output."""

from __future__ import annotations

import sys
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``chatsync`` console script.

    ``--version`` alone is answered before anything heavy is imported (dlt takes most of a second).
    """
    args = list(sys.argv[1:] if argv is None else argv)
    if args == ["--version"]:
        from .version import chatsync_version

        print(f"chatsync {chatsync_version()}")
        return 0
    from .app import main as run_command

    return run_command(args)


__all__ = ["main"]
