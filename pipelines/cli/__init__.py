"""The ``chatsync`` command line: the parser, one module per command, console output."""

from .main import main

__all__ = ["main"]
