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

from sources.common.provider import Discovery
from sources.registry import SPECS

from ..warehouse.schema_reference import schema_reference
from .parser import build_parser

HELP_WIDTH = "100"
PAGES = {"cli-reference.md": "cli", "schema-reference.md": "schema", "providers/index.md": "providers"}


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


def provider_table() -> str:
    """Every provider of the registry: how it finds what to load, what to configure, its API, its page."""
    parts = [
        "# Providers",
        "",
        "<!-- Generated from the providers' declarations (`sources/registry.py`) by `make docs-reference`;",
        "tests/test_docs.py fails when this page and the registry differ. -->",
        "",
        "Every provider is declared once, in its package (`sources/<name>/`, its `SPEC`); this table is",
        "made from those declarations.",
        "",
        "| provider | key | finds what to load | configure | forget by user id | API |",
        "|---|---|---|---|---|---|",
    ]
    for spec in SPECS.values():
        configure = "`api_key`"
        if spec.ids_setting:
            listed = spec.discovery in (Discovery.LISTED_BOTS, Discovery.LISTED_CONVERSATIONS)
            configure += f" (`{spec.ids_setting}` to narrow)" if listed else f", `{spec.ids_setting}`"
        page_name = spec.name.replace("_", "-")
        parts.append(
            f"| [{spec.title}]({page_name}.md) | `{spec.name}` | {spec.discovery.value} | {configure} "
            f"| {'yes' if spec.end_user_ids else 'no: by conversation'} | {spec.api} |"
        )
    return "\n".join(parts) + "\n"


def page(name: str) -> str:
    """The generated page ``name`` (a key of ``PAGES``)."""
    kind = PAGES[name]
    if kind == "cli":
        return cli_reference()
    return schema_reference() if kind == "schema" else provider_table()


def main(argv: list[str] | None = None) -> int:
    """Writes every generated page into the docs folder (default ``docs``)."""
    folder = Path((argv if argv is not None else sys.argv[1:])[0] if (argv or sys.argv[1:]) else "docs")
    for name in PAGES:
        (folder / name).write_text(page(name), encoding="utf-8")
        print(f"wrote {folder / name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
