"""The generated reference pages: the CLI from its argparse parsers, the schema from the dlt hints.

``python -m pipelines.cli.reference`` (``make docs-reference``) writes them into ``docs/``;
``tests/test_docs.py`` fails when a page and what it is made from differ.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ..warehouse.schema_reference import schema_reference
from .parser import build_parser

HELP_WIDTH = "100"
PAGES = {"cli-reference.md": "cli", "schema-reference.md": "schema"}


@contextmanager
def _help_width() -> Iterator[None]:
    saved = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = HELP_WIDTH  # argparse wraps at the terminal width: fix it
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop("COLUMNS", None)
        else:
            os.environ["COLUMNS"] = saved


def subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    """The sub-command parsers of ``parser``, by name."""
    for action in parser._actions:  # argparse keeps sub-parsers only there
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def cli_reference() -> str:
    """Every command's ``--help``, as the CLI prints it, one section each."""
    with _help_width():
        parser = build_parser()
        parts = [
            "# CLI reference",
            "",
            "<!-- Generated from the argparse parsers by `make docs-reference`; tests/test_docs.py fails when",
            "this page and `chatsync … --help` differ. -->",
            "",
            "## chatsync",
            "",
            "```text",
            parser.format_help().rstrip(),
            "```",
        ]
        for name, command in subcommands(parser).items():
            parts += ["", f"## chatsync {name}", "", "```text", command.format_help().rstrip(), "```"]
    return "\n".join(parts) + "\n"


def page(name: str) -> str:
    """The generated page ``name`` (a key of ``PAGES``)."""
    return cli_reference() if PAGES[name] == "cli" else schema_reference()


def main(argv: list[str] | None = None) -> int:
    """Writes every generated page into the docs folder (default ``docs``)."""
    folder = Path((argv if argv is not None else sys.argv[1:])[0] if (argv or sys.argv[1:]) else "docs")
    for name in PAGES:
        (folder / name).write_text(page(name), encoding="utf-8")
        print(f"wrote {folder / name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
