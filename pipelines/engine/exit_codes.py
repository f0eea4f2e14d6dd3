"""The exit status of every chatsync command (documented in the README and each ``--help``)."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """The exit status of every command; documented in the README."""

    OK = 0
    FAILED = 1  # a provider or bot failed (or the views): one ``error:`` line each
    USAGE = 2  # usage or configuration error
    PARTIAL = 3  # everything loaded except some conversations, each named in an ``error:`` line
    INCOMPLETE = 4  # chatsync audit: the warehouse lacks what a provider holds, each named in an ``incomplete:`` line
    LOCKED = 75  # another run holds the pipeline's lock: nothing was done (EX_TEMPFAIL)
    SIGINT = 130
    SIGTERM = 143
